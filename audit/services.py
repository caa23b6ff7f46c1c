"""Writing audit events: always inside the caller's transaction, chained per stream.

Services build events with :func:`event` and write them with :func:`record_many` once, at the
end of their transaction (stream heads are the last locks a transaction takes, in name order).
"""
from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any, Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from config.db import locking_atomic
from config.errors import Conflict, InvalidInput

from .chain import HASH_FIELDS, canonical_json, chain_hash, event_content
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


@functools.lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(marker in lowered for marker in SECRET_MARKERS)


def _jsonable(value: Any) -> Any:
    if type(value) is str or value is None:  # the usual case first
        return value
    if isinstance(value, dict):
        return {str(k): (MASK if _is_secret_key(str(k)) else _jsonable(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):  # a str subclass (a TextChoices member) as the plain text JSON holds
        return value if type(value) is str else str.__str__(value)
    if isinstance(value, int):
        return value if type(value) is int else int(value)
    return str(value)


def mask_secrets(value: Any) -> Any:
    """A JSON-safe copy of ``value`` with every secret-looking key's value replaced by ``***``.

    :func:`_jsonable` already builds a new value of JSON types only (dicts with string keys,
    lists, strings, integers, booleans, None), so no JSON round trip is needed to copy it."""
    return _jsonable(value)


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


BRAND_STREAM_PREFIX = "brand:"  # a brand's stream is named this + its id


def stream_for(spec: EventSpec) -> str:
    if spec.brand_id is not None:
        return f"{BRAND_STREAM_PREFIX}{spec.brand_id}"
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
    heads, txid = _lock_heads_and_txid(by_stream)
    # A time of our own is taken under the heads' locks: a stream's times then follow its seqs.
    at = at or timezone.now()
    ip = _normal_ip(actor.ip)
    user_id, name_, source, request_id = actor.user_id, actor.name[:150], actor.source, actor.request_id[:64]
    records: list[tuple] = []  # _EVENT_COLUMNS order: HASH_FIELDS, then prev_hash, hash, txid
    moved: dict[str, tuple[int, str]] = {}  # stream -> its new head (seq, hash)
    for name, (seq, prev) in heads.items():
        for spec in by_stream[name]:
            seq += 1
            values = (name, seq, at, user_id, name_, source, request_id, ip, spec.object_type, spec.object_id,
                      spec.brand_id, spec.seller_id, spec.action, spec.before, spec.after, spec.reason)
            digest = chain_hash(prev, event_content(values))
            records.append((*values, prev, digest, txid))
            prev = digest
        moved[name] = (seq, prev)
    return _insert_events(records, moved)


def _lock_heads_and_txid(names: Iterable[str]) -> tuple[dict[str, tuple[int, str]], int | None]:
    """Lock the streams' heads (created if missing), in name order, and read each one's (seq,
    hash) and the transaction's id (on PostgreSQL; None elsewhere: SQLite has one writer at a
    time). On PostgreSQL one round trip: the insert of missing heads and the locking read go as
    one query string, the txid read with the heads."""
    names = sorted(set(names))
    if connection.vendor != "postgresql":
        return {name: (h.last_seq, h.last_hash) for name, h in _lock_heads(names).items()}, None
    table = AuditStream._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, last_seq, last_hash, pruned_through_seq, pruned_through_hash) "
            f"SELECT unnest(%s::text[]), 0, '', 0, '' ON CONFLICT (name) DO NOTHING; "
            f"SELECT name, last_seq, last_hash, txid_current() FROM {table} WHERE name = ANY(%s::text[]) "
            f"ORDER BY name FOR UPDATE",
            [names, names],
        )
        rows = cursor.fetchall()
    return {name: (seq, digest) for name, seq, digest, _txid in rows}, rows[0][3]


_EVENT_COLUMNS = (*HASH_FIELDS, "prev_hash", "hash", "txid")
if [f.attname for f in AuditEvent._meta.concrete_fields] != ["id", *_EVENT_COLUMNS]:
    raise ImproperlyConfigured("audit.services: AuditEvent's columns no longer follow HASH_FIELDS' order")


def _insert_events(records: list[tuple], moved: dict[str, tuple[int, str]]) -> list[AuditEvent]:
    """Write the events and move their streams' heads to ``moved`` (stream -> (seq, hash))."""
    if connection.vendor != "postgresql":
        for name, (seq, digest) in moved.items():
            AuditStream.objects.filter(name=name).update(last_seq=seq, last_hash=digest)
        events = [AuditEvent(**dict(zip(_EVENT_COLUMNS, record))) for record in records]
        AuditEvent.objects.bulk_create(events, batch_size=2000)
        return events
    # PostgreSQL: one statement, INSERT ... SELECT FROM unnest(arrays) with the values the events
    # share (time, actor, request, transaction) passed once, and the heads' UPDATE in the same
    # statement. The ORM's bulk_create spent longer preparing 20 fields per event than
    # PostgreSQL spent storing them; before/after go as the JSON text already built for the hash.
    first = records[0]
    arrays = [[r[i] for r in records] for i in _VARYING]
    for i, column in enumerate(_VARYING):
        if _EVENT_COLUMNS[column] in ("before", "after"):
            arrays[i] = [_json_text(value) for value in arrays[i]]
    heads = [list(moved), [seq for seq, _digest in moved.values()], [digest for _seq, digest in moved.values()]]
    with connection.cursor() as cursor:
        cursor.execute(_insert_events_sql(), heads + [first[i] for i in _SHARED] + arrays)
        ids = {(stream, seq): event_id for event_id, stream, seq in cursor.fetchall()}
    return [AuditEvent.from_db(DEFAULT_DB_ALIAS, _ALL_COLUMNS, (ids[record[0], record[1]], *record))
            for record in records]


# Columns every event of one record_many call shares, and those that vary (by _EVENT_COLUMNS index).
_SHARED = [_EVENT_COLUMNS.index(c) for c in ("at", "actor_user_id", "actor", "source", "request_id", "ip", "txid")]
_VARYING = [i for i in range(len(_EVENT_COLUMNS)) if i not in _SHARED]


@functools.cache
def _insert_events_sql() -> str:
    fields = {f.attname: f for f in AuditEvent._meta.concrete_fields}
    varying = [_EVENT_COLUMNS[i] for i in _VARYING]
    select = []
    for column in _EVENT_COLUMNS:
        if column not in varying:
            select.append("%s")
        elif column in ("before", "after"):
            select.append(f"x.{column}::jsonb")
        else:
            select.append(f"x.{column}")
    types = ["text" if c in ("before", "after") else fields[c].db_type(connection) for c in varying]
    return (f"WITH moved AS (UPDATE {AuditStream._meta.db_table} h SET last_seq = m.seq, last_hash = m.hash "
            f"FROM unnest(%s::text[], %s::bigint[], %s::text[]) AS m(name, seq, hash) WHERE h.name = m.name) "
            f"INSERT INTO {AuditEvent._meta.db_table} ({', '.join(_EVENT_COLUMNS)}) "
            f"SELECT {', '.join(select)} FROM unnest({', '.join(f'%s::{t}[]' for t in types)}) "
            f"AS x({', '.join(varying)}) RETURNING id, stream, seq")


_ALL_COLUMNS = ["id", *_EVENT_COLUMNS]


def _json_text(value: Any) -> str | None:
    """JSON for a jsonb column; None is SQL NULL, as the model's JSONField stores it."""
    return None if value is None else canonical_json(value)


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
