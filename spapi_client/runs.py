"""The life of a :class:`SyncRun`: created before its task is enqueued, started (idempotently)
by the worker, advanced, and finished with counts or an error that ops can read.

Tasks are thin: ``run = run_start(run_id, task_id)``; ``None`` means another delivery already
finished it (``acks_late`` re-deliveries do nothing twice)."""
from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import SyncKind, SyncRun, SyncStatus


def run_create(*, kind: SyncKind | str, seller=None, brand=None, requested_by=None, parent: SyncRun | None = None,
               total: int = 0) -> SyncRun:
    return SyncRun.objects.create(kind=kind, seller=seller, brand=brand, requested_by=requested_by, parent=parent,
                                  progress_total=total)


def enqueue(run: SyncRun, task, *args: Any) -> None:
    """Send ``task(run.id, *args)`` once the current transaction commits (never before)."""
    transaction.on_commit(partial(_send, task, str(run.pk), *args))


def _send(task, run_id: str, *args: Any) -> None:
    result = task.apply_async(args=[run_id, *args])
    SyncRun.objects.filter(pk=run_id, task_id="").update(task_id=str(result.id)[:64])


def run_start(run_id: str, task_id: str = "") -> SyncRun | None:
    """Mark the run RUNNING (counting the attempt); ``None`` if it already finished."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status in (SyncStatus.SUCCESS, SyncStatus.FAILURE):
            return None
        run.status = SyncStatus.RUNNING
        run.attempts += 1
        run.started_at = run.started_at or timezone.now()
        run.task_id = task_id[:64] or run.task_id
        run.save(update_fields=["status", "attempts", "started_at", "task_id"])
    return run


def run_progress(run: SyncRun, *, done: int, total: int | None = None) -> None:
    fields = {"progress_done": done}
    if total is not None:
        fields["progress_total"] = total
    SyncRun.objects.filter(pk=run.pk).update(**fields)
    for name, value in fields.items():
        setattr(run, name, value)


def run_finish(run: SyncRun, *, result: Any = None, counts: dict | None = None) -> SyncRun:
    run.status, run.finished_at = SyncStatus.SUCCESS, timezone.now()
    run.result, run.counts = result, {**run.counts, **(counts or {})}
    run.progress_done = max(run.progress_done, run.progress_total)
    run.error = ""
    run.save(update_fields=["status", "finished_at", "result", "counts", "progress_done", "error"])
    return run


def run_fail(run: SyncRun, *, error: str, counts: dict | None = None) -> SyncRun:
    """Record a final failure. ``error`` is shown to ops: never put a secret in it."""
    run.status, run.finished_at = SyncStatus.FAILURE, timezone.now()
    run.error = error[:4000]
    run.counts = {**run.counts, **(counts or {})}
    run.save(update_fields=["status", "finished_at", "error", "counts"])
    return run


def run_as_dict(run: SyncRun) -> dict[str, Any]:
    """The API's job shape: ``{status, progress: {done, total}, result, error}``."""
    return {
        "job_id": str(run.pk),
        "kind": run.kind,
        "status": run.status,
        "progress": {"done": run.progress_done, "total": run.progress_total},
        "result": run.result,
        "error": run.error or None,
        "counts": run.counts,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


