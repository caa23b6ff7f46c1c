"""Reading the audit log: verification of every chain."""
from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, QuerySet

from .chain import HASH_FIELDS, Problem, VerifyResult, postgres_hash_sql, verify_stream
from .models import AuditEvent, AuditStream


def audit_verify(*, chunk_size: int = 20_000) -> VerifyResult:
    """Recompute every stream's chain; report the first event that was edited, removed or moved.

    ``first_bad_event`` is the lowest id among each broken stream's first bad event; when only
    the end of a stream is missing, it is the last event that remains there.
    """
    if connection.vendor == "postgresql":
        return _verify_in_postgres()
    return _verify_in_python(chunk_size=chunk_size)


def _verify_in_postgres() -> VerifyResult:
    """One statement (so one snapshot): every row's checks run in SQL, one result row per stream."""
    result = VerifyResult()
    with connection.cursor() as cursor:
        cursor.execute(_POSTGRES_VERIFY_SQL)
        for stream, has_head, head_seq, checked, first_bad, last, last_hash_matches in cursor.fetchall():
            result.checked += checked
            if first_bad is not None:
                seq, event_id, problem, expected_seq = first_bad
                result.bad_event(stream, event_id, Problem(problem), seq=seq, expected_seq=expected_seq)
            elif has_head:
                last_seq, last_event_id = last
                result.check_tail(
                    stream, last_event_id=last_event_id, last_seq=last_seq,
                    last_hash_matches=last_hash_matches, head_seq=head_seq,
                )
    return result


# One parallel scan recomputes every hash (in the workers: the subquery is sorted by (stream,
# seq) below the Gather Merge, OFFSET 0 keeps it from being flattened into the window, which runs
# in one process); the window over (stream, seq) then checks the links, the sequence and where
# each stream ends. (A first version hashed in a scan of its own and joined the altered ids back:
# two scans and a hash join for the same answer.)
_POSTGRES_VERIFY_SQL = f"""
WITH checked AS (
    SELECT e.stream, e.id, e.seq, lead(e.seq) OVER w IS NULL AND e.hash = s.last_hash AS is_head_hash,
           coalesce(lag(e.seq) OVER w, s.pruned_through_seq) + 1 AS expected_seq,
           CASE WHEN s.name IS NULL THEN {Problem.ORPHAN:d}
                WHEN e.seq <> coalesce(lag(e.seq) OVER w, s.pruned_through_seq) + 1 THEN {Problem.SEQUENCE:d}
                WHEN e.prev_hash <> coalesce(lag(e.hash) OVER w, s.pruned_through_hash) THEN {Problem.LINK:d}
                WHEN e.altered THEN {Problem.HASH:d}
                ELSE {Problem.NONE:d} END AS problem
    FROM (SELECT a.stream, a.id, a.seq, a.hash, a.prev_hash, a.hash <> {postgres_hash_sql("a")} AS altered
          FROM audit_auditevent a ORDER BY a.stream, a.seq OFFSET 0) e
    LEFT JOIN audit_auditstream s ON s.name = e.stream
    WINDOW w AS (PARTITION BY e.stream ORDER BY e.seq)
), streams AS (
    SELECT stream, count(*) AS checked,
           min(ARRAY[seq, id, problem, expected_seq]) FILTER (WHERE problem <> {Problem.NONE:d}) AS first_bad,
           max(ARRAY[seq, id]) AS last, bool_or(is_head_hash) AS last_hash_matches
    FROM checked GROUP BY stream
)
SELECT coalesce(h.name, c.stream), h.name IS NOT NULL, h.last_seq, coalesce(c.checked, 0), c.first_bad,
       coalesce(c.last, ARRAY[h.pruned_through_seq, NULL]),
       coalesce(c.last_hash_matches, h.pruned_through_hash = h.last_hash)
FROM audit_auditstream h FULL JOIN streams c ON c.stream = h.name
ORDER BY 1
"""


def _verify_in_python(*, chunk_size: int) -> VerifyResult:
    """Walk each stream in Python; inside one transaction so that every query reads one snapshot."""
    result = VerifyResult()
    columns = ("id", "prev_hash", "hash", *HASH_FIELDS)
    with transaction.atomic():
        for head in AuditStream.objects.order_by("name"):
            rows = (
                AuditEvent.objects.filter(stream=head.name)
                .order_by("seq")
                .values_list(*columns)
                .iterator(chunk_size=chunk_size)
            )
            verify_stream(
                head.name,
                rows,
                head_seq=head.last_seq,
                head_hash=head.last_hash,
                start_seq=head.pruned_through_seq,
                start_hash=head.pruned_through_hash,
                result=result,
            )
        orphan_streams = (
            AuditEvent.objects.exclude(stream__in=AuditStream.objects.values("name"))
            .values_list("stream")
            .annotate(events=Count("id"))
            .order_by("stream")
        )
        for stream, events in orphan_streams:
            result.checked += events
            first_id, first_seq = AuditEvent.objects.filter(stream=stream).order_by("seq").values_list("id", "seq")[0]
            result.bad_event(stream, first_id, Problem.ORPHAN, seq=first_seq, expected_seq=first_seq)
    return result


def audit_events_between(*, since: datetime, until: datetime) -> QuerySet[AuditEvent]:
    """Events recorded in ``[since, until)``, oldest first."""
    return AuditEvent.objects.filter(at__gte=since, at__lt=until).order_by("at", "id")
