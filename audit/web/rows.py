"""Audit events made ready for a table: brand names, words for codes, and the before/after diff."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from brands.models import Brand

from .labels import SOURCE_LABELS, action_label, object_type_label

_MISSING = object()


@dataclass(frozen=True)
class DiffRow:
    key: str
    before: str | None  # None: the key is absent on that side
    after: str | None
    changed: bool


def _text(value: Any) -> str | None:
    if value is _MISSING:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def diff_rows(before: Any, after: Any) -> list[DiffRow]:
    """One row per top-level key of ``before``/``after`` (objects), or one row for other values."""
    if before is None and after is None:
        return []
    if isinstance(before, (dict, type(None))) and isinstance(after, (dict, type(None))):
        old, new = before or {}, after or {}
        keys = sorted(set(old) | set(new))
        rows = []
        for key in keys:
            b, a = old.get(key, _MISSING), new.get(key, _MISSING)
            # A creation (no "before" at all) or a removal shows values, not changes.
            changed = before is not None and after is not None and b != a
            rows.append(DiffRow(key=key, before=_text(b), after=_text(a), changed=changed))
        return rows
    return [DiffRow(key="", before=_text(before if before is not None else _MISSING),
                    after=_text(after if after is not None else _MISSING), changed=before != after)]


def present_events(events: Iterable) -> list:
    """The events with ``brand_name``, ``action_label``, ``object_label``, ``source_label``, ``diff``
    and ``changed_count`` set: one query for the brands' names, none per event."""
    events = list(events)
    brand_ids = {e.brand_id for e in events if e.brand_id is not None}
    names = dict(Brand.objects.filter(pk__in=brand_ids).values_list("pk", "name")) if brand_ids else {}
    for e in events:
        e.brand_name = names.get(e.brand_id) if e.brand_id is not None else None
        e.action_label = action_label(e.action)
        e.object_label = object_type_label(e.object_type)
        e.source_label = str(SOURCE_LABELS.get(e.source, e.source))
        e.diff = diff_rows(e.before, e.after)
        e.changed_count = sum(1 for row in e.diff if row.changed)
    return events
