"""A small HTTP load generator on asyncio streams (loopback only, bounded in time).

* :func:`open_loop` sends requests at a fixed arrival rate whatever the server does, and times
  each from the moment it was *scheduled* to go out, not from when it went: a slow server then
  shows as latency instead of silently lowering the rate (no coordinated omission).
* :func:`closed_loop` keeps ``concurrency`` requests in flight for a while: the throughput the
  server sustains.

One connection per request (``Connection: close``): gunicorn's sync workers, the production
shape, close the connection after each response anyway.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

TIMEOUT = 10.0


def request_bytes(path: str, *, headers: dict[str, str] | None = None, host: str = "127.0.0.1") -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)  # seconds, successful (2xx) answers
    errors: int = 0  # non-2xx, refused, reset, timed out
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0
    sent: int = 0
    generator_cpu: float = 0.0  # CPU seconds the generator itself used

    def merge(self, other: Outcome) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        for code, n in other.statuses.items():
            self.statuses[code] = self.statuses.get(code, 0) + n
        self.elapsed += other.elapsed
        self.sent += other.sent
        self.generator_cpu += other.generator_cpu

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


async def _one(port: int, payload: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        data = await reader.read()  # until the server closes
    finally:
        writer.close()
    if not data.startswith(b"HTTP/1."):
        return 0
    return int(data[9:12])


async def _timed(port: int, payload: bytes, start: float, outcome: Outcome) -> None:
    try:
        status = await asyncio.wait_for(_one(port, payload), TIMEOUT)
    except (TimeoutError, OSError):
        status = 0
    done = time.perf_counter()
    outcome.statuses[status] = outcome.statuses.get(status, 0) + 1
    if 200 <= status < 300:
        outcome.latencies.append(done - start)
    else:
        outcome.errors += 1


async def _open_loop(port: int, payloads: Sequence[bytes], rate: float, duration: float) -> Outcome:
    outcome = Outcome()
    total = int(rate * duration)
    tasks = []
    cpu = time.process_time()
    t0 = time.perf_counter() + 0.05
    for i in range(total):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_timed(port, payloads[i % len(payloads)], scheduled, outcome)))
    await asyncio.gather(*tasks)
    outcome.elapsed = time.perf_counter() - t0
    outcome.sent = total
    outcome.generator_cpu = time.process_time() - cpu
    return outcome


async def _closed_loop(port: int, payloads: Sequence[bytes], concurrency: int, duration: float) -> Outcome:
    outcome = Outcome()
    cpu = time.process_time()
    start = time.perf_counter()
    stop = start + duration
    counter = iter(range(10**9))

    async def user() -> None:
        while time.perf_counter() < stop:
            i = next(counter)
            await _timed(port, payloads[i % len(payloads)], time.perf_counter(), outcome)
            outcome.sent += 1

    await asyncio.gather(*(user() for _ in range(concurrency)))
    outcome.elapsed = time.perf_counter() - start
    outcome.generator_cpu = time.process_time() - cpu
    return outcome


def open_loop(port: int, payloads: Sequence[bytes], *, rate: float, duration: float) -> Outcome:
    return asyncio.run(_open_loop(port, payloads, rate, duration))


def closed_loop(port: int, payloads: Sequence[bytes], *, concurrency: int, duration: float) -> Outcome:
    return asyncio.run(_closed_loop(port, payloads, concurrency, duration))


def wait_until_up(port: int, path: str = "/healthz", timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    payload = request_bytes(path, headers={"X-Forwarded-Proto": "https"})
    while time.monotonic() < deadline:
        try:
            if asyncio.run(_one(port, payload)) in (200, 503):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answers on port {port}")
