"""Keyset ("seek") paging, newest first, for tables too large for OFFSET and COUNT(*).

A page is named by the row it follows: ``?before=<id>`` shows the rows older than that row,
``?after=<id>`` the rows newer than it. Rows are ordered by ``(time, id)`` descending — the order
of the tables' ``(…, -time, -id)`` indexes — and the anchor's time is read by its primary key, so
each page costs three indexed queries however deep it is: the anchor, the rows, and whether there
is anything on the other side.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet

T = TypeVar("T", bound=Model)


@dataclass(frozen=True)
class Anchor:
    """The position a page starts from: a row's time and id."""

    time: Any
    pk: Any


@dataclass
class KeysetPage(Generic[T]):
    rows: list[T] = field(default_factory=list)
    newer: Any = None  # ?after= value of the previous (newer) page, when there is one
    older: Any = None  # ?before= value of the next (older) page, when there is one

    @property
    def has_other_pages(self) -> bool:
        return self.newer is not None or self.older is not None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)


def anchor_of(queryset: QuerySet, pk: Any, time_field: str) -> Anchor | None:
    """The anchor of the row ``pk`` (looked up in the unfiltered table), or None if there is none."""
    values = queryset.model._default_manager.filter(pk=pk).values_list(time_field, "pk").first()
    return Anchor(*values) if values else None


def _older(time_field: str, anchor: Anchor) -> Q:
    # The redundant ``time <= t`` is what an index range scan can use; the OR settles ties on id.
    return Q(**{f"{time_field}__lte": anchor.time}) & (
        Q(**{f"{time_field}__lt": anchor.time}) | Q(**{time_field: anchor.time, "pk__lt": anchor.pk})
    )


def _newer(time_field: str, anchor: Anchor) -> Q:
    return Q(**{f"{time_field}__gte": anchor.time}) & (
        Q(**{f"{time_field}__gt": anchor.time}) | Q(**{time_field: anchor.time, "pk__gt": anchor.pk})
    )


def keyset_page(queryset: QuerySet[T], *, time_field: str, before: Anchor | None = None,
                after: Anchor | None = None, per_page: int = 50) -> KeysetPage[T]:
    """The page of ``queryset`` (already filtered) that ``before`` or ``after`` names; the newest without either.

    ``after`` a row with fewer than ``per_page`` newer rows left shows the newest page: paging
    back always ends on the same first page that the list opens with.
    """
    newest_first = (f"-{time_field}", "-pk")
    oldest_first = (time_field, "pk")

    def anchor_of_row(row: T) -> Anchor:
        return Anchor(getattr(row, time_field), row.pk)

    if after is not None:
        rows = list(queryset.filter(_newer(time_field, after)).order_by(*oldest_first)[: per_page + 1])
        if len(rows) > per_page:
            rows = rows[:per_page][::-1]
            older_exists = queryset.filter(_older(time_field, anchor_of_row(rows[-1]))).exists()
            return KeysetPage(rows=rows, newer=rows[0].pk, older=rows[-1].pk if older_exists else None)
        before = None  # at the top: the newest page

    condition = _older(time_field, before) if before is not None else Q()
    rows = list(queryset.filter(condition).order_by(*newest_first)[: per_page + 1])
    has_older = len(rows) > per_page
    rows = rows[:per_page]
    newer = None
    if before is not None:
        edge = anchor_of_row(rows[0]) if rows else before
        if queryset.filter(_newer(time_field, edge)).exists():
            newer = rows[0].pk if rows else before.pk
    return KeysetPage(rows=rows, newer=newer, older=rows[-1].pk if has_older else None)
