"""Export the audit events of a time range as CSV, to standard output or a file."""
from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Any, Iterator, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.export import csv_lines
from audit.management.arguments import iso_moment
from audit.selectors import audit_events_between


class Command(BaseCommand):
    help = "Write the audit events recorded in [--since, --until) as CSV, oldest first."

    def add_arguments(self, parser: CommandParser) -> None:
        moment = "an ISO 8601 date (midnight UTC) or date-time (UTC unless it has an offset)"
        parser.add_argument("--since", required=True, type=iso_moment, help=f"First moment included: {moment}.")
        parser.add_argument("--until", required=True, type=iso_moment, help=f"First moment excluded: {moment}.")
        parser.add_argument("--output", metavar="FILE", help="Write the CSV to FILE instead of standard output.")

    def handle(self, *args: Any, since: datetime, until: datetime, output: str | None, **options: Any) -> None:
        if since >= until:
            raise CommandError(f"--since ({since.isoformat()}) must be before --until ({until.isoformat()}).")
        lines = csv_lines(audit_events_between(since=since, until=until))
        if output is None:
            try:
                exported = _write(lines, self.stdout)
            except BrokenPipeError:  # the reader stopped early (e.g. `| head`): not an error
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the final flush cannot fail
                return
            self.stderr.write(f"Exported {exported} events.", style_func=self.style.SUCCESS)
            return
        try:
            with open(output, "w", encoding="utf-8", newline="") as file:
                exported = _write(lines, file)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror}.") from exc
        self.stdout.write(f"Exported {exported} events to {output}.")


def _write(lines: Iterator[str], out: TextIO) -> int:
    """Write the header line, then every event's line; return the number of events."""
    out.write(next(lines))
    events = 0
    for events, line in enumerate(lines, start=1):
        out.write(line)
    return events
