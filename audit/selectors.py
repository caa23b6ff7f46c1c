"""Reading the audit log: verification of every chain."""
from __future__ import annotations

from .chain import HASH_FIELDS, VerifyResult, verify_stream
from .models import AuditEvent, AuditStream


def audit_verify(*, chunk_size: int = 5000) -> VerifyResult:
    """Recompute every stream's chain; report the first event that was edited, removed or moved."""
    result = VerifyResult()
    columns = ("id", *HASH_FIELDS, "prev_hash", "hash")
    for head in AuditStream.objects.order_by("name").iterator():
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
    orphans = AuditEvent.objects.exclude(stream__in=AuditStream.objects.values("name")).order_by("id").first()
    if orphans is not None:
        result.fail(orphans.id, f"event {orphans.id} belongs to no known stream")
    return result
