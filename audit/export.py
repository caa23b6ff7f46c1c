"""Audit events as CSV, streamed row by row (constant memory, whatever the number of events).

Values are written as recorded, without spreadsheet-formula escaping: an export is evidence.
"""
from __future__ import annotations

import csv
import json
from typing import Any, Iterator

from django.db.models import QuerySet

from .chain import canonical_time
from .models import AuditEvent

EXPORT_COLUMNS = (
    "id", "at", "actor", "source", "action", "object_type", "object_id", "brand_id", "seller_id",
    "before", "after", "reason", "request_id", "ip", "stream", "seq", "hash",
)
_AT, _BRAND_ID, _BEFORE, _AFTER = (EXPORT_COLUMNS.index(c) for c in ("at", "brand_id", "before", "after"))


class _Line:
    """A file-like object whose ``write`` hands back the text it is given (for csv.writer)."""

    def write(self, text: str) -> str:
        return text


def _json_cell(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _cells(row: tuple) -> list[Any]:
    cells = list(row)
    cells[_AT] = canonical_time(row[_AT])
    cells[_BRAND_ID] = "" if row[_BRAND_ID] is None else row[_BRAND_ID]
    cells[_BEFORE] = _json_cell(row[_BEFORE])
    cells[_AFTER] = _json_cell(row[_AFTER])
    return cells


def csv_lines(events: QuerySet[AuditEvent], *, chunk_size: int = 2000) -> Iterator[str]:
    """The header, then one CSV line per event of ``events``, in the queryset's order."""
    writer = csv.writer(_Line())
    yield writer.writerow(EXPORT_COLUMNS)
    for row in events.values_list(*EXPORT_COLUMNS).iterator(chunk_size=chunk_size):
        yield writer.writerow(_cells(row))
