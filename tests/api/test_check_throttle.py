"""The per-user token bucket of ``/api/v1/check*`` in Redis, shared by every web process, with
tokens leased a few at a time so that most requests make no Redis round trip."""
from __future__ import annotations

import os
import uuid
from types import SimpleNamespace

import pytest
from django.core.cache import caches

from config import rest
from config.rest import CheckRateThrottle
from tests.helpers import delete_redis_keys, redis_client

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"


@pytest.fixture
def redis_cache(settings):
    """The default cache on Redis, under a prefix of this test's own (removed afterwards)."""
    try:
        redis_client(REDIS_URL)
    except Exception:  # noqa: BLE001
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"test-throttle-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}}
    yield caches["default"]
    delete_redis_keys(REDIS_URL, prefix)


class Process:
    """One web process: its own leases, the shared bucket in Redis."""

    def __init__(self, monkeypatch, rate: str):
        self.leases: dict = {}
        self.monkeypatch, self.rate = monkeypatch, rate

    def ask(self, user_pk: int = 42) -> bool:
        self.monkeypatch.setattr(CheckRateThrottle, "_leases", self.leases)
        throttle = CheckRateThrottle.__new__(CheckRateThrottle)
        throttle.rate = self.rate
        throttle.num_requests, throttle.duration = throttle.parse_rate(self.rate)
        request = SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=user_pk))
        allowed = throttle.allow_request(request, None)
        if not allowed:
            self.wait = throttle.wait()
        return allowed


@pytest.fixture
def redis_calls(monkeypatch):
    """How many times the bucket's script ran in Redis."""
    calls = []
    original = rest.TokenBucketUserRateThrottle.allow_request

    def counting(self, request, view):
        script = rest._bucket_scripts.get(caches["default"])
        if script is not None and not getattr(script, "counted", False):
            def counted(*args, _script=script, **kwargs):
                calls.append(1)
                return _script(*args, **kwargs)
            counted.counted = True
            rest._bucket_scripts[caches["default"]] = counted
        return original(self, request, view)

    monkeypatch.setattr(rest.TokenBucketUserRateThrottle, "allow_request", counting)
    return calls


def test_processes_share_the_users_rate_and_lease_tokens_a_few_at_a_time(redis_cache, monkeypatch, redis_calls):
    # given: 50 an hour (no refill to speak of during the test), leases of 5 tokens
    monkeypatch.setattr(CheckRateThrottle, "LEASE_SHARE", 5 / (50 / 3600))
    first, second = Process(monkeypatch, "50/hour"), Process(monkeypatch, "50/hour")
    # when one process serves 23 requests
    assert all(first.ask() for _ in range(23))
    # then it asked Redis 5 times (5 leases of 5), not 23 (the first call registers the script)
    assert len(redis_calls) in (4, 5)
    # and the other process gets what is left of the user's 50: 25, then a refusal with a wait
    answers = [second.ask() for _ in range(30)]
    assert answers.count(True) == 25 and answers[25:] == [False] * 5
    assert second.wait > 0
    # the two tokens the first process still holds are spent there, and then it is refused too
    assert [first.ask() for _ in range(3)] == [True, True, False]


def test_another_user_has_a_bucket_of_their_own(redis_cache, monkeypatch):
    process = Process(monkeypatch, "3/hour")
    assert [process.ask(user_pk=1) for _ in range(4)] == [True, True, True, False]
    assert process.ask(user_pk=2) is True


def test_the_check_answers_429_with_retry_after_once_the_bucket_is_empty(redis_cache, monkeypatch, world, api):
    # given: the check limited to 3 an hour, the bucket in Redis
    monkeypatch.setattr(CheckRateThrottle, "_leases", {})
    monkeypatch.setattr(CheckRateThrottle, "THROTTLE_RATES", {**CheckRateThrottle.THROTTLE_RATES, "check": "3/hour"})
    client = api("owner_a")
    query = {"seller_id": world.seller_s.seller_id, "asin": "B0ALPHA001", "marketplace": "US"}
    # when
    statuses = [client.get("/api/v1/check", query).status_code for _ in range(4)]
    # then
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/check", query)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert response.json()["errors"][0]["code"] == "THROTTLED"
