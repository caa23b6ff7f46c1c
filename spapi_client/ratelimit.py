"""Token buckets per (selling partner, operation), shared by every worker process.

Amazon meters each operation per selling partner and application with a token bucket (rate in
requests per second, burst). We keep the same bucket on our side so that N workers together
stay at, not above, the plan:

- :class:`RedisTokenBucket`: the bucket lives in Redis; one short Lua script refills it by
  ``rate × elapsed`` (Redis' own clock, so processes on different hosts agree), caps it at the
  burst, and either takes one token or returns how long to wait for the next one. Atomic, one
  round trip per attempt.
- :class:`InProcessTokenBucket`: the same arithmetic under a lock, for the embedded demo
  (``REDIS_URL`` empty) and for the fake server.

``acquire(seller_id, operation)`` blocks, sleeping the returned wait, until it gets a token or
would exceed the maximum wait (:class:`~spapi_client.errors.SpapiRateLimitTimeout`).

``SPAPI_RATE_SPEEDUP`` multiplies every rate (bursts are unchanged): tests and benchmarks run
the plans 50× faster against the fake server, which enforces the same factor.

Our buckets refill :data:`PACING_MARGIN` (3 %) slower than Amazon's (``get_limiter``; the
classes themselves are exact, as the fake server uses them). Amazon counts a request when it
arrives, we count it when it leaves: when a request travels faster than the one before it, it
reaches Amazon early, and once the bucket is drained (a long sync) early means 429 — at once with
a burst of 1 (``getItemOffersBatch``). The margin absorbs up to ``margin / rate`` of such jitter
(300 ms at 0.1/s, 15 ms at 2/s) for 3 % of the throughput; a 429 costs a whole token and a
back-off (bench/bench_sync.py measures both).

A smaller ``x-amzn-RateLimit-Limit`` seen in an answer is stored per bucket
(:meth:`note_rate_limit`) and used instead of the plan's rate until an answer says otherwise
(or for an hour). Amazon sends the header on some answers only, never on a 429.

Why not ``pyrate-limiter``: its Redis bucket is a sliding-window log (one sorted-set entry per
request), not a rate/burst token bucket, and cannot express "0.0167 per second, burst 15" or a
per-bucket rate that changes at run time; the script below is 25 lines.
"""
from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from .errors import SpapiConfigurationError, SpapiConnectionError, SpapiRateLimitTimeout

__all__ = [
    "USAGE_PLANS",
    "PACING_MARGIN",
    "RATE_OVERRIDE_TTL_SECONDS",
    "TokenBucket",
    "RedisTokenBucket",
    "InProcessTokenBucket",
    "get_limiter",
    "acquire",
    "note_rate_limit",
    "parse_rate_limit_header",
]

logger = logging.getLogger(__name__)

# Amazon's usage plans: operation -> (rate in requests per second, burst). SPAPI.md's table.
USAGE_PLANS: dict[str, tuple[float, int]] = {
    "getMarketplaceParticipations": (0.016, 15),
    "createReport": (0.0167, 15),
    "getReport": (2, 15),
    "getReportDocument": (0.0167, 15),
    "searchCatalogItems": (2, 2),
    "getItemOffersBatch": (0.1, 1),
    "getItemOffers": (0.5, 1),
    "getListingsRestrictions": (5, 10),
}

# Our buckets refill this fraction slower than Amazon's (see the module doc).
PACING_MARGIN = 0.03

# A reduced rate learnt from x-amzn-RateLimit-Limit is forgotten after this long without being
# seen again (Amazon may have raised it back in the meantime).
RATE_OVERRIDE_TTL_SECONDS = 3600

