"""Reads for ops' sync-run pages: run counts in words, and whether the workers are alive.

Workers record a heartbeat in the shared cache after each task (``config.celery``, also shown to
ops by ``/healthz``); where there is none (eager mode, a cache that is not shared, or no task
since the cache was emptied) the workers' liveness is judged from the runs themselves: the newest
time a run finished or started. How long the oldest waiting run has waited tells whether anyone
consumes the queue. Each read is one query on the ``(status, -created_at)`` index; none reads the
whole table.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from spapi_client.models import SyncRun, SyncStatus

# A waiting run older than this, with nothing running, suggests that no worker is consuming the queue.
STALE_QUEUE_AFTER = dt.timedelta(minutes=15)

COUNT_LABELS = {
    "calls": _("SP-API calls"),
    "attempts": _("Attempts"),
    "retries": _("Retries"),
    "throttled": _("Throttled (HTTP 429)"),
    "failures": _("Failed calls"),
    "rate_wait_seconds": _("Waited for the rate limit (s)"),
    "batches": _("Batches"),
    "expired": _("Authorizations expired"),
    "created": _("Created"),
    "updated": _("Updated"),
    "errors": _("Errors"),
    "report_polls": _("Report status polls"),
    "grants_suspended": _("Authorizations suspended"),
    "restrictions_checked": _("Listing restrictions checked"),
    "restrictions_changed": _("Listing restrictions changed"),
    "presences_checked": _("Catalog entries checked"),
    "verified": _("Verified in the catalog"),
    "not_found": _("Not found in the catalog"),
    "mismatched": _("Listed under another brand"),
    "catalog_changed": _("Catalog entries changed"),
    "categories_updated": _("Categories updated"),
    "offers_seen": _("Offers seen"),
    "offers_unauthorized": _("Unauthorized offers"),
    "offers_unanswered": _("Offer requests without an answer"),
    "findings_opened": _("Findings opened"),
    "findings_refreshed": _("Findings refreshed"),
    "sent": _("Notices sent"),
    "already_sent": _("Notices already sent"),
    "failed": _("Notices that failed"),
}
FINISHED = (SyncStatus.SUCCESS, SyncStatus.FAILURE)


@dataclass(frozen=True)
class CountRow:
    key: str
    label: str
    value: Any
    warn: bool = False


def count_rows(counts: dict | None) -> list[CountRow]:
    """A run's ``counts`` as labelled rows: the known ones first, in a fixed order, then the rest."""
    counts = counts or {}
    rows = []
    for key, label in COUNT_LABELS.items():
        if key in counts:
            rows.append(CountRow(key, str(label), counts[key], warn=key == "throttled" and bool(counts[key])))
    for key in sorted(set(counts) - set(COUNT_LABELS)):
        label = _("SP-API calls (%(phase)s)") % {"phase": key[:-6]} if key.endswith("_calls") else key
        rows.append(CountRow(key, str(label), counts[key]))
    return rows


def format_duration(duration: dt.timedelta | None) -> str:
    """``3.2 s``, ``4 min 5 s``, ``2 h 10 min``."""
    if duration is None:
        return ""
    seconds = max(0.0, duration.total_seconds())
    if seconds < 60:
        return _("%(seconds).1f s") % {"seconds": seconds}
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": secs}
    hours, minutes = divmod(minutes, 60)
    return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}


def pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


@dataclass(frozen=True)
class WorkerActivity:
    heartbeat: dt.datetime | None  # when a worker last finished a task (its own record), if known
    last_activity: dt.datetime | None  # newest finish of a run, or start of a running one
    running: int
    pending: int
    oldest_pending: dt.datetime | None

    @property
    def queue_looks_stuck(self) -> bool:
        return bool(self.pending and not self.running and self.oldest_pending
                    and timezone.now() - self.oldest_pending > STALE_QUEUE_AFTER)


def _heartbeat() -> dt.datetime | None:
    from config import celery as celery_config

    read = getattr(celery_config, "worker_last_task_at", None)
    return read() if read is not None else None


def worker_activity() -> WorkerActivity:
    """How busy and how recently active the workers are, in three indexed queries."""
    open_runs = {
        row["status"]: row
        for row in SyncRun.objects.filter(status__in=(SyncStatus.PENDING, SyncStatus.RUNNING))
        .values("status").annotate(n=Count("pk"), oldest=Min("created_at"), started=Max("started_at"))
        .order_by()
    }
    times = []
    for status in FINISHED:  # the newest run of each final status (by the index), and when it finished
        finished = (SyncRun.objects.filter(status=status).order_by("-created_at")
                    .values_list("finished_at", flat=True).first())
        if finished:
            times.append(finished)
    running = open_runs.get(SyncStatus.RUNNING, {})
    if running.get("started"):
        times.append(running["started"])
    pending = open_runs.get(SyncStatus.PENDING, {})
    return WorkerActivity(
        heartbeat=_heartbeat(),
        last_activity=max(times) if times else None,
        running=running.get("n", 0),
        pending=pending.get("n", 0),
        oldest_pending=pending.get("oldest"),
    )
