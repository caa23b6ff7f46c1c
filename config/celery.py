"""The Celery application: ``celery -A config worker``.

Besides the app, three things every worker and beat process needs:

- **Logging**: Celery does not install its own handlers; the processes log through Django's
  ``LOGGING`` (JSON lines in production, see :mod:`config.logging`).
- **Request ids across the broker**: a task queued while a request (or a management command) is
  being served carries that id in a message header; the worker binds it while the task runs, so
  the task's log lines and the audit events of its :meth:`audit.context.Actor.task` carry the id
  of the request that caused them. A task queued by beat binds its own task id instead.
- **A heartbeat for ops**: after each task a worker runs, it stores the time in the shared cache
  (Redis); ``/healthz`` shows it to ops staff (:func:`worker_last_task_at`).
"""
from __future__ import annotations

import contextvars
import datetime as dt
import os

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from audit.context import bind_request, current_request_id, unbind_request

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "request_id"
WORKER_HEARTBEAT_KEY = "ops:worker:last_task_at"

# task id → the context token of the request id bound for it (reset when the task ends).
_bound_request_ids: dict[str, contextvars.Token] = {}


@setup_logging.connect(dispatch_uid="config.celery.use_django_logging")
def use_django_logging(**_kwargs) -> None:
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@before_task_publish.connect(dispatch_uid="config.celery.send_request_id")
def send_request_id(headers: dict | None = None, **_kwargs) -> None:
    request_id = current_request_id()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@task_prerun.connect(dispatch_uid="config.celery.bind_request_id")
def bind_request_id(task_id: str = "", task=None, **_kwargs) -> None:
    request_id = task.request.get(REQUEST_ID_HEADER) if task is not None else None
    if not request_id:
        if current_request_id():  # run eagerly inside a request or command: its id is bound already
            return
        request_id = task_id
    _bound_request_ids[task_id] = bind_request(request_id, None)


@task_postrun.connect(dispatch_uid="config.celery.unbind_request_id")
def unbind_request_id(task_id: str = "", task=None, **_kwargs) -> None:
    token = _bound_request_ids.pop(task_id, None)
    if token is not None:
        unbind_request(token)
    if task is not None and not task.request.is_eager:
        worker_heartbeat_record()


def worker_heartbeat_record(at: dt.datetime | None = None) -> None:
    """Remember when a worker last finished a task (in the cache every process shares)."""
    from django.core.cache import cache
    from django.utils import timezone

    cache.set(WORKER_HEARTBEAT_KEY, (at or timezone.now()).isoformat(), timeout=None)


def worker_last_task_at() -> dt.datetime | None:
    """When a worker last finished a task; ``None`` if none has since the cache was emptied (or
    tasks run eagerly, or the cache is not shared: ``REDIS_URL`` unset)."""
    from django.core.cache import cache

    value = cache.get(WORKER_HEARTBEAT_KEY)
    return dt.datetime.fromisoformat(value) if value else None
