#!/usr/bin/env python3
"""SP-API sync against Amazon's usage plan: how close to the plan's ceiling two workers run, and
how many calls Amazon (here: the fake) answers 429.

- catalog verification of 2,000 ASINs in one marketplace (US): 100 ``searchCatalogItems`` calls of
  20 ASINs (plan 2/s, burst 2), as 4 brand runs of 500 ASINs;
- offers monitoring of 500 ASINs: 25 ``getItemOffersBatch`` calls of 20 requests (plan 0.1/s,
  burst 1), as 5 brand runs of 100 ASINs.

Every brand is on one SP-API account, so both workers draw on one (seller, operation) bucket.

Set-up, all its own: a scratch PostgreSQL database (``sellerauth_bench_sync``, see _setup.py);
the real Redis token bucket (``BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/13``) under a
key prefix of its own, deleted afterwards; per phase, the project's fake SP-API on loopback,
enforcing Amazon's plans × a speed-up, and two worker processes (forked, one database connection
each, warmed up like a worker that has run a task before) that take run ids from one queue and run
the Celery task ``brands.sync_brand`` on them, as two Celery workers with prefetch 1 would.

The speed-up applies to what Amazon decides (its rates, and the client's back-off after a 429);
our own work is not sped up, so it is chosen per phase to keep the rate limit, not our work, the
bottleneck: ×2 for the catalog (4 calls/s; each call and its write take ~150 ms here), ×10 for
offers (one call a second). Both phases take ~25 s.

Measured per phase, from the fake's per-operation counters: calls served and answered 429, and
the wall time T from handing the runs to the workers to the last run's end. The plan's ceiling
over T is ``rate × speed-up × T + burst`` calls; achieved = served / ceiling. The same over the
span from the first to the last call the fake counted (read every 20 ms) leaves out the first
run's set-up and the last batch's write.

Run: ``.venv/bin/python bench/bench_sync.py [--catalog-speedup 2] [--offers-speedup 10]``.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import sys
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sellerauth_bench_sync")
sys.path.insert(0, str(ROOT))

from _setup import machine, scratch_database

from spapi_client.fake import FakeSpapi  # (no Django needed)
from spapi_client.ratelimit import USAGE_PLANS

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
US = "ATVPDKIKX0DER"
ACCOUNT = "A1BENCHBRANDCO"
RESELLER = "A9BENCHRESELL9"  # offers every monitored ASIN without a grant: one finding each
REFRESH_TOKEN = "Atzr|bench-sync-account"
WORKERS = 2


@dataclass(frozen=True)
class Phase:
    label: str
    operation: str
    kind: str  # the SyncRun kind of each brand run
    brands: int
    asins_per_brand: int
    prefix: str  # ASIN codes: prefix + number

    def codes(self, brand: int) -> list[str]:
        first = brand * self.asins_per_brand
        return [f"{self.prefix}{n:0{10 - len(self.prefix)}d}" for n in range(first, first + self.asins_per_brand)]

    def brand_name(self, brand: int) -> str:
        return f"Bench {self.prefix} {brand + 1}"


CATALOG = Phase("catalog verification, 2,000 ASINs in US", "searchCatalogItems", "brand.catalog", 4, 500, "B0CAT")
OFFERS = Phase("offers monitoring, 500 ASINs in US", "getItemOffersBatch", "brand.offers", 5, 100, "B0OFF")


def scenario() -> dict:
    catalog, offers = {}, {}
    for phase in (CATALOG, OFFERS):
        for index in range(phase.brands):
            for code in phase.codes(index):
                catalog[code] = {US: {"brand": phase.brand_name(index), "title": f"Item {code}",
                                      "classification": ["Sports & Outdoors", "Camping"]}}
    for index in range(OFFERS.brands):
        for code in OFFERS.codes(index):
            offers[code] = {US: [{"seller_id": ACCOUNT, "price": 24.99, "buy_box": True, "fba": True},
                                 {"seller_id": RESELLER, "price": 19.99}]}
    return {"lwa": {"client_id": "amzn1.application-oa2-client.bench", "client_secret": "bench-secret",
                    "app_id": "amzn1.sp.solution.bench"},
            "sellers": {ACCOUNT: {"name": "Bench Brands Co", "refresh_token": REFRESH_TOKEN, "participations": [US]}},
            "catalog": catalog, "offers": offers}


def build_world() -> dict[Phase, list[str]]:
    """The SP-API account, connected; the brands and their ASINs listed in US; one run per brand."""
    from django.utils import timezone

    from brands.models import Asin, AsinMarketplace, Brand, RegistryStatus
    from sellers import crypto
    from sellers.models import Participation, Seller, SellerConnection
    from spapi_client.runs import run_create

    account = Seller.objects.create(seller_id=ACCOUNT, name="Bench Brands Co", home_marketplace_id="US")
    Participation.objects.create(seller=account, marketplace_id="US")
    SellerConnection.objects.create(seller=account, refresh_token_encrypted=crypto.encrypt(REFRESH_TOKEN),
                                    connected_at=timezone.now())
    runs: dict[Phase, list[str]] = {}
    for phase in (CATALOG, OFFERS):
        runs[phase] = []
        for index in range(phase.brands):
            brand = Brand.objects.create(name=phase.brand_name(index), registry_number=f"BENCH-{phase.prefix}-{index}",
                                         registry_status=RegistryStatus.ACTIVE, spapi_account=account)
            asins = Asin.objects.bulk_create([Asin(brand=brand, asin=code, gcid=f"GC{code}".ljust(16, "0"),
                                                   title=f"Item {code}", category="Sports & Outdoors")
                                              for code in phase.codes(index)])
            AsinMarketplace.objects.bulk_create([AsinMarketplace(asin=a, marketplace_id="US") for a in asins])
            runs[phase].append(str(run_create(kind=phase.kind, brand=brand).pk))
    return runs


def worker(ready, tasks, done) -> None:
    """One Celery-worker equivalent: warms up, waits for the others, then runs run ids until ``None``."""
    from django.db import connection

    from brands.tasks import sync_brand

    try:
        warm_up()
        ready.wait(timeout=60)
        while (run_id := tasks.get()) is not None:
            try:
                sync_brand.apply(args=[run_id])
                done.put((run_id, None))
            except Exception:  # noqa: BLE001 - reported by the parent
                done.put((run_id, traceback.format_exc()))
    finally:
        connection.close()


def run_phase(phase: Phase, run_ids: list[str], speedup: float) -> dict:
    """Serve the fake at ``speedup``, point the settings at it, and let two fresh workers run the phase."""
    from django.conf import settings
    from django.db import connections

    fake = FakeSpapi(scenario(), speedup=speedup).start()
    try:
        values = {**fake.app_settings(), "SPAPI_BACKOFF_INITIAL": 1.0 / speedup, "SPAPI_BACKOFF_MAX": 30.0 / speedup}
        for name, value in values.items():  # production's back-off is 1 s, then doubling up to 30 s
            setattr(settings, name, value)
        connections.close_all()  # the workers must not share the parent's socket
        context = multiprocessing.get_context("fork")
        ready, tasks, done = context.Barrier(WORKERS + 1), context.Queue(), context.Queue()
        workers = [context.Process(target=worker, args=(ready, tasks, done)) for _ in range(WORKERS)]
        for process in workers:
            process.start()
        try:
            ready.wait(timeout=60)
            started = time.monotonic()
            for run_id in run_ids:
                tasks.put(run_id)
            first_call, last_call, crashed = watch(fake, phase.operation, done, len(run_ids))
            elapsed = time.monotonic() - started
        finally:
            for _ in workers:
                tasks.put(None)
            for process in workers:
                process.join(timeout=30)
        if crashed:
            raise SystemExit(f"{phase.label}: a worker crashed:\n{crashed[0]}")
        stats = fake.stats()[phase.operation]
    finally:
        fake.stop()
    check_runs(run_ids)
    rate, burst = USAGE_PLANS[phase.operation]
    served, throttled = stats["served"], stats["throttled"]
    ceiling = rate * speedup * elapsed + burst
    span = last_call - first_call
    return {"speedup": speedup, "rate": rate, "burst": burst, "served": served, "throttled": throttled,
            "throttled_share": throttled / (served + throttled), "elapsed": elapsed, "ceiling": ceiling,
            "achieved": served / ceiling, "span": span, "span_achieved": served / (rate * speedup * span + burst)}


def warm_up() -> None:
    """Make a fresh worker process like a Celery worker that has run a task before (one lives for
    many): the Celery app finalised, a database connection, the modules a sync imports on first
    use, its HTTP client and Redis script, and the account's LWA access token cached — by one
    participations call to the fake, which is not an operation the phases count."""
    from django.db import connection

    from authorizations import findings  # noqa: F401  (imported by the first offers sync)
    from brands.tasks import sync_brand
    from spapi_client import operations
    from spapi_client.client import SpapiConnection

    sync_brand.app.finalize(auto=True)
    connection.ensure_connection()
    operations.get_marketplace_participations(SpapiConnection(seller_id=ACCOUNT, refresh_token=REFRESH_TOKEN))


def watch(fake: FakeSpapi, operation: str, done, runs: int) -> tuple[float, float, list[str]]:
    """Wait for the runs, reading the fake's counters of ``operation`` every 20 ms:
    when they first and last moved, and the workers' crash reports."""
    first = last = 0.0
    seen, finished, crashed = 0, 0, []
    while finished < runs:
        try:
            _run_id, error = done.get(timeout=0.02)
        except queue.Empty:
            pass
        else:
            finished += 1
            crashed += [error] if error else []
        counts = fake.stats()[operation]
        if counts["served"] + counts["throttled"] != seen:
            seen = counts["served"] + counts["throttled"]
            last = time.monotonic()
            first = first or last
    return first, last, crashed


