"""The production shape once: a real ``celery worker`` process, a Redis broker, PostgreSQL.

The other tests run tasks eagerly. This one sends ``sellers.tasks.sync_seller`` through Redis to
a worker started for the test (its own queue), makes the first attempt fail transiently (a 429
burst longer than the client's own retries), and checks that the task retried through the
broker (``self.retry(countdown=...)``) and finished the run — then that a re-delivered message
for the finished run does nothing.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings as django_settings
from django.db import connection

from audit.models import AuditEvent
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from spapi_client.runs import run_create

from .conftest import SCENARIO, connected_seller

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def worker(settings, fake, marketplaces):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (the broker)")
    queue = f"test-sync-{uuid.uuid4().hex[:8]}"
    lwa = SCENARIO["lwa"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.REDIS_URL,
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": "test-worker-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "FIELD_ENCRYPTION_KEY": ",".join(django_settings.FIELD_ENCRYPTION_KEYS),
        "SPAPI_ENDPOINT": fake.url, "SPAPI_LWA_TOKEN_URL": fake.lwa_token_url, "SPAPI_CONSENT_URL": fake.consent_url,
        "SPAPI_LWA_CLIENT_ID": lwa["client_id"], "SPAPI_LWA_CLIENT_SECRET": lwa["client_secret"],
        "SPAPI_APP_ID": lwa["app_id"], "SPAPI_RATE_SPEEDUP": str(settings.SPAPI_RATE_SPEEDUP),
        "SPAPI_RATELIMIT_PREFIX": settings.SPAPI_RATELIMIT_PREFIX, "SPAPI_MAX_ATTEMPTS": "4",
        "SPAPI_BACKOFF_INITIAL": "0.01", "SPAPI_BACKOFF_MAX": "0.05", "SPAPI_REPORT_POLL_SECONDS": "0",
        "SYNC_TASK_MAX_RETRIES": "2", "SYNC_TASK_RETRY_BACKOFF": "0.2", "SYNC_TASK_RETRY_BACKOFF_MAX": "0.5",
        "LOG_LEVEL": "WARNING", "DEBUG": "0",
    }
    env.pop("EMAIL_URL", None)
    process = subprocess.Popen(
        [str(CELERY), "-A", "config", "worker", "-Q", queue, "--concurrency=1", "--without-heartbeat",
         "--without-gossip", "--without-mingle", "-l", "WARNING", "-n", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    sender = Celery("test-sender", broker=settings.REDIS_URL)
    sender.conf.update(task_serializer="json", accept_content=["json"])
    try:
        yield lambda run_id: sender.send_task("sellers.tasks.sync_seller", args=[run_id], queue=queue)
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the worker this fixture started, and its children
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        sender.close()
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        client.close()
        if process.returncode not in (0, -signal.SIGTERM):
            print(output.decode(errors="replace")[-4000:])


def test_a_real_worker_retries_through_the_broker_and_finishes_the_run(worker, fake):
    # given a connected seller, and more 429s than one attempt's four calls can absorb
    seller = connected_seller("A2HEALTHYSELL01", participates_in=["US"])
    run = run_create(kind=SyncKind.SELLER, seller=seller)
    fake.inject_fault("getMarketplaceParticipations", "429", count=5)

    # when the task goes through Redis to the worker
    worker(str(run.pk))

    # then the first attempt gave up, the task was retried later through the broker, and succeeded
    done = _wait_for(lambda: SyncRun.objects.filter(pk=run.pk, status__in=["SUCCESS", "FAILURE"]).first(), 60,
                     "the run to finish")
    assert done.status == SyncStatus.SUCCESS, done.error
    assert done.attempts == 2 and done.counts["throttled"] == 5
    assert done.task_id  # the worker's task id was recorded
    events = AuditEvent.objects.count()
    served = fake.stats()

    # when the same message is delivered again (acks_late after a lost worker)
    worker(str(run.pk))
    time.sleep(1.5)

    # then nothing happened twice
    done.refresh_from_db()
    assert done.status == SyncStatus.SUCCESS and done.attempts == 2
    assert AuditEvent.objects.count() == events
    assert fake.stats() == served
