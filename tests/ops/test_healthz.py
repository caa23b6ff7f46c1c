"""/healthz keeps API.md's shape for load balancers; ops staff also see when a worker last
finished a task (a heartbeat each worker writes into the shared cache)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from authorizations.tasks import expire_grants
from config.celery import worker_heartbeat_record, worker_last_task_at
from tests.factories import UserFactory
from tests.helpers import token_client

pytestmark = pytest.mark.django_db


def test_load_balancers_get_exactly_the_api_md_shape():
    body = Client().get("/healthz").json()
    assert body == {"db": "ok", "broker": "eager", "version": body["version"]}


def test_ops_see_that_no_worker_has_run_a_task_yet():
    ops = UserFactory(username="ops", is_staff=True)
    body = token_client(ops).get("/healthz").json()
    assert body["worker"] == {"last_task_at": None, "seconds_ago": None}


def test_ops_see_when_a_worker_last_finished_a_task():
    # given a worker finished a task three minutes ago
    at = timezone.now() - dt.timedelta(minutes=3)
    worker_heartbeat_record(at)
    ops = UserFactory(username="ops", is_staff=True)

    # when ops staff look, by token or by session
    by_token = token_client(ops).get("/healthz").json()["worker"]
    session = Client()
    session.force_login(ops)
    by_session = session.get("/healthz").json()["worker"]

    # then they see when, and how long ago
    for worker in (by_token, by_session):
        assert dt.datetime.fromisoformat(worker["last_task_at"].replace("Z", "+00:00")) == at
        assert 180 <= worker["seconds_ago"] < 240


@pytest.mark.parametrize("who", ["partner", "bad-token"])
def test_nobody_else_sees_the_worker(who):
    # given a worker heartbeat, and a caller who is not ops staff (or whose token is wrong)
    worker_heartbeat_record()
    if who == "partner":
        client = token_client(UserFactory(username="partner"))
    else:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    # when
    response = client.get("/healthz")

    # then the check still answers, in API.md's shape only
    assert response.status_code == 200
    assert set(response.json()) == {"db", "broker", "version"}


def test_a_task_run_eagerly_is_no_worker_heartbeat():
    # when a task runs in the web process (eager mode: development, tests)
    expire_grants.apply()

    # then no worker is claimed to be alive
    assert worker_last_task_at() is None