# KEYS[1] bucket hash {tokens, ts}; KEYS[2] reduced rate learnt from Amazon (plain rate/s).
# ARGV: plan rate/s, burst, pace (speed-up less margin). Returns the wait in seconds as a string
# ("0" = granted).
_TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local pace = tonumber(ARGV[3])
local learnt = tonumber(redis.call('GET', KEYS[2]))
if learnt and learnt > 0 and learnt < rate then rate = learnt end
rate = rate * pace
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 60000)
return tostring(wait)
"""


def parse_rate_limit_header(value: object) -> float | None:
    """``x-amzn-RateLimit-Limit`` as a positive float, or None when absent or unreadable."""
    if value is None:
        return None
    try:
        rate = float(str(value).strip())
    except ValueError:
        return None
    return rate if math.isfinite(rate) and rate > 0 else None


def _plan(plans: Mapping[str, tuple[float, int]], operation: str) -> tuple[float, int]:
    try:
        rate, burst = plans[operation]
    except KeyError:
        raise SpapiConfigurationError(f"no usage plan for operation {operation!r}", operation=operation) from None
    return float(rate), int(burst)


class TokenBucket(Protocol):
    speedup: float
    margin: float

    def try_acquire(self, seller_id: str, operation: str) -> float:
        """Take a token: 0.0 when granted, else the seconds until one will be there."""

    def acquire(self, seller_id: str, operation: str, *, max_wait: float | None = None) -> float:
        """Block until a token is taken; return the seconds waited."""

    def note_rate_limit(self, seller_id: str, operation: str, rate: float | None) -> None:
        """Remember Amazon's ``x-amzn-RateLimit-Limit`` for this bucket when below the plan."""

    def effective_rate(self, seller_id: str, operation: str) -> float:
        """Requests per second this bucket refills at now (speed-up and margin included)."""

    def reset(self) -> None:
        """Forget every bucket (tests)."""


def _checked_margin(margin: float) -> float:
    margin = float(margin)
    if not 0 <= margin < 1:
        raise ValueError(f"margin must be in [0, 1), got {margin}")
    return margin


class _BlockingMixin:
    """``acquire`` on top of ``try_acquire``: sleep the wait the bucket names, within a bound."""

    speedup: float
    margin: float
    max_wait: float
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    @property
    def _pace(self) -> float:
        """What a plan's rate is multiplied by: the speed-up, less the margin."""
        return self.speedup * (1.0 - self.margin)

    def try_acquire(self, seller_id: str, operation: str) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def acquire(self, seller_id: str, operation: str, *, max_wait: float | None = None) -> float:
        limit = self.max_wait if max_wait is None else max_wait
        started = time.monotonic()
        slept = False
        while True:
            wait = self.try_acquire(seller_id, operation)
            waited = time.monotonic() - started if slept else 0.0
            if wait <= 0:
                if waited > 0.5:
                    logger.debug("rate limit: waited %.2fs for %s/%s", waited, seller_id, operation)
                return waited
            if waited + wait > limit:
                raise SpapiRateLimitTimeout(
                    f"{operation}: the next token for seller {seller_id} is {wait:.1f}s away; "
                    f"already waited {waited:.1f}s of at most {limit:.1f}s",
                    operation=operation,
                )
            # A little jitter so that processes woken for the same token do not stampede.
            self.sleep(wait + random.uniform(0, min(0.05, wait * 0.1)))
            slept = True


class RedisTokenBucket(_BlockingMixin):
    def __init__(
        self,
        url: str,
        *,
        speedup: float = 1.0,
        margin: float = 0.0,
        prefix: str = "spapi:rl",
        max_wait: float = 90.0,
        plans: Mapping[str, tuple[float, int]] | None = None,
    ) -> None:
        import redis

        self.url = url
        self.speedup = float(speedup)
        self.margin = _checked_margin(margin)
        self.prefix = prefix
        self.max_wait = float(max_wait)
        self.plans = dict(plans or USAGE_PLANS)
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._take = self._redis.register_script(_TAKE_SCRIPT)

    def __repr__(self) -> str:  # the URL may carry a password
        return f"RedisTokenBucket(prefix={self.prefix!r}, speedup={self.speedup})"

    def _keys(self, seller_id: str, operation: str) -> tuple[str, str]:
        # One hash tag per bucket keeps both keys on the same Redis Cluster slot.
        base = f"{self.prefix}:{{{seller_id}:{operation}}}"
        return base, f"{base}:limit"

    def try_acquire(self, seller_id: str, operation: str) -> float:
        rate, burst = _plan(self.plans, operation)
        import redis

        try:
            wait = self._take(keys=self._keys(seller_id, operation), args=[repr(rate), burst, repr(self._pace)])
        except redis.RedisError as exc:
            raise SpapiConnectionError(
                f"{operation}: rate-limit store unavailable ({type(exc).__name__})", operation=operation
            ) from exc
        return float(wait)

    def note_rate_limit(self, seller_id: str, operation: str, rate: float | None) -> None:
        if rate is None or operation not in self.plans:
            return
        plan_rate, _burst = _plan(self.plans, operation)
        _bucket, limit_key = self._keys(seller_id, operation)
        import redis

        try:
            if rate < plan_rate:
                self._redis.set(limit_key, repr(float(rate)), ex=RATE_OVERRIDE_TTL_SECONDS)
            else:
                self._redis.delete(limit_key)
        except redis.RedisError:
            logger.warning("rate limit: could not store x-amzn-RateLimit-Limit for %s", operation)

    def effective_rate(self, seller_id: str, operation: str) -> float:
        plan_rate, _burst = _plan(self.plans, operation)
        raw = self._redis.get(self._keys(seller_id, operation)[1])
        learnt = parse_rate_limit_header(raw.decode() if raw else None)
        return (min(plan_rate, learnt) if learnt else plan_rate) * self._pace

    def reset(self) -> None:
        keys = list(self._redis.scan_iter(match=f"{self.prefix}:*", count=500))
        if keys:
            self._redis.delete(*keys)


