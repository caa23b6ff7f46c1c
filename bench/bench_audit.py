#!/usr/bin/env python3
"""The audit trail's costs, on PostgreSQL, side by side with the same work without it:

1. write overhead: one grant created (``grants_create``, every rule and lock) and one revoked
   (``grant_revoke``), with their chained audit event vs the same service with the recorder
   switched off, alternating rounds;
2. 8 concurrent writers (processes), each granting on a brand of its own: writes/s with and
   without the audit trail;
3. the ops query through the API's listing (cursor pagination): "brand B, last 90 days", page 1
   and a deep page (``--deep-pages`` pages in, following ``next``), p50/p95, with ``--events``
   events (default 1,000,000 over 50 brand streams and 180 days, written through the recorder);
4. the CSV export (``?format=csv``, streamed): rows/s and peak Python memory, for one brand's
   events and for all of them (constant memory: the two peaks match).

Run: ``.venv/bin/python bench/bench_audit.py`` (quick: ``--events 100000``). Makes and drops its
own scratch database. Chain verification has its own script, bench_audit_verify.py.
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import statistics
import time
import tracemalloc
from urllib.parse import urlsplit

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

MARKETS = ("US", "DE")


def build_brand(index: int, asins: int):
    """A brand with ``asins`` verified ASINs and one connected, healthy seller (every rule passes)."""
    from django.utils import timezone

    from brands.models import (
        Asin,
        AsinMarketplace,
        Brand,
        PresenceStatus,
        RegistryStatus,
    )
    from sellers import crypto
    from sellers.models import Participation, Seller, SellerConnection

    now = timezone.now()
    brand = Brand.objects.create(name=f"Writer {index}", registry_number=f"WR-{index:04d}",
                                 registry_status=RegistryStatus.ACTIVE)
    rows = Asin.objects.bulk_create([Asin(brand=brand, asin=f"W{index:02d}{i:07d}", gcid=f"GW{index:03d}{i:011d}", title=f"Item {i}")
                                     for i in range(asins)])
    AsinMarketplace.objects.bulk_create([AsinMarketplace(asin=a, marketplace_id=m, status=PresenceStatus.VERIFIED,
                                                         verified_at=now, catalog_brand=brand.name)
                                         for a in rows for m in MARKETS])
    seller = Seller.objects.create(seller_id=f"AW{index:010d}", name=f"Writer seller {index}",
                                   home_marketplace_id="US", health_score=97, health_checked_at=now)
    Participation.objects.bulk_create([Participation(seller=seller, marketplace_id=m) for m in MARKETS])
    SellerConnection.objects.create(seller=seller, refresh_token_encrypted=crypto.encrypt("Atzr|bench"),
                                    connected_at=now)
    return brand, [a.asin for a in rows], seller


class Audit:
    """Switch the recorder off (``off()``) and on again: the same services, without their audit."""

    def __init__(self) -> None:
        from audit import services

        self._services = services
        self._record_many = services.record_many

    def off(self) -> None:
        self._services.record_many = lambda actor, specs, *, at=None: []

    def on(self) -> None:
        self._services.record_many = self._record_many


def bench_overhead(calls: int, rounds: int) -> dict[str, list[float]]:
    from audit.context import Actor
    from authorizations.services import grant_revoke, grants_create

    brand, codes, seller = build_brand(90, calls * 2)
    actor = Actor.command("bench_audit")
    audit = Audit()
    samples: dict[str, list[float]] = {k: [] for k in ("create", "create_off", "revoke", "revoke_off")}
    codes_iter = iter(codes)
    per_round = calls // rounds
    for n in range(rounds):
        for mode in (("on", "off") if n % 2 == 0 else ("off", "on")):
            audit.off() if mode == "off" else audit.on()
            suffix = "" if mode == "on" else "_off"
            created = []
            for _ in range(per_round):
                code = next(codes_iter)
                start = time.perf_counter()
                [grant] = grants_create(actor=actor, brand=brand, seller=seller, asins=[code], marketplaces=["US"]).created
                samples["create" + suffix].append(time.perf_counter() - start)
                created.append(grant)
            for grant in created:
                start = time.perf_counter()
                grant_revoke(actor=actor, grant=grant, reason="bench")
                samples["revoke" + suffix].append(time.perf_counter() - start)
    audit.on()
    return samples


def _writer(args: tuple[int, float, bool, list[str], int, int]) -> int:
    """One writer process: grant its brand's ASINs one by one until the deadline."""
    index, deadline, audited, codes, brand_pk, seller_pk = args
    from django.db import connections

    connections.close_all()  # a connection of its own
    from audit.context import Actor
    from authorizations.services import grants_create
    from brands.models import Brand
    from sellers.models import Seller

    if not audited:
        Audit().off()
    brand, seller = Brand.objects.get(pk=brand_pk), Seller.objects.get(pk=seller_pk)
    actor = Actor.command(f"bench_writer_{index}")
    done = 0
    for code in codes:
        if time.time() >= deadline:
            break
        grants_create(actor=actor, brand=brand, seller=seller, asins=[code], marketplaces=["US"])
        done += 1
    connections.close_all()
    return done


