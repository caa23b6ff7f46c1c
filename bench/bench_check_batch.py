#!/usr/bin/env python3
"""POST /api/v1/check/batch with 100 and 1,000 items: server time, p50/p99, in-process through
the whole stack (middleware, token, throttle, validation, scope, grants, JSON) with the
production settings (bench/http_settings.py), alternating sizes round by round.

The caller is a brand's owner asking about the brand's own catalog and sellers (an ERP
mirroring its listings): every item is in scope, 80 % name a granted triplet (any status), 20 %
a seller of the brand without a grant there. Data: the world of bench/_world.py (default
1,000,000 grants), loaded with COPY. Run: ``.venv/bin/python bench/bench_check_batch.py``
(quick: ``--grants 100000 --asins 10000``). Makes and drops its own scratch database.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time

from _setup import (
    clean_redis,
    load,
    machine,
    ms,
    percentiles,
    production_environment,
    scratch_database,
    table,
)


def batches(world, size: int, count: int, seed: int) -> list[tuple[int, bytes]]:
    """``count`` bodies of ``size`` items, each from one brand (and its owner's token)."""
    rng = random.Random(seed)
    probes = world.probes(size * count * 2, seed=seed)
    by_brand: dict[int, list] = {}
    for brand, seller_id, asin, market in probes:
        by_brand.setdefault(brand, []).append({"seller_id": seller_id, "asin": asin, "marketplace": market})
    out = []
    brands = [b for b, items in by_brand.items() if len(items) >= size]
    for _ in range(count):
        brand = rng.choice(brands)
        out.append((brand, json.dumps({"items": rng.sample(by_brand[brand], size)}).encode()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=1_000_000)
    parser.add_argument("--asins", type=int, default=100_000)
    parser.add_argument("--sellers", type=int, default=2_000)
    parser.add_argument("--brands", type=int, default=50)
    parser.add_argument("--requests", type=int, default=400, help="requests of 100 items (and a quarter as many of 1,000)")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    suffix = "batch"
    os.environ.update(production_environment(suffix))
    os.environ["LOG_LEVEL"] = "WARNING"  # in process: a JSON line per request would bury the table
    with scratch_database(suffix, settings="http_settings"):
        import _world
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        started = time.perf_counter()
        world = _world.build(brands=args.brands, asins=args.asins, sellers=args.sellers, grants=args.grants)
        print(f"machine: {machine()}; world of {args.grants:,} grants built in {time.perf_counter() - started:.0f}s",
              flush=True)
        client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
        plan = {100: batches(world, 100, args.requests, seed=1), 1000: batches(world, 1000, args.requests // 4, seed=2)}

        def post(brand: int, body: bytes):
            response = client.post("/api/v1/check/batch", body, content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Token {world.tokens[brand]}")
            assert response.status_code == 200, response.content[:300]
            return response

        queries = {}
        for size, bodies in plan.items():
            for brand, body in bodies[:5]:  # warm
                post(brand, body)
            with CaptureQueriesContext(connection) as captured:
                results = post(*bodies[0]).json()["results"]
            queries[size] = len(captured)
            assert len(results) == size and not any("error" in r for r in results)
        samples: dict[int, list[float]] = {100: [], 1000: []}
        for n in range(args.rounds):
            for size in ((100, 1000) if n % 2 == 0 else (1000, 100)):
                bodies = plan[size]
                part = len(bodies) // args.rounds
                for brand, body in bodies[n * part:(n + 1) * part]:
                    start = time.perf_counter()
                    post(brand, body)
                    samples[size].append(time.perf_counter() - start)
        clean_redis()

    print(f"\n`POST /api/v1/check/batch`, {args.grants:,} grants, caller: the brand's owner (token); "
          f"{args.rounds} alternating rounds; load average {load()}")
    rows = []
    for size, values in samples.items():
        stats = percentiles(values)
        rows.append([f"{size:,} items", f"{len(values):,}", queries[size], ms(stats["p50"]), ms(stats["p90"]),
                     ms(stats["p99"]), f"{stats['p50'] / size * 1e6:.0f}"])
    print(table(["batch", "requests", "queries", "p50 (ms)", "p90 (ms)", "p99 (ms)", "p50 per item (µs)"], rows))


if __name__ == "__main__":
    main()
