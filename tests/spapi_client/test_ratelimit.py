"""Token buckets: the arithmetic, Redis sharing across processes, learnt limits, fallback."""
from __future__ import annotations

import multiprocessing
import time
import uuid

import pytest

from spapi_client import ratelimit
from spapi_client.errors import SpapiConfigurationError, SpapiConnectionError, SpapiRateLimitTimeout
from spapi_client.ratelimit import InProcessTokenBucket, RedisTokenBucket

from tests.helpers import redis_client
from .hammer import hammer

SELLER = "A2HEALTHYSELL01"


def test_usage_plans_are_amazons():
    assert ratelimit.USAGE_PLANS == {
        "getMarketplaceParticipations": (0.016, 15), "createReport": (0.0167, 15), "getReport": (2, 15),
        "getReportDocument": (0.0167, 15), "searchCatalogItems": (2, 2), "getItemOffersBatch": (0.1, 1),
        "getItemOffers": (0.5, 1), "getListingsRestrictions": (5, 10),
    }


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_in_process_bucket_gives_the_burst_then_the_rate():
    clock = Clock()
    bucket = InProcessTokenBucket(speedup=1, clock=clock)

    assert [bucket.try_acquire(SELLER, "searchCatalogItems") for _ in range(2)] == [0, 0]  # burst 2
    assert bucket.try_acquire(SELLER, "searchCatalogItems") == pytest.approx(0.5)  # 2/s
    clock.now += 0.5
    assert bucket.try_acquire(SELLER, "searchCatalogItems") == 0
    assert bucket.try_acquire("A3INFRINGER0002", "searchCatalogItems") == 0  # buckets are per seller
    clock.now += 100
    assert [bucket.try_acquire(SELLER, "searchCatalogItems") for _ in range(3)][2] > 0  # capped at burst


def test_speedup_multiplies_rates_not_bursts():
    clock = Clock()
    bucket = InProcessTokenBucket(speedup=50, clock=clock)

    assert bucket.try_acquire(SELLER, "getItemOffersBatch") == 0
    assert bucket.try_acquire(SELLER, "getItemOffersBatch") == pytest.approx(1 / (0.1 * 50))
    assert bucket.effective_rate(SELLER, "createReport") == pytest.approx(0.0167 * 50)


def test_a_margin_slows_the_refill_not_the_burst():
    clock = Clock()
    bucket = InProcessTokenBucket(speedup=1, margin=0.2, clock=clock)

    assert [bucket.try_acquire(SELLER, "searchCatalogItems") for _ in range(2)] == [0, 0]  # burst 2
    assert bucket.try_acquire(SELLER, "searchCatalogItems") == pytest.approx(1 / (2 * 0.8))
    assert bucket.effective_rate(SELLER, "searchCatalogItems") == pytest.approx(1.6)
    with pytest.raises(ValueError):
        InProcessTokenBucket(margin=1)


def test_the_clients_limiter_refills_a_margin_slower_than_amazons_bucket(settings):
    # given: Amazon's bucket (the fake uses the exact one) and ours, at the same speed-up
    settings.SPAPI_RATE_SPEEDUP = 50
    settings.REDIS_URL = ""
    amazon = InProcessTokenBucket(speedup=50)
    ours = ratelimit.get_limiter()

    # then
    assert 0 < ratelimit.PACING_MARGIN < 0.1
    assert ours.effective_rate(SELLER, "getItemOffersBatch") == pytest.approx(
        amazon.effective_rate(SELLER, "getItemOffersBatch") * (1 - ratelimit.PACING_MARGIN))


def test_a_smaller_learnt_rate_is_used_until_amazon_says_otherwise():
    bucket = InProcessTokenBucket(speedup=1, clock=Clock())

    bucket.note_rate_limit(SELLER, "getListingsRestrictions", 0.5)
    assert bucket.effective_rate(SELLER, "getListingsRestrictions") == 0.5
    bucket.note_rate_limit(SELLER, "getListingsRestrictions", 9.0)  # not above the plan
    assert bucket.effective_rate(SELLER, "getListingsRestrictions") == 5


def test_unknown_operations_have_no_bucket():
    with pytest.raises(SpapiConfigurationError):
        InProcessTokenBucket().try_acquire(SELLER, "getOrders")


