"""Brand syncs as Celery tasks: thin, by run id (the API's job id), idempotent under ``acks_late``.

- :func:`sync_brand` runs one :class:`~spapi_client.models.SyncRun` of kind ``brand`` (catalog
  verification, then offers monitoring), ``brand.catalog`` or ``brand.offers``
  (:func:`brands.sync.brand_sync`). A re-delivery of a finished run does nothing; a re-delivery of
  an unfinished one runs it again, which writes the same statuses and refreshes the same findings.
  Transient SP-API failures (throttling, 5xx, network, our own rate-limit wait) and lock
  time-outs are retried later with exponential back-off, jitter and a cap — the policy the sync
  tasks share (:mod:`spapi_client.tasks_support`, ``SYNC_TASK_*`` settings); anything else is
  final and recorded on the run (``FAILURE`` with its error), never retried.
- :func:`sync_all_brands` (periodic, celery beat) asks for one ``brand`` run per ACTIVE brand
  with an SP-API account, skipping brands whose previous run is still under way.
- :func:`import_asins` runs one ``asin_import`` run: a large CSV import of the catalog asked for
  on the import page (:mod:`brands.import_jobs`), with its progress.
"""
from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from audit.context import Actor
from config.errors import LockTimeout
from spapi_client.errors import SpapiError
from spapi_client.models import SyncKind
from spapi_client.runs import run_fail, run_finish, run_start
from spapi_client.tasks_support import (
    is_transient, max_retries, readable_error, retry_countdown, retry_later, run_retry_later,
)

from . import import_jobs, sync
from .models import Brand, RegistryStatus

logger = logging.getLogger(__name__)

# getItemOffersBatch allows one call per 10 s: 360 batches of 20 ASINs per hour.
SOFT_TIME_LIMIT = 3600
TIME_LIMIT = SOFT_TIME_LIMIT + 60
# Deliveries of one run beyond its retries (a worker killed by the hard limit, re-delivered by
# acks_late) before it is given up rather than re-run for ever.
EXTRA_DELIVERIES = 3


def _describe(exc: BaseException, phase: str) -> str:
    """What ops and the brand owner read: the phase, and the error's code and message (SP-API
    error messages never carry a token: see ``spapi_client.errors``)."""
    where = {"catalog": "Catalog verification", "offers": "Offers monitoring"}.get(phase, "The brand sync")
    if isinstance(exc, sync.BrandSyncError):
        return exc.message
    if isinstance(exc, SpapiError):
        attempts = f" after {exc.attempts} attempt(s)" if exc.attempts else ""
        return f"{where} failed{attempts}: {exc.code}: {exc.message}"
    if isinstance(exc, LockTimeout):
        return f"{where} failed: another change to the brand held its lock too long."
    return f"{where} failed: {readable_error(exc)}"


@shared_task(bind=True, name="brands.sync_brand", acks_late=True, max_retries=None,
             soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT)
def sync_brand(self, run_id: str) -> dict | None:
    task_id = self.request.id or ""
    run = run_start(run_id, task_id)
    if run is None:  # finished by an earlier delivery
        return None
    if run.attempts > max_retries() + 1 + EXTRA_DELIVERIES:
        run_fail(run, error=f"Given up after {run.attempts - 1} deliveries of this run.")
        return None
    retries = int(self.request.retries or 0)
    tracker = sync.SyncTracker(run)
    try:
        counts = sync.brand_sync(run, actor=Actor.task(sync.TASK_NAME, task_id), tracker=tracker)
    except SoftTimeLimitExceeded:
        run_fail(run, error=f"The brand sync took longer than {SOFT_TIME_LIMIT} s and was stopped after "
                            f"{tracker.done} of {tracker.total} batches.", counts=tracker.as_counts())
        return None
    except (SpapiError, LockTimeout, sync.BrandSyncError) as exc:
        error = _describe(exc, tracker.phase)
        transient = is_transient(exc) and not isinstance(exc, sync.BrandSyncError)
        if transient and retries < max_retries():
            countdown = retry_countdown(retries)
            logger.warning("brand sync %s: %s; retry %d/%d in %.0f s", run_id, error, retries + 1, max_retries(),
                           countdown)
            run_retry_later(run, error=error, counts=tracker.as_counts(), countdown=countdown)
            return retry_later(self, countdown=countdown)
        suffix = f" (still failing after {retries + 1} deliveries)" if transient else ""
        run_fail(run, error=error + suffix, counts=tracker.as_counts())
        return None
    except Exception as exc:  # a bug: record it for ops, then let Celery log it
        logger.exception("brand sync %s failed", run_id)
        run_fail(run, error=_describe(exc, tracker.phase) + "; see the worker log.", counts=tracker.as_counts())
        raise
    run_finish(run, result=counts, counts=counts)
    return counts


@shared_task(name="brands.sync_all_brands", acks_late=True, soft_time_limit=120, time_limit=180)
def sync_all_brands() -> int:
    """One ``brand`` run per ACTIVE brand with an SP-API account; returns how many were queued."""
    queued = 0
    for brand in Brand.objects.filter(registry_status=RegistryStatus.ACTIVE, spapi_account__isnull=False).order_by("pk"):
        _run, created = sync.brand_sync_request(brand=brand, kind=SyncKind.BRAND)
        queued += int(created)
    return queued


@shared_task(bind=True, name="brands.import_asins", acks_late=True, soft_time_limit=SOFT_TIME_LIMIT,
             time_limit=TIME_LIMIT)
def import_asins(self, run_id: str) -> dict | None:
    """Import a large CSV into a brand's catalog (all-or-nothing; see :mod:`brands.import_jobs`)."""
    run = run_start(run_id, self.request.id or "")
    if run is None:  # finished by an earlier delivery
        return None
    return import_jobs.import_job_run(run)
