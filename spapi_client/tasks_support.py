"""What the sync tasks share: which failures deserve a Celery retry, the back-off between
retries, counts that add up over a run's attempts, and error text that ops may read.

The SP-API client already retries each *call* a few times within seconds (``SPAPI_MAX_ATTEMPTS``,
``tenacity``). A task retry is the second, slower layer: when a call still fails transiently
(Amazon throttling for minutes, an outage, a report that is not ready), the whole task is
retried later with ``self.retry(countdown=...)``, a bounded number of times
(``SYNC_TASK_MAX_RETRIES``). Business errors and final SP-API errors are never retried.
"""
from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

from config.errors import ApplicationError, LockTimeout

from .errors import SpapiError
from .models import SyncRun, SyncStatus

__all__ = [
    "is_transient",
    "retry_countdown",
    "max_retries",
    "sum_counts",
    "run_retry_later",
    "retry_later",
    "readable_error",
]

DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_BACKOFF = 60.0  # seconds before the first task retry
DEFAULT_RETRY_BACKOFF_MAX = 30 * 60.0  # never wait longer than this between two attempts
MAX_ERROR_TEXT = 1000


def is_transient(exc: BaseException) -> bool:
    """Worth trying again later: SP-API throttling, 5xx, time-outs, network trouble, a report
    still being prepared, or a database lock held by another change."""
    if isinstance(exc, SpapiError):
        return exc.transient
    if isinstance(exc, LockTimeout):
        return True
    return bool(getattr(exc, "transient", False))


def max_retries() -> int:
    return max(0, int(getattr(settings, "SYNC_TASK_MAX_RETRIES", DEFAULT_MAX_RETRIES)))


def retry_countdown(retries: int) -> float:
    """Seconds before task retry number ``retries + 1``: exponential (``base × 2^retries``),
    capped, with "equal jitter" (a uniform draw from the upper half) so that runs that failed
    together (an Amazon outage) do not come back together."""
    base = float(getattr(settings, "SYNC_TASK_RETRY_BACKOFF", DEFAULT_RETRY_BACKOFF))
    cap = float(getattr(settings, "SYNC_TASK_RETRY_BACKOFF_MAX", DEFAULT_RETRY_BACKOFF_MAX))
    ceiling = min(cap, base * (2 ** max(0, retries)))
    return round(random.uniform(ceiling / 2, ceiling), 3)


def sum_counts(*parts: Mapping[str, Any] | None) -> dict[str, Any]:
    """Counts of several attempts added up: numbers are summed, anything else is the last seen."""
    total: dict[str, Any] = {}
    for part in parts:
        for key, value in (part or {}).items():
            previous = total.get(key)
            if _is_number(value) and _is_number(previous):
                value = previous + value
                value = round(value, 3) if isinstance(value, float) else value
            total[key] = value
    return total


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def run_retry_later(run: SyncRun, *, error: str, counts: Mapping[str, Any] | None, countdown: float) -> None:
    """Between two attempts the run is PENDING again, saying why and when it will try again."""
    run.status = SyncStatus.PENDING
    run.error = f"{error} — retrying in {countdown:.0f}s"[:MAX_ERROR_TEXT]
    run.counts = dict(counts or run.counts)
    SyncRun.objects.filter(pk=run.pk).exclude(status__in=(SyncStatus.SUCCESS, SyncStatus.FAILURE)).update(
        status=run.status, error=run.error, counts=run.counts
    )


def retry_later(task, *, countdown: float):
    """``self.retry(countdown=...)`` that also works in eager mode (dev, demo, tests): there,
    ``CELERY_TASK_EAGER_PROPAGATES`` would carry the ``Retry`` exception out to whoever applied
    the task (an HTTP request, a test) instead of running the retry. Returning it unraised lets
    ``Task.apply`` run the retry at once (eager mode has no countdown). A worker raises it as usual.
    Use as ``return retry_later(self, countdown=...)``."""
    if task.request.is_eager:
        return task.retry(countdown=countdown, max_retries=max_retries(), throw=False)
    raise task.retry(countdown=countdown, max_retries=max_retries())


def readable_error(exc: BaseException, *, secrets: Iterable[str] = ()) -> str:
    """One line for ops: our typed errors carry safe messages (no token, no URL); anything else
    is named by its type only. Known secrets are blanked as a last resort."""
    if isinstance(exc, SpapiError):
        text = exc.message
    elif isinstance(exc, ApplicationError):  # codes and words meant for people
        text = str(exc)
    else:
        text = f"internal error ({type(exc).__name__})"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text[:MAX_ERROR_TEXT]
