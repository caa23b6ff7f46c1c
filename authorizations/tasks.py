"""Periodic grant tasks (scheduled with django-celery-beat; see spapi_client/migrations/0002).

- ``authorizations.tasks.expire_grants()`` — every 15 minutes: writes EXPIRED (with its audit
  events) on every live grant past its term. The check already treats such grants as expired;
  this makes the stored status agree. Recorded as a ``grants.expiry`` SyncRun with the count.
- ``authorizations.tasks.send_expiring_notices()`` — daily: one e-mail per recipient listing the
  ACTIVE grants that end within ``EXPIRING_SOON_DAYS`` (brand owners/managers: their brands';
  partners: their sellers'). Recorded as a ``grants.expiring_notice`` SyncRun.

  Not twice the same day: the day's run has a fixed id (uuid5 of the UTC date), so every
  delivery of the task on one day works on the same row. Its ``result.sent_to`` lists the users
  already mailed, written after each message is handed to the mail backend. A finished day
  is not repeated; a day whose run failed half-way (mail server down) is taken up again and
  mails only those not yet mailed. No model change and no cache: the record is durable and
  ops can read it in the admin. (At-least-once: a crash between handing a message to the
  backend and writing ``sent_to`` can repeat that one message.)
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.context import Actor
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from spapi_client.runs import run_create, run_fail, run_finish, run_start
from spapi_client.tasks_support import max_retries, readable_error, retry_countdown, retry_later, run_retry_later

from . import notifications
from .services import grants_expire_due

logger = logging.getLogger(__name__)

EXPIRING_NOTICE_NAMESPACE = uuid.UUID("5b0f3c3e-8f9e-4d52-9b7c-0e4a6f1d2c11")
NOTICE_SOFT_TIME_LIMIT = 10 * 60
NOTICE_TIME_LIMIT = NOTICE_SOFT_TIME_LIMIT + 60


@shared_task(bind=True, name="authorizations.tasks.expire_grants", acks_late=True, soft_time_limit=240, time_limit=300)
def expire_grants(self) -> dict[str, Any]:
    task_id = self.request.id or ""
    run = run_start(str(run_create(kind=SyncKind.GRANTS_EXPIRY).pk), task_id)
    try:
        expired = grants_expire_due(actor=Actor.task(self.name, task_id))
    except Exception as exc:  # the next run (15 minutes later) catches up; ops see this one failed
        run_fail(run, error=readable_error(exc))
        raise
    run_finish(run, result={"expired": expired}, counts={"expired": expired})
    if expired:
        logger.info("expire_grants: %d grant(s) expired", expired)
    return {"job_id": str(run.pk), "expired": expired}


def expiring_notice_run_id(day: dt.date) -> uuid.UUID:
    """The id of the day's expiring-notice run (UTC date)."""
    return uuid.uuid5(EXPIRING_NOTICE_NAMESPACE, f"expiring-notice:{day.isoformat()}")


def _claim_day(day: dt.date, task_id: str) -> SyncRun | None:
    """Today's run, started; None when today's notices went out already or another delivery is
    sending them right now."""
    run_id = expiring_notice_run_id(day)
    now = timezone.now()
    with transaction.atomic():
        run, _created = SyncRun.objects.select_for_update().get_or_create(
            pk=run_id, defaults={"kind": SyncKind.EXPIRING_NOTICE, "result": {"date": day.isoformat(), "sent_to": []}})
        if run.status == SyncStatus.SUCCESS:
            return None
        if run.status == SyncStatus.RUNNING and run.started_at and now - run.started_at < dt.timedelta(
                seconds=NOTICE_TIME_LIMIT):
            return None
        if run.status in (SyncStatus.FAILURE, SyncStatus.RUNNING):  # failed, or its worker died: take it up again
            SyncRun.objects.filter(pk=run_id).update(status=SyncStatus.PENDING, finished_at=None)
    run = run_start(str(run_id), task_id)
    if run is not None:
        SyncRun.objects.filter(pk=run_id).update(started_at=now)
        run.started_at = now
    return run


@shared_task(bind=True, name="authorizations.tasks.send_expiring_notices", acks_late=True,
             soft_time_limit=NOTICE_SOFT_TIME_LIMIT, time_limit=NOTICE_TIME_LIMIT, max_retries=None)
def send_expiring_notices(self) -> dict[str, Any]:
    now = timezone.now()
    day = now.date()
    run = _claim_day(day, self.request.id or "")
    if run is None:
        return {"date": day.isoformat(), "status": "already sent (or being sent) today"}
    days = int(settings.EXPIRING_SOON_DAYS)
    result = dict(run.result or {})
    sent_to = set(result.get("sent_to") or [])
    messages = notifications.expiring_notices_compose(now=now, days=days)
    grants = len(notifications.expiring_grants(now=now, days=days)) if messages else 0
    counts = {"recipients": len(messages), "grants": grants, "sent": 0, "already_sent": 0, "failed": 0}
    errors: list[str] = []
    for done, (user_pk, message) in enumerate(sorted(messages.items()), start=1):
        if user_pk in sent_to:
            counts["already_sent"] += 1
            continue
        try:
            notifications.send_one(message)
        except Exception as exc:  # noqa: BLE001 - one failed recipient must not stop the others
            counts["failed"] += 1
            errors.append(readable_error(exc))
            continue
        counts["sent"] += 1
        sent_to.add(user_pk)
        result = {"date": day.isoformat(), "days": days, "sent_to": sorted(sent_to)}
        SyncRun.objects.filter(pk=run.pk).update(result=result, progress_done=done, progress_total=len(messages))
    run.result = {"date": day.isoformat(), "days": days, "sent_to": sorted(sent_to)}
    run.progress_total = len(messages)
    SyncRun.objects.filter(pk=run.pk).update(result=run.result, progress_total=run.progress_total)
    if counts["failed"]:
        error = f"{counts['failed']} of {len(messages)} message(s) could not be sent: {errors[0]}"
        retries = int(self.request.retries or 0)
        if retries < max_retries():
            countdown = retry_countdown(retries)
            run_retry_later(run, error=error, counts=counts, countdown=countdown)
            return retry_later(self, countdown=countdown)
        run_fail(run, error=error, counts=counts)
        return {"job_id": str(run.pk), "status": run.status, **counts}
    run_finish(run, result=run.result, counts=counts)
    return {"job_id": str(run.pk), "status": run.status, **counts}
