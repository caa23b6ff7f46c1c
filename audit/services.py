"""Writing audit events: always inside the caller's transaction, chained per stream.

Services build events with :func:`event` and write them with :func:`record_many` once, at the
end of their transaction (stream heads are the last locks a transaction takes, in name order).
"""
from __future__ import annotations

import ipaddress
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable

from django.db import connection, transaction
from django.utils import timezone

from .chain import event_hash
from .context import Actor
from .models import AuditEvent, AuditStream

SECRET_MARKERS = ("token", "secret", "password", "credential", "authorization")
MASK = "***"


@dataclass(frozen=True)
class EventSpec:
    action: str
    object_type: str
    object_id: str
    brand_id: int | None = None
    seller_id: str = ""
    before: Any = None
    after: Any = None
    reason: str = ""


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            str(k): (MASK if any(m in str(k).lower() for m in SECRET_MARKERS) else _jsonable(v)) for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def mask_secrets(value: Any) -> Any:
    """A JSON-safe copy of ``value`` with every secret-looking key's value replaced by ``***``."""
    return json.loads(json.dumps(_jsonable(value)))


def event(
    action: str,
    *,
    object_type: str,
    object_id: Any,
    brand_id: int | None = None,
    seller_id: str = "",
    before: Any = None,
    after: Any = None,
    reason: str = "",
) -> EventSpec:
    return EventSpec(
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        brand_id=brand_id,
        seller_id=seller_id or "",
        before=mask_secrets(before) if before is not None else None,
        after=mask_secrets(after) if after is not None else None,
        reason=reason or "",
    )


def stream_for(spec: EventSpec) -> str:
    if spec.brand_id is not None:
        return f"brand:{spec.brand_id}"
    if spec.seller_id:
        return f"seller:{spec.seller_id}"
    return "global"


def _normal_ip(ip: str | None) -> str:
    if not ip:
        return ""
    try:
        return ipaddress.ip_address(ip).compressed
    except ValueError:
        return ""


def record(actor: Actor, spec: EventSpec, *, at: datetime | None = None) -> AuditEvent:
    return record_many(actor, [spec], at=at)[0]


def record_many(actor: Actor, specs: Iterable[EventSpec], *, at: datetime | None = None) -> list[AuditEvent]:
    """Append events to their streams' chains. Must run inside the transaction of the change."""
    specs = list(specs)
    if not specs:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("audit events must be written in the same transaction as the change they record")
    at = at or timezone.now()
    by_stream: dict[str, list[EventSpec]] = defaultdict(list)
    for spec in specs:
        by_stream[stream_for(spec)].append(spec)
    names = sorted(by_stream)
    AuditStream.objects.bulk_create([AuditStream(name=n) for n in names], ignore_conflicts=True)
    heads = {h.name: h for h in AuditStream.objects.select_for_update().filter(name__in=names).order_by("name")}
    ip = _normal_ip(actor.ip)
    rows: list[AuditEvent] = []
    for name in names:
        head = heads[name]
        seq, prev = head.last_seq, head.last_hash
        for spec in by_stream[name]:
            seq += 1
            values = {
                "stream": name, "seq": seq, "at": at, "actor_user_id": actor.user_id, "actor": actor.name[:150],
                "source": actor.source, "request_id": actor.request_id[:64], "ip": ip,
                "object_type": spec.object_type, "object_id": spec.object_id, "brand_id": spec.brand_id,
                "seller_id": spec.seller_id, "action": spec.action, "before": spec.before, "after": spec.after,
                "reason": spec.reason,
            }
            digest = event_hash(prev, values)
            rows.append(AuditEvent(**values, prev_hash=prev, hash=digest))
            prev = digest
        head.last_seq, head.last_hash = seq, prev
    AuditEvent.objects.bulk_create(rows, batch_size=2000)
    AuditStream.objects.bulk_update(list(heads.values()), ["last_seq", "last_hash"])
    return rows


@transaction.atomic
def record_now(actor: Actor, spec: EventSpec) -> AuditEvent:
    """For a change with no transaction of its own (e.g. a login): one event, committed now."""
    return record(actor, spec)