def test_acquire_sleeps_until_a_token_and_bounds_the_wait():
    bucket = InProcessTokenBucket(speedup=50)  # getItemOffersBatch: 5/s, burst 1

    started = time.monotonic()
    waited = [bucket.acquire(SELLER, "getItemOffersBatch") for _ in range(3)]
    elapsed = time.monotonic() - started

    assert waited[0] == 0 and elapsed >= 0.38 and sum(waited) == pytest.approx(elapsed, abs=0.05)
    with pytest.raises(SpapiRateLimitTimeout):
        bucket.acquire(SELLER, "getItemOffersBatch", max_wait=0.01)


def test_the_limiter_is_redis_when_configured_else_in_process(settings, redis_url):
    assert isinstance(ratelimit.get_limiter(), RedisTokenBucket)
    assert ratelimit.get_limiter().margin == ratelimit.PACING_MARGIN
    settings.REDIS_URL = ""
    assert isinstance(ratelimit.get_limiter(), InProcessTokenBucket)


def test_redis_bucket_arithmetic_and_learnt_limits(redis_url):
    prefix = f"test-spapi-rl:{uuid.uuid4().hex[:12]}"
    bucket = RedisTokenBucket(redis_url, speedup=50, prefix=prefix)
    try:
        assert bucket.try_acquire(SELLER, "getItemOffersBatch") == 0
        assert 0.15 < bucket.try_acquire(SELLER, "getItemOffersBatch") <= 0.2  # 5/s at 50×

        bucket.note_rate_limit(SELLER, "getListingsRestrictions", 0.02)
        assert bucket.effective_rate(SELLER, "getListingsRestrictions") == pytest.approx(1.0)
        # burst 10, then the learnt 0.02/s × 50 = one token a second (slow enough that scheduling
        # jitter between the calls cannot blur it)
        assert [bucket.try_acquire(SELLER, "getListingsRestrictions") for _ in range(11)][-1] == pytest.approx(
            1.0, rel=0.1)
        bucket.note_rate_limit(SELLER, "getListingsRestrictions", 5.0)
        assert bucket.effective_rate(SELLER, "getListingsRestrictions") == 250
        assert "redis://" not in repr(bucket)
    finally:
        bucket.reset()
    assert not list(redis_client(redis_url).scan_iter(match=f"{prefix}:*"))


def test_redis_unavailable_is_a_transient_error():
    bucket = RedisTokenBucket("redis://127.0.0.1:1/0", prefix="test-spapi-rl:down")

    with pytest.raises(SpapiConnectionError) as raised:
        bucket.try_acquire(SELLER, "getReport")

    assert raised.value.transient


def test_two_processes_together_never_exceed_burst_plus_rate(redis_url):
    # given: searchCatalogItems (2/s, burst 2) at 100× = 200/s, hammered by two processes for 2 s
    prefix = f"test-spapi-rl:{uuid.uuid4().hex[:12]}"
    speedup, duration = 100.0, 2.0
    rate, burst = 2 * speedup, 2
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Queue(), context.Queue(), context.Queue()
    workers = [
        context.Process(target=hammer, args=(redis_url, prefix, SELLER, "searchCatalogItems", speedup, ready, go,
                                             duration, results))
        for _ in range(2)
    ]

    # when: both start together, once both are up (spawning takes seconds on a busy machine)
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            ready.get(timeout=60)
        start_at = time.time() + 0.2
        for _ in workers:
            go.put(start_at)
        per_process = [results.get(timeout=30) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=10)
    RedisTokenBucket(redis_url, prefix=prefix).reset()

    # then: both got tokens, and no window of the merged grants holds more than the bucket allows
    grants = sorted(t for granted in per_process for t in granted)
    assert all(len(granted) > 50 for granted in per_process)
    tolerance = 1 + rate * 0.005  # grant times are taken by the clients, a few ms after Redis' clock
    worst = max(
        (j - i + 1) - (burst + rate * (grants[j] - grants[i]))
        for i in range(len(grants)) for j in range(i, len(grants))
    )
    assert worst <= tolerance
    assert len(grants) <= burst + rate * duration + tolerance
    assert len(grants) >= 0.9 * (burst + rate * duration)  # and the plan is used, not wasted
