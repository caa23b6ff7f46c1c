"""Writing audit events: always inside the caller's transaction, chained per stream.

Services build events with :func:`event` and write them with :func:`record_many` once, at the
end of their transaction (stream heads are the last locks a transaction takes, in name order).
"""
from __future__ import annotations

import ipaddress
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any, Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from config.db import locking_atomic
from config.errors import Conflict, InvalidInput

from .chain import event_hash
from .context import Actor
from .models import AuditEvent, AuditPrunePermit, AuditStream
from .selectors import audit_verify

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
    if at is not None and timezone.is_naive(at):
        raise ValueError("audit times must be timezone-aware")
    by_stream: dict[str, list[EventSpec]] = defaultdict(list)
    for spec in specs:
        by_stream[stream_for(spec)].append(spec)
    heads = _lock_heads(by_stream)
    # A time of our own is taken under the heads' locks: a stream's times then follow its seqs.
    at = at or timezone.now()
    ip = _normal_ip(actor.ip)
    txid = current_txid()
    rows: list[AuditEvent] = []
    for name, head in heads.items():
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
            rows.append(AuditEvent(**values, prev_hash=prev, hash=digest, txid=txid))
            prev = digest
        AuditStream.objects.filter(name=name).update(last_seq=seq, last_hash=prev)
    AuditEvent.objects.bulk_create(rows, batch_size=2000)
    return rows


def current_txid() -> int | None:
    """The current transaction's id on PostgreSQL (None elsewhere: SQLite has one writer at a time)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT txid_current()")
        return cursor.fetchone()[0]


def _lock_heads(names: Iterable[str]) -> dict[str, AuditStream]:
    """Create missing stream heads and lock them all, in name order (the global lock order)."""
    names = sorted(set(names))
    AuditStream.objects.bulk_create([AuditStream(name=n) for n in names], ignore_conflicts=True)
    return {h.name: h for h in AuditStream.objects.select_for_update().filter(name__in=names).order_by("name")}


@transaction.atomic
def record_now(actor: Actor, spec: EventSpec) -> AuditEvent:
    """For a change with no transaction of its own (e.g. a login): one event, committed now."""
    return record(actor, spec)


@dataclass(frozen=True)
class PrunedStream:
    name: str
    through_seq: int
    through_hash: str
    events: int


@dataclass(frozen=True)
class PruneResult:
    before: date
    streams: list[PrunedStream]
    dry_run: bool

    @property
    def deleted(self) -> int:
        return sum(s.events for s in self.streams)


def audit_prune(*, before: date, dry_run: bool = False) -> PruneResult:
    """Delete the events recorded before ``before`` (midnight UTC), once past the retention period.

    Only a prefix of each stream goes: its oldest events up to the first one recorded at or after
    the cut-off, so a stream whose times are out of seq order keeps its older events a bit longer.
    The stream head keeps the last pruned event's seq and hash, where verification now starts.
    """
    cutoff = datetime.combine(before, time.min, tzinfo=dt_timezone.utc)
    _check_retention(before, cutoff)
    verified = audit_verify()
    if not verified.ok:
        raise Conflict(
            f"The audit log does not verify (first bad event: {verified.first_bad_event}); "
            "investigate it before pruning, which would erase the evidence.",
            code="AUDIT_NOT_VERIFIED",
        )
    if dry_run:
        return PruneResult(before=before, streams=_prune_plan(cutoff), dry_run=True)
    with locking_atomic():
        return _prune(before, cutoff)


def _check_retention(before: date, cutoff: datetime) -> None:
    days = settings.AUDIT_RETENTION_DAYS
    oldest_allowed = timezone.now() - timedelta(days=days)
    if cutoff > oldest_allowed:
        raise InvalidInput(
            f"Audit events are kept at least {days} days: the cut-off must be {oldest_allowed:%Y-%m-%d} "
            f"or earlier, not {before.isoformat()}.",
            code="AUDIT_RETENTION",
            field="before",
        )


def _prune(before: date, cutoff: datetime) -> PruneResult:
    plan = _prune_plan(cutoff)
    if plan:
        _lock_heads([s.name for s in plan] + [stream_for(_pruned_event(before, deleted=0))])
        plan = _prune_plan(cutoff)  # again, now that no writer can move these streams
    if not plan:
        return PruneResult(before=before, streams=[], dry_run=False)
    permit = AuditPrunePermit.objects.create(until=cutoff)
    streams = [_prune_stream(s) for s in plan]
    permit.delete()
    result = PruneResult(before=before, streams=streams, dry_run=False)
    record(Actor.command("audit_prune"), _pruned_event(before, deleted=result.deleted))
    return result


def _pruned_event(before: date, *, deleted: int) -> EventSpec:
    return event(
        "audit.pruned", object_type="audit", object_id="prune", after={"before": before.isoformat(), "deleted": deleted}
    )


def _prune_plan(cutoff: datetime) -> list[PrunedStream]:
    old = Q(at__lt=cutoff)
    per_stream = (
        AuditEvent.objects.values_list("stream")
        .annotate(
            old_events=Count("id", filter=old),
            last_old_seq=Max("seq", filter=old),
            first_young_seq=Min("seq", filter=~old),
            first_seq=Min("seq"),
        )
        .filter(old_events__gt=0)
        .order_by("stream")
    )
    plan = []
    for name, old_events, last_old_seq, first_young_seq, first_seq in per_stream:
        if first_young_seq is None or last_old_seq < first_young_seq:
            through_seq, events = last_old_seq, old_events
        elif first_young_seq > first_seq:
            through_seq = first_young_seq - 1
            events = AuditEvent.objects.filter(stream=name, seq__lte=through_seq).count()
        else:
            continue
        through_hash = AuditEvent.objects.filter(stream=name, seq=through_seq).values_list("hash", flat=True).get()
        plan.append(PrunedStream(name=name, through_seq=through_seq, through_hash=through_hash, events=events))
    return plan


def _prune_stream(stream: PrunedStream) -> PrunedStream:
    """Delete a stream's prefix (the trigger lets it through while the prune's permit exists)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {AuditEvent._meta.db_table} WHERE stream = %s AND seq <= %s",
            [stream.name, stream.through_seq],
        )
        deleted = cursor.rowcount
    AuditStream.objects.filter(name=stream.name).update(
        pruned_through_seq=stream.through_seq, pruned_through_hash=stream.through_hash
    )
    return replace(stream, events=deleted)
