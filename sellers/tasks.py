"""Seller sync tasks: thin — take a run id, start the run, call the orchestration, decide
between retrying later and recording the failure.

- ``sellers.tasks.sync_seller(run_id)``: one seller's participations, health and Amazon
  listing restrictions (:func:`sellers.sync.seller_sync`). ``acks_late``: a re-delivered message
  finds its run finished and does nothing (``run_start`` → None).
- ``sellers.tasks.sync_all_sellers()``: periodic (django-celery-beat, every 24 h): one run per
  connected seller, each enqueued after its row is committed.
"""
from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from spapi_client.runs import run_fail, run_start
from spapi_client.tasks_support import max_retries, readable_error, retry_countdown, retry_later, run_retry_later

from .models import Seller
from .sync import SellerSyncError, seller_sync, seller_sync_enqueue

logger = logging.getLogger(__name__)

# A seller with a thousand live grants needs ~200 s of listings-restrictions calls at Amazon's
# 5/s, plus the health report (polled for up to SPAPI_REPORT_MAX_WAIT).
SYNC_SOFT_TIME_LIMIT = 15 * 60
SYNC_TIME_LIMIT = SYNC_SOFT_TIME_LIMIT + 60


@shared_task(bind=True, name="sellers.tasks.sync_seller", acks_late=True, max_retries=None,
             soft_time_limit=SYNC_SOFT_TIME_LIMIT, time_limit=SYNC_TIME_LIMIT)
def sync_seller(self, run_id: str) -> dict[str, Any] | None:
    run = run_start(run_id, self.request.id or "")
    if run is None:  # finished by an earlier delivery (or unknown): nothing to do twice
        return None
    retries = int(self.request.retries or 0)
    try:
        run = seller_sync(run)
    except SellerSyncError as exc:
        limit = max_retries()
        if exc.transient and retries < limit:
            countdown = retry_countdown(retries)
            run_retry_later(run, error=exc.message, counts=exc.counts, countdown=countdown)
            logger.warning("seller sync %s: %s; retry %d/%d in %.0fs", run_id, exc.message, retries + 1, limit, countdown)
            return retry_later(self, countdown=countdown)
        suffix = f" (still failing after {retries + 1} attempts)" if exc.transient else ""
        run_fail(run, error=exc.message + suffix, counts=exc.counts)
        logger.warning("seller sync %s failed: %s", run_id, run.error)
    except SoftTimeLimitExceeded:
        run_fail(run, error=f"time limit: the sync did not finish within {SYNC_SOFT_TIME_LIMIT}s")
    except Exception as exc:  # a bug: record it for ops, then let Celery log it
        run_fail(run, error=readable_error(exc))
        raise
    return {"job_id": str(run.pk), "status": run.status}


@shared_task(bind=True, name="sellers.tasks.sync_all_sellers", acks_late=True, soft_time_limit=300, time_limit=360)
def sync_all_sellers(self) -> dict[str, int]:
    """One seller sync run per connected seller, enqueued on commit. Sellers whose previous run
    is still waiting or running are skipped, so a re-delivery queues nothing twice."""
    queued = skipped = 0
    connected = (Seller.objects.filter(connection__isnull=False, connection__revoked_at__isnull=True)
                 .exclude(connection__refresh_token_encrypted="").order_by("pk"))
    for seller_pk in list(connected.values_list("pk", flat=True).distinct()):
        seller = Seller.objects.filter(pk=seller_pk).first()
        if seller is None:
            continue
        _run, created = seller_sync_enqueue(seller=seller)
        queued, skipped = queued + int(created), skipped + int(not created)
    logger.info("sync_all_sellers: %d queued, %d already in flight", queued, skipped)
    return {"queued": queued, "skipped": skipped}


@shared_task(name="sellers.tasks.purge_connect_states", acks_late=True, soft_time_limit=60, time_limit=90)
def purge_connect_states() -> int:
    """Periodic (hourly): delete expired SP-API connect states (:func:`sellers.oauth.connect_states_purge`)."""
    from .oauth import connect_states_purge  # noqa: PLC0415 - the OAuth flow's own service

    return connect_states_purge()
