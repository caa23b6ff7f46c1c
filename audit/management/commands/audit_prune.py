"""Delete audit events older than the retention period, keeping every chain verifiable."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.management.arguments import iso_day
from audit.services import PruneResult, audit_prune
from config.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Delete the audit events recorded before a day (midnight UTC), which must be at least "
        "AUDIT_RETENTION_DAYS ago. The log must verify first; the prune itself is audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--before", required=True, type=iso_day, metavar="YYYY-MM-DD",
            help=f"Delete events recorded before this day; at least {settings.AUDIT_RETENTION_DAYS} days ago.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only report what would be deleted.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = audit_prune(before=options["before"], dry_run=options["dry_run"])
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        self._report(result, verbosity=options["verbosity"])

    def _report(self, result: PruneResult, *, verbosity: int) -> None:
        day = result.before.isoformat()
        if not result.streams:
            self.stdout.write(f"Nothing to prune: no event recorded before {day}.")
            return
        if verbosity >= 2:
            for stream in result.streams:
                self.stdout.write(f"{stream.name}: {stream.events} events, through seq {stream.through_seq}")
        summary = f"{result.deleted} events recorded before {day} from {len(result.streams)} streams"
        if result.dry_run:
            self.stdout.write(f"Dry run: would delete {summary}.")
        else:
            self.stdout.write(f"Deleted {summary}; recorded audit.pruned.")