def check_runs(run_ids: list[str]) -> None:
    """Every run of the phase must have succeeded."""
    from spapi_client.models import SyncRun, SyncStatus

    runs = list(SyncRun.objects.filter(pk__in=run_ids))
    failed = [f"{r.kind} {r.status}: {r.error}" for r in runs if r.status != SyncStatus.SUCCESS]
    if failed or len(runs) != len(run_ids):
        raise SystemExit("runs did not succeed:\n" + "\n".join(failed))


def delete_buckets(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalog-speedup", type=float, default=2.0, help="Amazon's rates × this for the catalog")
    parser.add_argument("--offers-speedup", type=float, default=10.0, help="Amazon's rates × this for offers")
    options = parser.parse_args()
    prefix = f"bench-sync-rl:{uuid.uuid4().hex[:12]}"
    os.environ.update({"REDIS_URL": REDIS_URL, "SPAPI_RATELIMIT_PREFIX": prefix})
    try:
        with scratch_database():
            runs = build_world()
            print(f"machine: {machine()}; Redis {REDIS_URL.rsplit('/', 1)[0]}; {WORKERS} worker processes")
            results = [(CATALOG, run_phase(CATALOG, runs[CATALOG], options.catalog_speedup)),
                       (OFFERS, run_phase(OFFERS, runs[OFFERS], options.offers_speedup))]
            print_table(results)
    finally:
        delete_buckets(prefix)


def print_table(results: list[tuple[Phase, dict]]) -> None:
    print("\n| phase (2 workers) | operation: plan × speed-up | calls served | answered 429 (share) "
          "| wall time (s) | ceiling: rate × time + burst | achieved | first → last call (s) | achieved in between |")
    print("|---|---|---|---|---|---|---|---|---|")
    for phase, m in results:
        print(f"| {phase.label} | `{phase.operation}`: {m['rate']:g}/s, burst {m['burst']}, × {m['speedup']:g} "
              f"| {m['served']} | {m['throttled']} ({m['throttled_share']:.1%}) | {m['elapsed']:.2f} "
              f"| {m['ceiling']:.1f} | **{m['achieved']:.1%}** | {m['span']:.2f} | {m['span_achieved']:.1%} |")


if __name__ == "__main__":
    main()