def bench_writers(writers: int, seconds: float, rounds: int) -> dict[str, float]:
    from django.db import connections

    worlds = [build_brand(10 + i, 4000) for i in range(writers)]
    connections.close_all()
    rates: dict[str, list[float]] = {"on": [], "off": []}
    context = multiprocessing.get_context("fork")
    used = 0
    for n in range(rounds):
        for mode in (("on", "off") if n % 2 == 0 else ("off", "on")):
            share = 4000 // (rounds * 2)
            deadline = time.time() + 1.0 + seconds  # 1 s to start the processes
            jobs = [(i, deadline, mode == "on", codes[used:used + share], brand.pk, seller.pk)
                    for i, (brand, codes, seller) in enumerate(worlds)]
            used += share
            with context.Pool(writers) as pool:
                started = time.time()
                done = sum(pool.map(_writer, jobs))
            rates[mode].append(done / (time.time() - started))
    return {mode: statistics.median(values) for mode, values in rates.items()}


def populate(total: int, streams: int, days: int) -> float:
    """``total`` events over ``streams`` brand streams and ``days`` days, through the recorder,
    5,000 per transaction (100 per stream), oldest first."""
    from django.db import connection, transaction
    from django.utils import timezone

    from audit.context import Actor
    from audit.services import event, record_many

    actor = Actor.command("bench_audit")
    batch = 5_000
    start = timezone.now() - dt.timedelta(days=days)
    step = dt.timedelta(days=days) / (total // batch)
    started = time.perf_counter()
    for b, first in enumerate(range(0, total, batch)):
        specs = [event("grant.created", object_type="grant", object_id=n, brand_id=n % streams + 1,
                       seller_id=f"A{n % 977:012d}", reason="bench",
                       after={"asin": f"B0{n:08d}", "marketplace": "US", "status": "ACTIVE", "valid_until": None})
                 for n in range(first, min(first + batch, total))]
        with transaction.atomic():
            record_many(actor, specs, at=start + b * step)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_auditevent")
    return time.perf_counter() - started


def bench_queries(client, token: str, brands: list[int], calls: int, deep_pages: int) -> dict[str, list[float]]:
    from django.utils import timezone

    since = (timezone.now() - dt.timedelta(days=90)).isoformat()
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    first = {b: f"/api/v1/audit-events?brand={b}&since={since.replace('+', '%2B')}" for b in brands}
    deep, depth = {}, deep_pages
    for b in brands:  # walk down to the deep page once per brand (or to the last full one)
        url, previous = first[b], first[b]
        for page in range(deep_pages):
            response = client.get(url, **auth)
            assert response.status_code == 200, response.content[:300]
            following = response.json()["next"]
            if not following:
                url, depth = previous, min(depth, page)
                break
            previous, url = url, following
        parts = urlsplit(url)
        deep[b] = f"{parts.path}?{parts.query}"
    samples: dict[str, list[float]] = {"page 1": [], f"page {depth + 1} (deep)": []}
    deep_name = f"page {depth + 1} (deep)"
    for n in range(calls):
        b = brands[n % len(brands)]
        pair = (("page 1", first[b]), (deep_name, deep[b]))
        for name, url in pair if n % 2 == 0 else pair[::-1]:
            start = time.perf_counter()
            response = client.get(url, **auth)
            samples[name].append(time.perf_counter() - start)
            assert response.status_code == 200 and response.json()["results"]
    return samples


def bench_export(client, token: str, url: str, *, traced: bool) -> tuple[int, float, int]:
    """Rows, seconds and (``traced``) peak Python memory in bytes of streaming one CSV export to
    the end. Tracing allocations slows Python down: rows/s come from an untraced pass."""
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    response = client.get(url, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200 and response.streaming
    lines = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - start
    peak = 0
    if traced:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return lines - 1, elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--calls", type=int, default=400, help="single writes per side (overhead)")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--writer-seconds", type=float, default=5.0)
    parser.add_argument("--queries", type=int, default=200, help="listing requests per page kind")
    parser.add_argument("--deep-pages", type=int, default=100, help="pages of 50 the deep page lies in")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    suffix = "audit"
    os.environ.update(production_environment(suffix))
    os.environ["LOG_LEVEL"] = "WARNING"  # in process: a JSON line per request would bury the table
    # The listing's own throttle (THROTTLE_USER, 50/s per user by default) would refuse a
    # benchmark's back-to-back requests; it still runs, at a rate this never reaches.
    os.environ["THROTTLE_USER"] = "1000000/s"
    with scratch_database(suffix, settings="http_settings"):
        from django.contrib.auth import get_user_model
        from django.test import Client
        from rest_framework.authtoken.models import Token

        print(f"machine: {machine()}", flush=True)
        overhead = bench_overhead(args.calls, args.rounds)
        print(f"overhead measured; load average {load()}", flush=True)
        writers = bench_writers(args.writers, args.writer_seconds, 2)
        print(f"writers measured; load average {load()}", flush=True)
        populated = populate(args.events, args.streams, args.days)
        print(f"{args.events:,} events written through the recorder in {populated:.0f}s "
              f"({args.events / populated:,.0f}/s); load average {load()}", flush=True)
        ops = get_user_model().objects.create(username="ops-bench", is_staff=True)
        token = Token.objects.create(user=ops).key
        client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
        brands = list(range(1, min(args.streams, 10) + 1))
        queries = bench_queries(client, token, brands, args.queries, args.deep_pages)
        exports = [("one brand's events", f"/api/v1/audit-events?format=csv&brand={brands[0]}"),
                   ("every event", "/api/v1/audit-events?format=csv")]
        exported = []
        for label, url in exports:
            rows, seconds, _ = bench_export(client, token, url, traced=False)
            exported.append((label, rows, seconds, bench_export(client, token, url, traced=True)[2]))
        clean_redis()

    print(f"\nAudit write overhead ({args.calls} single writes per side, {args.rounds} alternating rounds)")
    rows = []
    for label, name in (("create one grant (`grants_create`)", "create"), ("revoke one grant (`grant_revoke`)", "revoke")):
        on, off = percentiles(overhead[name]), percentiles(overhead[name + "_off"])
        rows.append([label, ms(on["p50"]), ms(off["p50"]), ms(on["p90"]), ms(off["p90"]), f"{on['p50'] / off['p50'] - 1:+.0%}"])
    print(table(["write", "p50 with audit (ms)", "p50 without (ms)", "p90 with (ms)", "p90 without (ms)", "overhead (p50)"], rows))
    print(f"\n{args.writers} concurrent writers (processes), one brand each, one grant per transaction, "
          f"{args.writer_seconds:.0f}s per run, median of 2 alternating runs")
    print(table(["", "writes/s with audit", "writes/s without", "overhead"], [[
        f"{args.writers} writers", f"{writers['on']:,.0f}", f"{writers['off']:,.0f}", f"{writers['off'] / writers['on'] - 1:+.0%}"]]))
    print(f"\nOps listing `GET /api/v1/audit-events?brand=B&since=<90 days ago>` at {args.events:,} events "
          f"({args.queries} requests each, brands rotating; deep = {args.deep_pages} pages of 50 in)")
    print(table(["page", "p50 (ms)", "p95 (ms)", "p99 (ms)", "max (ms)"], [
        [name, ms(percentiles(v)["p50"]), ms(percentiles(v)["p95"]), ms(percentiles(v)["p99"]), ms(percentiles(v)["max"])]
        for name, v in queries.items()]))
    print("\nCSV export (`?format=csv`, streamed to the end)")
    print(table(["export", "rows", "seconds", "rows/s", "peak Python memory (MiB)"], [
        [label, f"{rows:,}", f"{seconds:.1f}", f"{rows / seconds:,.0f}", f"{peak / 2**20:.1f}"]
        for label, rows, seconds, peak in exported]))
    print(f"load average {load()}")


if __name__ == "__main__":
    main()