class InProcessTokenBucket(_BlockingMixin):
    """The same bucket in this process's memory (embedded demo without Redis; the fake server)."""

    def __init__(
        self,
        *,
        speedup: float = 1.0,
        margin: float = 0.0,
        max_wait: float = 90.0,
        plans: Mapping[str, tuple[float, int]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.speedup = float(speedup)
        self.margin = _checked_margin(margin)
        self.max_wait = float(max_wait)
        self.plans = dict(plans or USAGE_PLANS)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # -> (tokens, ts)
        self._learnt: dict[tuple[str, str], tuple[float, float]] = {}  # -> (rate, expires at)

    def __repr__(self) -> str:
        return f"InProcessTokenBucket(speedup={self.speedup})"

    def _rate(self, key: tuple[str, str], plan_rate: float, now: float) -> float:
        learnt = self._learnt.get(key)
        if learnt and learnt[1] > now and learnt[0] < plan_rate:
            return learnt[0] * self._pace
        return plan_rate * self._pace

    def try_acquire(self, seller_id: str, operation: str) -> float:
        plan_rate, burst = _plan(self.plans, operation)
        key = (seller_id, operation)
        with self._lock:
            now = self._clock()
            rate = self._rate(key, plan_rate, now)
            tokens, ts = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + max(0.0, now - ts) * rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / rate
            self._buckets[key] = (tokens, now)
            return wait

    def note_rate_limit(self, seller_id: str, operation: str, rate: float | None) -> None:
        if rate is None or operation not in self.plans:
            return
        plan_rate, _burst = _plan(self.plans, operation)
        with self._lock:
            if rate < plan_rate:
                self._learnt[(seller_id, operation)] = (float(rate), self._clock() + RATE_OVERRIDE_TTL_SECONDS)
            else:
                self._learnt.pop((seller_id, operation), None)

    def effective_rate(self, seller_id: str, operation: str) -> float:
        plan_rate, _burst = _plan(self.plans, operation)
        with self._lock:
            return self._rate((seller_id, operation), plan_rate, self._clock())

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self._learnt.clear()


_limiters: dict[tuple, TokenBucket] = {}
_limiters_lock = threading.Lock()


def get_limiter() -> TokenBucket:
    """The process's bucket for the current settings: Redis when ``REDIS_URL`` is set, else an
    in-process one, refilling :data:`PACING_MARGIN` slower than Amazon's. One instance per (pid,
    settings) — a forked worker gets its own client."""
    from .config import get_config

    config = get_config()
    key = (os.getpid(), config.redis_url, config.ratelimit_prefix, config.rate_speedup, config.rate_max_wait)
    limiter = _limiters.get(key)
    if limiter is None:
        with _limiters_lock:
            limiter = _limiters.get(key)
            if limiter is None:
                if config.redis_url:
                    limiter = RedisTokenBucket(
                        config.redis_url,
                        speedup=config.rate_speedup,
                        margin=PACING_MARGIN,
                        prefix=config.ratelimit_prefix,
                        max_wait=config.rate_max_wait,
                    )
                else:
                    limiter = InProcessTokenBucket(speedup=config.rate_speedup, margin=PACING_MARGIN,
                                                   max_wait=config.rate_max_wait)
                _limiters[key] = limiter
    return limiter


def acquire(seller_id: str, operation: str, *, max_wait: float | None = None) -> float:
    """Block until the (seller, operation) bucket yields a token; return the seconds waited."""
    return get_limiter().acquire(seller_id, operation, max_wait=max_wait)


def note_rate_limit(seller_id: str, operation: str, header_value: object) -> None:
    """Honour an ``x-amzn-RateLimit-Limit`` header value seen on an answer."""
    get_limiter().note_rate_limit(seller_id, operation, parse_rate_limit_header(header_value))
