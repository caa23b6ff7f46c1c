#!/usr/bin/env python3
"""First measurements of the domain core on PostgreSQL (one run, side by side):

1. bulk grant: one seller x 5,000 ASINs x 2 marketplaces = 10,000 grants through
   ``grants_create`` (every rule, locks, audit events) vs the same rows by a raw bulk INSERT;
2. the check selector on 100,000 live grants vs the floor: one primary-key lookup through the
   same Django connection.

Run: ``.venv/bin/python bench/bench_grants.py`` (needs the local PostgreSQL; makes and drops its
own scratch database).
"""
from __future__ import annotations

import random
import time

from _setup import machine, percentiles, scratch_database

ASINS = 5_000
MARKETS = ("US", "DE")
ROUNDS = 3
CHECKS = 5_000


def build_world():
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
    brand = Brand.objects.create(name="Bench Brand", registry_number="BENCH-1", registry_status=RegistryStatus.ACTIVE)
    asins = Asin.objects.bulk_create(
        [Asin(brand=brand, asin=f"B0{i:08d}", gcid=f"GC{i:014d}", title=f"Item {i}", category="Home") for i in range(ASINS)]
    )
    AsinMarketplace.objects.bulk_create(
        [AsinMarketplace(asin=a, marketplace_id=m, status=PresenceStatus.VERIFIED, verified_at=now, catalog_brand=brand.name)
         for a in asins for m in MARKETS]
    )
    sellers = Seller.objects.bulk_create(
        [Seller(seller_id=f"A{i:012d}", name=f"Seller {i}", home_marketplace_id="US", health_score=97,
                health_checked_at=now) for i in range(12)]
    )
    Participation.objects.bulk_create([Participation(seller=s, marketplace_id=m) for s in sellers for m in MARKETS])
    SellerConnection.objects.bulk_create(
        [SellerConnection(seller=s, refresh_token_encrypted=crypto.encrypt("Atzr|bench"), connected_at=now) for s in sellers]
    )
    return brand, asins, sellers


def raw_insert(brand, seller, asins) -> None:
    from django.db import connection, transaction
    from django.utils import timezone
    from psycopg2.extras import execute_values

    now = timezone.now()
    rows = [(brand.pk, seller.pk, a.pk, m, "ACTIVE", now, None, "", "", now, now, "", "") for a in asins for m in MARKETS]
    with transaction.atomic(), connection.cursor() as cur:
        execute_values(
            cur.cursor,
            "INSERT INTO authorizations_grant (brand_id, seller_id, asin_id, marketplace_id, status, valid_from,"
            " valid_until, reason, letter_reference, created_at, status_changed_at, status_reason_code, status_reason)"
            " VALUES %s",
            rows,
            page_size=2000,
        )


def clear_grants(seller) -> None:
    from authorizations.models import Grant

    Grant.objects.filter(seller=seller).delete()


def bench_bulk(brand, asins, seller) -> tuple[list[float], list[float]]:
    from audit.context import Actor
    from authorizations.services import grants_create

    codes = [a.asin for a in asins]
    ours, raw = [], []
    for _ in range(ROUNDS):  # alternate, so both see the same table and cache state
        start = time.perf_counter()
        result = grants_create(actor=Actor.command("bench"), brand=brand, seller=seller, asins=codes,
                               marketplaces=list(MARKETS))
        ours.append(time.perf_counter() - start)
        assert len(result.created) == ASINS * len(MARKETS)
        clear_grants(seller)
        start = time.perf_counter()
        raw_insert(brand, seller, asins)
        raw.append(time.perf_counter() - start)
        clear_grants(seller)
    return ours, raw


def bench_check(brand, asins, sellers) -> tuple[dict, dict, int]:
    from django.db import connection

    from authorizations.models import Grant
    from authorizations.selectors import check

    for seller in sellers[:10]:  # 10 sellers x 5,000 ASINs x 2 marketplaces = 100,000 live grants
        raw_insert(brand, seller, asins)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    total = Grant.objects.count()
    rng = random.Random(7)
    probes = [(rng.choice(sellers[:10]).seller_id, rng.choice(asins).asin, rng.choice(MARKETS)) for _ in range(CHECKS)]
    ids = list(Grant.objects.values_list("id", flat=True)[:CHECKS])
    ours, floor = [], []
    for (seller_id, asin, market), grant_id in zip(probes, ids):
        start = time.perf_counter()
        verdict = check(seller_id=seller_id, asin=asin, marketplace=market)
        ours.append(time.perf_counter() - start)
        assert verdict.authorized
        start = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("SELECT id, status, valid_until FROM authorizations_grant WHERE id = %s", [grant_id])
            cur.fetchone()
        floor.append(time.perf_counter() - start)
    return percentiles(ours), percentiles(floor), total


def main() -> None:
    with scratch_database():
        brand, asins, sellers = build_world()
        print(f"machine: {machine()}")
        ours, raw = bench_bulk(brand, asins, sellers[11])
        best_ours, best_raw = min(ours), min(raw)
        print("\n| bulk grant of 10,000 rows | best of 3 (s) | median (s) |\n|---|---|---|")
        print(f"| grants_create (rules + locks + audit) | {best_ours:.3f} | {sorted(ours)[1]:.3f} |")
        print(f"| raw bulk INSERT | {best_raw:.3f} | {sorted(raw)[1]:.3f} |")
        print(f"ratio (best): {best_ours / best_raw:.2f}x the raw INSERT")
        check_ours, check_floor, total = bench_check(brand, asins, sellers)
        print(f"\n| check selector on {total:,} grants, {CHECKS:,} calls | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) |")
        print("|---|---|---|---|---|")
        for label, stats in (("check()", check_ours), ("floor: PK lookup, same connection", check_floor)):
            print(f"| {label} | " + " | ".join(f"{stats[k] * 1000:.3f}" for k in ("p50", "p90", "p99", "max")) + " |")
        print(f"ratio (p50): {check_ours['p50'] / check_floor['p50']:.2f}x the floor")


if __name__ == "__main__":
    main()
