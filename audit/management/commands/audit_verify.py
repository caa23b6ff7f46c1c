"""Recompute every audit hash chain: exit 0 when intact, 1 naming the first bad event otherwise."""
from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit.selectors import audit_verify
from audit.verification import Verification, remember


class Command(BaseCommand):
    help = "Verify the audit log's hash chains: detects edited, removed and reordered events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help='Print {"ok", "checked", "first_bad_event"} as JSON.'
        )

    def handle(self, *args: Any, as_json: bool, **options: Any) -> None:
        started_at = timezone.now()
        result = audit_verify()
        # Ops see the last verification on their audit page, whoever ran it.
        remember(Verification.from_result(result, started_at=started_at, finished_at=timezone.now(),
                                          requested_by="manage.py audit_verify"))
        if as_json:
            report = {"ok": result.ok, "checked": result.checked, "first_bad_event": result.first_bad_event}
            self.stdout.write(json.dumps(report))
        elif result.ok:
            self.stdout.write(f"OK: {result.checked} events verified")
        else:
            for problem in result.problems:
                self.stdout.write(problem)
        if not result.ok:
            raise CommandError(
                f"The audit log does not verify: first bad event {result.first_bad_event} "
                f"({len(result.problems)} problem(s), {result.checked} events checked).",
                returncode=1,
            )
