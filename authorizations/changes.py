"""The grant change feed: every grant change a caller may see, in a stable order, resumable
from an opaque cursor without skipping or repeating a change — even while writers commit out of
order (like Zanzibar's Watch).

Each audit event carries its writing transaction's id. A reader only passes events of
transactions older than the oldest one still running (the snapshot's ``xmin``): anything that
commits later has a larger transaction id than every event already handed out, so it sorts after
the reader's cursor. On SQLite writers are serialised, so the event id is already commit order.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from audit.models import AuditEvent
from brands.models import Brand
from brands.selectors import is_ops
from config.errors import InvalidInput
from sellers.models import Seller


@dataclass(frozen=True)
class Position:
    txid: int
    event_id: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.txid}.{self.event_id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> "Position":
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            txid, event_id = base64.urlsafe_b64decode(padded.encode()).decode().split(".")
            position = cls(int(txid), int(event_id))
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput(f"“{cursor[:40]}” is not a cursor of this feed.", code="INVALID_CURSOR",
                               field="cursor") from None
        if position.txid < 0 or position.event_id < 0:
            raise InvalidInput("Not a cursor of this feed.", code="INVALID_CURSOR", field="cursor")
        return position


START = Position(0, 0)


def _horizon() -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return cursor.fetchone()[0]


def _visible(user) -> Q | None:
    if is_ops(user):
        return None
    brand_ids = list(Brand.objects.filter(memberships__user=user).values_list("id", flat=True))
    seller_ids = list(Seller.objects.filter(memberships__user=user).values_list("seller_id", flat=True))
    return Q(brand_id__in=brand_ids) | Q(seller_id__in=seller_ids)


def grant_changes(*, user, cursor: str | None, limit: int = 100) -> tuple[list[dict], str]:
    """A page of changes after ``cursor`` and the cursor to resume from."""
    after = Position.decode(cursor) if cursor else START
    events = AuditEvent.objects.filter(object_type="grant")
    visible = _visible(user)
    if visible is not None:
        events = events.filter(visible)
    horizon = _horizon()
    if horizon is None:  # SQLite: one writer at a time, ids are commit order
        events = events.filter(id__gt=after.event_id).order_by("id")
    else:
        events = events.filter(txid__lt=horizon).filter(
            Q(txid__gt=after.txid) | Q(txid=after.txid, id__gt=after.event_id)).order_by("txid", "id")
    changes = []
    last = after
    for event in events.only("id", "txid", "at", "object_id", "seller_id", "action", "after")[:limit]:
        last = Position(event.txid or 0, event.id)
        after_state = event.after or {}
        changes.append({
            "cursor": last.encode(), "at": event.at, "grant_id": int(event.object_id),
            "seller_id": event.seller_id, "asin": after_state.get("asin"),
            "marketplace": after_state.get("marketplace"), "status": after_state.get("status"),
            "action": event.action,
        })
    return changes, last.encode()
