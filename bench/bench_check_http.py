#!/usr/bin/env python3
"""GET /api/v1/check under gunicorn with the production settings, at a fixed arrival rate,
side by side with its floor (a bare Django view under the same gunicorn running the same single
SQL query and returning the same JSON; see bench/http_urls.py).

1. Open loop: ``--rate`` requests/s for ``--duration`` seconds per endpoint, in alternating
   rounds (floor, ours, ours, floor, ...); latency from the moment each request was due.
2. Closed loop: ``--concurrency`` requests in flight, alternating rounds: the throughput each
   sustains; ours as a fraction of the floor's.

Data: ``--grants`` grants (default 1,000,000 over 50 brands, 100,000 ASINs, 2,000 sellers, 4
marketplaces; see bench/_world.py), loaded with COPY. Callers are the brands' owners, by token
(the check then runs its three queries: token, caller's scope, grant). Run:
``.venv/bin/python bench/bench_check_http.py`` (needs the local PostgreSQL and Redis; makes and
drops its own scratch database; quick: ``--grants 100000 --asins 10000 --duration 10``).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from urllib.parse import urlencode

from _load import Outcome, closed_loop, open_loop, request_bytes, wait_until_up
from _setup import (
    ROOT,
    clean_redis,
    load,
    machine,
    ms,
    percentiles,
    production_environment,
    scratch_database,
    table,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, workers: int, suffix: str, log) -> subprocess.Popen:
    """gunicorn on loopback with the production settings (bench/http_settings.py); its log (the
    product logs a line per request) goes to ``log``, a file: a pipe nobody reads would fill up
    and stall the workers. The production command (Dockerfile), access log off."""
    # Connections kept 10 minutes instead of 1 (DB_CONN_MAX_AGE), so that the backends whose CPU
    # is counted live through a run.
    env = {**os.environ, **production_environment(suffix), "DB_CONN_MAX_AGE": "600"}
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--pythonpath", str(ROOT / "bench")]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)


def _cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def server_cpu(master: int) -> dict[int, float]:
    """CPU seconds so far of the gunicorn workers and of the PostgreSQL backends serving them
    (CPU per request is steadier than latency when other work shares the cores)."""
    from django.db import connection

    pids = []
    try:
        with open(f"/proc/{master}/task/{master}/children") as children:
            pids += [int(p) for p in children.read().split()]
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        pids += [row[0] for row in cursor.fetchall()]
    connection.close()
    return {pid: seconds for pid in pids if (seconds := _cpu_seconds(pid)) is not None}


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def payloads(world, probes, *, floor: bool) -> list[bytes]:
    out = []
    for brand, seller_id, asin, market in probes:
        query = urlencode({"seller_id": seller_id, "asin": asin, "marketplace": market})
        if floor:
            out.append(request_bytes(f"/bench/floor?{query}", headers={"X-Forwarded-Proto": "https"}))
        else:
            out.append(request_bytes(f"/api/v1/check?{query}", headers={
                "X-Forwarded-Proto": "https", "Authorization": f"Token {world.tokens[brand]}"}))
    return out


def same_answers(port: int, world, probes) -> None:
    """Ours and the floor agree on every probe (a benchmark of a wrong answer is worthless)."""
    for brand, seller_id, asin, market in probes:
        query = urlencode({"seller_id": seller_id, "asin": asin, "marketplace": market})
        answers = []
        for path, headers in ((f"/api/v1/check?{query}", {"Authorization": f"Token {world.tokens[brand]}"}),
                              (f"/bench/floor?{query}", {})):
            req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                         headers={**headers, "X-Forwarded-Proto": "https"})
            with urllib.request.urlopen(req, timeout=10) as response:
                answers.append(json.loads(response.read()))
        assert answers[0] == answers[1], (seller_id, asin, market, answers)


def row(label: str, outcome: Outcome) -> list[object]:
    errors = f"{outcome.errors:,}" + (f" ({_statuses(outcome)})" if outcome.errors else "")
    if len(outcome.latencies) < 2:
        return [label, f"{outcome.sent:,}", "-", "-", "-", "-", errors, "0"]
    stats = percentiles(outcome.latencies)
    return [label, f"{outcome.sent:,}", ms(stats["p50"]), ms(stats["p90"]), ms(stats["p99"]), ms(stats["max"]),
            errors, f"{outcome.throughput:,.0f}"]


def _statuses(outcome: Outcome) -> str:
    names = {0: "timeouts/refused"}
    return ", ".join(f"{names.get(code, code)}: {n:,}" for code, n in sorted(outcome.statuses.items())
                     if not 200 <= code < 300)


def p50_ratio(ours: Outcome, floor: Outcome) -> str:
    if len(ours.latencies) < 2 or len(floor.latencies) < 2:
        return "n/a"
    return f"{percentiles(ours.latencies)['p50'] / percentiles(floor.latencies)['p50']:.2f}x"


def settle(port: int, payload: bytes, limit: float = 30.0) -> None:
    """Wait until the server has worked through what the last round left queued (a probe
    answered within 50 ms), so that no round pays for the one before."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        probe = closed_loop(port, [payload], concurrency=1, duration=0.2)
        if probe.latencies and max(probe.latencies) < 0.05:
            return
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=1_000_000)
    parser.add_argument("--asins", type=int, default=100_000)
    parser.add_argument("--sellers", type=int, default=2_000)
    parser.add_argument("--brands", type=int, default=50)
    parser.add_argument("--rate", default="1000", help="arrivals per second (open loop); several: 1000,300")
    parser.add_argument("--duration", type=float, default=30.0, help="open-loop seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds the duration is split into")
    parser.add_argument("--concurrency", type=int, default=8, help="closed loop: requests in flight")
    parser.add_argument("--throughput-seconds", type=float, default=12.0, help="closed-loop seconds per endpoint")
    parser.add_argument("--throughput-rounds", type=int, default=6, help="alternating rounds of the closed loop")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (production: 3)")
    args = parser.parse_args()

    suffix = "check"
    with scratch_database(suffix):
        import _world

        started = time.perf_counter()
        world = _world.build(brands=args.brands, asins=args.asins, sellers=args.sellers, grants=args.grants)
        print(f"machine: {machine()}; world of {args.grants:,} grants built in {time.perf_counter() - started:.0f}s",
              flush=True)
        from django.db import connections

        connections.close_all()
        port = free_port()
        log = tempfile.TemporaryFile()
        server = start_gunicorn(port, args.workers, suffix, log)
        try:
            wait_until_up(port)
            probes = world.probes(20_000)
            ours, floor = payloads(world, probes, floor=False), payloads(world, probes, floor=True)
            same_answers(port, world, probes[:200])
            closed_loop(port, ours[:3000], concurrency=4, duration=3)  # warm every worker's connection
            closed_loop(port, floor[:3000], concurrency=4, duration=3)
            arrival_rates = [float(r) for r in args.rate.split(",")]
            results = {rate: {"floor": Outcome(), "ours": Outcome()} for rate in arrival_rates}
            loads = {}
            per_round = args.duration / args.rounds
            for rate in arrival_rates:
                loads[rate] = [load()]
                for n in range(args.rounds):
                    for name in ("floor", "ours") if n % 2 == 0 else ("ours", "floor"):
                        sent = ours if name == "ours" else floor
                        offset = (n * 7919) % len(sent)
                        results[rate][name].merge(open_loop(port, sent[offset:] + sent[:offset], rate=rate,
                                                            duration=per_round))
                        settle(port, floor[0])
                loads[rate].append(load())
            rates = {"floor": Outcome(), "ours": Outcome()}
            cpu = {"floor": 0.0, "ours": 0.0}
            for n in range(args.throughput_rounds):
                for name in ("floor", "ours") if n % 2 == 0 else ("ours", "floor"):
                    sent = ours if name == "ours" else floor
                    before = server_cpu(server.pid)
                    rates[name].merge(closed_loop(port, sent, concurrency=args.concurrency,
                                                  duration=args.throughput_seconds / args.throughput_rounds))
                    cpu[name] += cpu_spent(before, server_cpu(server.pid))
                    settle(port, floor[0])
        finally:
            stop(server)
            clean_redis()
        if any(r["ours"].errors or r["floor"].errors for r in results.values()):
            log.seek(0)
            print("gunicorn's last words:", log.read().decode(errors="replace")[-1500:])
        log.close()

    header = ["endpoint", "requests", "p50 (ms)", "p90 (ms)", "p99 (ms)", "max (ms)", "errors", "achieved (req/s)"]
    for rate, outcome in results.items():
        print(f"\nOpen loop: {rate:,.0f} requests/s for {args.duration:.0f}s per endpoint ({args.rounds} alternating "
              f"rounds), {args.workers} gunicorn workers; load average {loads[rate][0]} before, {loads[rate][1]} after")
        print(table(header, [row("`GET /api/v1/check` (token; scope and grant in one statement)", outcome["ours"]),
                             row("floor: bare Django view, same SQL", outcome["floor"])]))
        print(f"p50 ratio: {p50_ratio(outcome['ours'], outcome['floor'])} the floor; the generator's own CPU: "
              f"{outcome['ours'].generator_cpu:.1f}s / {outcome['floor'].generator_cpu:.1f}s")
    print(f"\nClosed loop: {args.concurrency} in flight, {args.throughput_seconds:.0f}s per endpoint "
          f"({args.throughput_rounds} alternating rounds); load average {load()}")
    per_request = {name: cpu[name] / max(len(o.latencies), 1) for name, o in rates.items()}
    print(table(["endpoint", "requests", "throughput (req/s)", "p50 (ms)", "p99 (ms)", "errors",
                 "server CPU per request (ms)"], [
        [label, f"{o.sent:,}", f"{o.throughput:,.0f}", *(row(label, o)[2:5:2]), row(label, o)[6], ms(per_request[name])]
        for label, name, o in (("`GET /api/v1/check`", "ours", rates["ours"]), ("floor", "floor", rates["floor"]))
    ]))
    if rates["floor"].throughput and per_request["ours"]:
        print(f"throughput: ours = {rates['ours'].throughput / rates['floor'].throughput:.0%} of the floor measured; "
              f"{per_request['floor'] / per_request['ours']:.0%} by server CPU per request (gunicorn workers + "
              f"PostgreSQL backends)")


if __name__ == "__main__":
    sys.exit(main())
