"""A process that hammers one Redis token bucket (spawned by test_ratelimit; no Django)."""
from __future__ import annotations

import time


def hammer(url: str, prefix: str, seller_id: str, operation: str, speedup: float, ready, go,
           duration: float, results) -> None:
    """Say ``ready`` once connected, wait for ``go`` (a time to start at), then take tokens."""
    from spapi_client.ratelimit import RedisTokenBucket

    bucket = RedisTokenBucket(url, speedup=speedup, prefix=prefix)
    bucket.effective_rate(seller_id, operation)  # connected to Redis
    ready.put(True)
    start_at = go.get(timeout=60)
    granted: list[float] = []
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + duration
    while (now := time.time()) < deadline:
        wait = bucket.try_acquire(seller_id, operation)
        if wait <= 0:
            granted.append(time.time())
        else:
            time.sleep(min(wait, max(0.0, deadline - now)))
    results.put(granted)
