"""The production shape end to end: gunicorn and a Celery worker as separate processes under the
production settings, Redis as the broker, PostgreSQL, the fake SP-API.

A partner asks for a seller sync over HTTP, naming the request. The web process sends the task
through Redis with the request id in a message header; the worker binds it: the task's audit
events and its log lines (JSON) carry the id of the request that caused them. Afterwards ops
staff see on /healthz that a worker has just finished a task.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from django.conf import settings as django_settings
from rest_framework.authtoken.models import Token

from audit.models import AuditEvent
from config.celery import WORKER_HEARTBEAT_KEY
from spapi_client.models import SyncRun, SyncStatus
from tests.helpers import redis_client
from tests.sync.conftest import HEALTHY, SCENARIO, fake, spapi_settings, world  # noqa: F401
from tests.sync.test_real_worker import _database_url, _wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)  # the process this module started, and its children
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(errors="replace").splitlines() if line.startswith("{")]


@pytest.fixture
def stack(settings, fake, tmp_path, transactional_db):
    """gunicorn (1 worker) and a Celery worker on a queue of their own, logging JSON to files."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (the broker)")
    queue = f"test-ops-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    lwa = SCENARIO["lwa"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SPAPI_", "DJANGO_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": settings.REDIS_URL, "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "SECRET_KEY": "test-production-shape-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "FIELD_ENCRYPTION_KEY": ",".join(django_settings.FIELD_ENCRYPTION_KEYS),
        "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "0", "LOG_JSON": "1", "LOG_LEVEL": "INFO",
        "SPAPI_ENDPOINT": fake.url, "SPAPI_LWA_TOKEN_URL": fake.lwa_token_url, "SPAPI_CONSENT_URL": fake.consent_url,
        "SPAPI_LWA_CLIENT_ID": lwa["client_id"], "SPAPI_LWA_CLIENT_SECRET": lwa["client_secret"],
        "SPAPI_APP_ID": lwa["app_id"], "SPAPI_RATE_SPEEDUP": str(settings.SPAPI_RATE_SPEEDUP),
        "SPAPI_RATELIMIT_PREFIX": settings.SPAPI_RATELIMIT_PREFIX, "SPAPI_REPORT_POLL_SECONDS": "0",
    }
    env.pop("EMAIL_URL", None)
    logs = SimpleNamespace(web=tmp_path / "web.log", worker=tmp_path / "worker.log")
    with logs.worker.open("w") as worker_log, logs.web.open("w") as web_log:
        worker = subprocess.Popen(
            [str(BIN / "celery"), "-A", "config", "worker", "--concurrency=1", "--without-heartbeat",
             "--without-gossip", "--without-mingle", "-n", f"{queue}@%h"],
            cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT, start_new_session=True)
        web = subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT, env=env, stdout=web_log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def web_answers():
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait_for(web_answers, 60, "gunicorn to answer /healthz")
        _wait_for(lambda: "ready" in logs.worker.read_text(errors="replace"), 60, "the worker to be ready")
        yield SimpleNamespace(url=url, logs=logs)
    finally:
        for process in (web, worker):
            _stop(process)
        client = redis_client(settings.REDIS_URL)
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}",
                      f":1:{WORKER_HEARTBEAT_KEY}")
        client.close()


def test_a_request_id_travels_from_the_web_through_redis_into_the_workers_audit_and_logs(stack, world):
    # given a partner's token
    token = Token.objects.create(user=world.partner_h).key
    request_id = f"req-{uuid.uuid4().hex[:12]}"

    # when the partner asks for a sync over HTTP
    response = httpx.post(f"{stack.url}/api/v1/sellers/{HEALTHY}/sync", timeout=10,
                          headers={"Authorization": f"Token {token}", "X-Request-ID": request_id})

    # then the worker ran it
    assert response.status_code == 202, response.text
    assert response.headers["X-Request-ID"] == request_id
    job_id = response.json()["job_id"]
    run = _wait_for(lambda: SyncRun.objects.filter(pk=job_id, status__in=["SUCCESS", "FAILURE"]).first(), 60,
                    "the sync to finish")
    assert run.status == SyncStatus.SUCCESS, run.error

    # and its audit events carry the request's id
    events = AuditEvent.objects.filter(source="worker", seller_id=HEALTHY)
    assert events.exists()
    assert set(events.values_list("request_id", flat=True)) == {request_id}

    # and so do the web's access line and the worker's lines about the task (JSON lines)
    web_lines = _json_lines(stack.logs.web)
    assert [(line["method"], line["status"]) for line in web_lines
            if line["logger"] == "audit.middleware" and line["request_id"] == request_id] == [("POST", 202)]
    worker_lines = _wait_for(lambda: [line for line in _json_lines(stack.logs.worker)
                                      if line["logger"] == "celery.app.trace" and "succeeded" in line["message"]],
                             10, "the worker's success line")
    assert [line["request_id"] for line in worker_lines] == [request_id]
    assert job_id in worker_lines[0]["message"]
    # and no refresh token reached either log
    secret = SCENARIO["sellers"][HEALTHY]["refresh_token"]
    assert secret not in stack.logs.web.read_text() and secret not in stack.logs.worker.read_text()

    # when ops staff look at /healthz
    ops_token = Token.objects.create(user=world.ops).key
    health = httpx.get(f"{stack.url}/healthz", headers={"Authorization": f"Token {ops_token}"}, timeout=10).json()

    # then they see that a worker has just finished a task; load balancers see API.md's shape
    assert health["db"] == "ok" and health["broker"] == "ok"
    assert health["worker"]["last_task_at"] is not None and 0 <= health["worker"]["seconds_ago"] < 60
    assert set(httpx.get(f"{stack.url}/healthz", timeout=10).json()) == {"db", "broker", "version"}
