#!/usr/bin/env python3
"""The brand owner's pages at catalog scale: server time and query count, in-process (Django's
test client, logged in as the brand's owner; DEBUG off, templates cached).

One brand with ``--asins`` ASINs (default 10,000), each present in 3 marketplaces; 40 sellers;
3 grants per ASIN (ACTIVE; some pending approval, some ending within the "expiring soon"
window, some already ended), a few hundred pending requests and open unauthorized-offer
findings; 49 other brands of 200 ASINs each around it. Pages: the brand dashboard
(``/brands/<id>/``), the ASIN catalog's first page, a page deep in it, and a search.

Run: ``.venv/bin/python bench/bench_pages.py``. Makes and drops its own scratch database.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import time

from _setup import BENCH_REDIS_URL, load, machine, ms, percentiles, scratch_database, table

MARKETS = ("US", "DE", "UK")


def build(asins: int, others: int) -> tuple[int, object]:
    from _world import _copy
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from authorizations.models import AuthorizationRequest, UnauthorizedOffer
    from brands.models import Brand, BrandMembership, RegistryStatus, Role
    from sellers.models import Participation, Seller

    now = timezone.now()
    with transaction.atomic():
        brands = Brand.objects.bulk_create([Brand(name=f"Brand {b}", registry_number=f"PG-{b:04d}",
                                                  registry_status=RegistryStatus.ACTIVE) for b in range(1 + others)])
        brand = brands[0]
        owner = get_user_model().objects.create(username="owner-pages")
        BrandMembership.objects.create(brand=brand, user=owner, role=Role.OWNER)
        sellers = Seller.objects.bulk_create([Seller(seller_id=f"AP{i:010d}", name=f"Seller {i}", home_marketplace_id="US",
                                                     health_score=95, health_checked_at=now) for i in range(40)])
        Participation.objects.bulk_create([Participation(seller=s, marketplace_id=m) for s in sellers for m in MARKETS])
        with connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")  # consistent by construction
            counts = [(brand.pk, asins)] + [(b.pk, 200) for b in brands[1:]]
            _copy(cur.cursor, "brands_asin", ["brand_id", "asin", "gcid", "title", "category", "created_at", "updated_at"],
                  ((pk, f"P{bi:03d}{i:06d}", f"GP{bi:03d}{i:011d}", f"Item {i} of brand {bi}", "Home", now, now)
                   for bi, (pk, n) in enumerate(counts) for i in range(n)))
            cur.execute("SELECT id, brand_id FROM brands_asin ORDER BY id")
            rows = cur.fetchall()
            mine = [pk for pk, b in rows if b == brand.pk]
            _copy(cur.cursor, "brands_asinmarketplace", ["asin_id", "marketplace_id", "status", "verified_at",
                                                         "catalog_brand", "catalog_category"],
                  ((pk, m, "VERIFIED", now, "Brand", "Home") for pk, _b in rows for m in MARKETS))

            def grants():
                for n, asin_pk in enumerate(mine):
                    for k in range(3):
                        kind = (n * 3 + k) % 40
                        status = "PENDING_APPROVAL" if kind == 0 else "ACTIVE"
                        until = (now + dt.timedelta(days=10) if kind == 1 else now - dt.timedelta(days=3) if kind == 2
                                 else None)
                        yield (brand.pk, sellers[(n + 13 * k) % 40].pk, asin_pk, MARKETS[(n + k) % 3], status,
                               now - dt.timedelta(days=60 - n % 60), until, "", "", now - dt.timedelta(days=60 - n % 60),
                               now, "", "")
            _copy(cur.cursor, "authorizations_grant", ["brand_id", "seller_id", "asin_id", "marketplace_id", "status",
                                                       "valid_from", "valid_until", "reason", "letter_reference",
                                                       "created_at", "status_changed_at", "status_reason_code",
                                                       "status_reason"], grants())
        AuthorizationRequest.objects.bulk_create([
            AuthorizationRequest(brand=brand, seller=sellers[i % 40], asins=[f"P000{i:06d}"], marketplaces=["US"],
                                 created_at=now - dt.timedelta(days=i % 20)) for i in range(300)])
        UnauthorizedOffer.objects.bulk_create([
            UnauthorizedOffer(brand=brand, asin_id=mine[i], marketplace_id="US", offering_seller_id=f"AX{i:010d}",
                              first_seen_at=now - dt.timedelta(days=i % 80), last_seen_at=now) for i in range(500)])
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    return brand.pk, owner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asins", type=int, default=10_000)
    parser.add_argument("--others", type=int, default=49, help="other brands (200 ASINs each)")
    parser.add_argument("--requests", type=int, default=60, help="requests per page")
    args = parser.parse_args()

    os.environ["REDIS_URL"] = BENCH_REDIS_URL  # the cache of production: Redis
    os.environ["LOG_LEVEL"] = "WARNING"  # in process: a log line per request would bury the table
    with scratch_database("pages"):
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        brand_id, owner = build(args.asins, args.others)
        print(f"machine: {machine()}", flush=True)
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(owner)
        last = (args.asins + 49) // 50
        pages = [
            ("brand dashboard", f"/brands/{brand_id}/"),
            ("brand dashboard, first view after a change", f"/brands/{brand_id}/?after-a-change"),
            ("ASIN catalog, page 1", f"/brands/{brand_id}/asins/"),
            (f"ASIN catalog, page {last // 2}", f"/brands/{brand_id}/asins/?page={last // 2}"),
            ("ASIN catalog, search", f"/brands/{brand_id}/asins/?q=Item+12"),
        ]
        samples: dict[str, list[float]] = {label: [] for label, _ in pages}
        queries: dict[str, int] = {}
        sizes: dict[str, int] = {}
        slowest: dict[str, list[dict]] = {}
        def touch() -> None:
            """A change to the brand, as any audited write makes: the dashboard's figures are
            read anew on the next view."""
            from audit.context import Actor
            from audit.services import EventSpec, record
            from django.db import transaction

            with transaction.atomic():
                record(Actor.command("bench"), EventSpec("brand.updated", "brand", str(brand_id), brand_id=brand_id))

        def get(url: str):
            if url.endswith("?after-a-change"):
                touch()
            return client.get(url)

        for label, url in pages:
            response = get(url)
            assert response.status_code == 200, (url, response.status_code)
            if url.endswith("?after-a-change"):
                touch()
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            queries[label], sizes[label] = len(captured), len(response.content)
            slowest[label] = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:3]
        for n in range(args.requests):
            for label, url in pages if n % 2 == 0 else pages[::-1]:
                if url.endswith("?after-a-change"):
                    touch()
                start = time.perf_counter()
                client.get(url)
                samples[label].append(time.perf_counter() - start)

    print(f"\nPages of a brand with {args.asins:,} ASINs ({args.asins * 3:,} grants), {args.requests} requests each, "
          f"alternating; load average {load()}")
    print(table(["page", "queries", "p50 (ms)", "p90 (ms)", "p99 (ms)", "HTML (KiB)"], [
        [label, queries[label], ms(percentiles(v)["p50"]), ms(percentiles(v)["p90"]), ms(percentiles(v)["p99"]),
         f"{sizes[label] / 1024:.0f}"] for label, v in samples.items()]))
    print("\nSlowest queries of each page (one request):")
    for label, captured in slowest.items():
        for query in captured:
            print(f"- {label}: {float(query['time']) * 1000:.1f} ms  {query['sql'][:160]}")


if __name__ == "__main__":
    main()
