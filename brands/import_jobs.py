"""Large ASIN catalog imports as background jobs, with a progress bar.

An import of more than :data:`ASYNC_IMPORT_LINES` lines runs in a Celery task
(:func:`brands.tasks.import_asins`) instead of the web request:

- :func:`import_job_start` checks that the actor may import (owner or manager: the task checks
  again when it runs), then creates a :class:`~spapi_client.models.SyncRun` of kind
  ``asin_import`` (its id is the API's job id), stores the CSV text in a
  :class:`~spapi_client.models.SyncRunInput` row (the 5 MB text does not belong in a task
  message, and web and worker share only the database), and queues the task once the
  transaction commits.
- :func:`import_job_run` (the task's body) calls :func:`brands.services.asins_import` as the
  user who asked, all-or-nothing as always, and finishes the run with the same result the API
  answers for a small import (``created``, ``updated``, ``unchanged``, ``errors``) — or fails it,
  keeping every line's error in ``result["errors"]`` for the page to list.

Progress: the service reports ``(done, total)`` from *inside* its single transaction, where a
write to the run's row would stay invisible to the page polling it until the very end. The
reporter therefore puts it in the cache (Redis in production, shared by web and workers), and
:func:`import_job_progress` prefers that to the row while the run is under way. Without a
shared cache (a worker process with a local-memory cache) the bar simply goes from 0 to done.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet

from audit.context import Actor
from config.errors import ApplicationError, LockTimeout
from spapi_client.models import SyncKind, SyncRun, SyncRunInput, SyncStatus
from spapi_client.runs import enqueue, run_create, run_fail, run_finish, run_progress

from . import services
from .models import Brand
from .selectors import MANAGING_ROLES, require_brand_role

logger = logging.getLogger(__name__)

ASYNC_IMPORT_LINES = 1000  # more lines than this: a background job
PROGRESS_TTL = 6 * 3600  # seconds the cache keeps a run's progress
MAX_DELIVERIES = 3  # deliveries of one run (acks_late re-deliveries after a lost worker) before giving up


def import_line_count(csv_text: str) -> int:
    """The lines of a CSV import after its header, blank lines left out: what decides whether
    it runs as a job, and the job's first progress total (a quoted cell spanning lines counts
    each of them; the service's count replaces this one as soon as it has read the file)."""
    lines = sum(1 for line in csv_text.splitlines() if line.strip())
    return max(0, lines - 1)


def import_job_start(*, actor: Actor, brand: Brand, csv_text: str, partial: bool = False,
                     source_name: str = "") -> SyncRun:
    """Queue the import of ``csv_text`` into ``brand``'s catalog; returns its run (PENDING).
    Refuses (``NotAllowed``/``NotFound``) an actor who may not import, before storing anything."""
    require_brand_role(actor, brand, MANAGING_ROLES)
    from .tasks import import_asins  # the task module imports this one

    with transaction.atomic():
        run = run_create(kind=SyncKind.ASIN_IMPORT, brand=brand, requested_by=actor.user,
                         total=import_line_count(csv_text))
        SyncRunInput.objects.create(run=run, text=csv_text, params={
            "partial": bool(partial), "source_name": source_name[:200], "request_id": actor.request_id,
            "ip": actor.ip, "source": actor.source,
        })
        enqueue(run, import_asins)
    return run


def import_jobs_of(brand: Brand) -> QuerySet[SyncRun]:
    """The brand's import jobs, newest first (never loading their input)."""
    return (SyncRun.objects.filter(brand=brand, kind=SyncKind.ASIN_IMPORT)
            .select_related("requested_by").order_by("-created_at"))


def _progress_key(run_id: Any) -> str:
    return f"brands:asin-import-progress:{run_id}"


def import_progress_reporter(run: SyncRun):
    """The ``progress(done, total)`` callback a job passes to the service (see the module doc)."""
    key = _progress_key(run.pk)

    def report(done: int, total: int) -> None:
        cache.set(key, (int(done), int(total)), PROGRESS_TTL)

    return report


@dataclass(frozen=True)
class JobProgress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


def import_job_progress(run: SyncRun) -> JobProgress:
    """Lines written so far: the live figure from the cache while the run is under way, else
    the run's own."""
    if run.status in (SyncStatus.PENDING, SyncStatus.RUNNING):
        live = cache.get(_progress_key(run.pk))
        if live:
            return JobProgress(*live)
    return JobProgress(run.progress_done, run.progress_total)


def _result_body(result: services.ImportResult) -> dict[str, Any]:
    return {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
            "errors": [e.as_dict() for e in result.errors]}


def _fail(run: SyncRun, *, error: str, errors: list[dict] | None = None) -> None:
    if errors is not None:
        run.result = {"created": [], "updated": [], "unchanged": [], "errors": errors}
        run.save(update_fields=["result"])
    run_fail(run, error=error, counts={"errors": len(errors or [])})


def import_job_run(run: SyncRun) -> dict[str, Any] | None:
    """Run an ``asin_import`` job that :func:`spapi_client.runs.run_start` has started.
    Idempotent: the import is an upsert, so a re-delivered run writes the same catalog."""
    job_input = SyncRunInput.objects.filter(run=run).first()
    try:
        if run.attempts > MAX_DELIVERIES:
            _fail(run, error=f"Given up after {run.attempts - 1} deliveries of this import.")
            return None
        if job_input is None or run.brand_id is None:
            _fail(run, error="The import's input or its brand is gone: upload the file again.")
            return None
        brand = Brand.objects.get(pk=run.brand_id)
        params = job_input.params or {}
        actor = Actor.for_user(run.requested_by, source="worker", request_id=params.get("request_id") or str(run.pk),
                               ip=params.get("ip"))
        reporter = import_progress_reporter(run)
        try:
            result = services.asins_import(actor=actor, brand=brand, csv_text=job_input.text,
                                           partial=bool(params.get("partial")), progress=reporter)
        except LockTimeout:
            _fail(run, error="Another change to the brand held its lock too long; nothing was imported. "
                             "Import the file again.")
            return None
        except ApplicationError as exc:
            errors = exc.as_dicts()
            _fail(run, error=f"{len(errors)} problem(s) found; nothing was imported.", errors=errors)
            return None
        body = _result_body(result)
        counts = {"created": len(result.created), "updated": len(result.updated),
                  "unchanged": len(result.unchanged), "errors": len(result.errors)}
        lines = len(result.created) + len(result.updated) + len(result.unchanged)
        run_progress(run, done=lines, total=lines)
        run_finish(run, result=body, counts=counts)
        return counts
    except Exception:
        logger.exception("ASIN import %s failed", run.pk)
        _fail(run, error="The import failed unexpectedly; nothing was imported. See the worker log.")
        raise
    finally:
        if run.status in (SyncStatus.SUCCESS, SyncStatus.FAILURE):
            SyncRunInput.objects.filter(run=run).delete()
            cache.delete(_progress_key(run.pk))
