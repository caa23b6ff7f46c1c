#!/usr/bin/env python3
"""Throughput of ``audit_verify()`` on PostgreSQL: events verified per second.

Writes ``--events`` events over ``--streams`` brand streams through the recorder, then times
full verifications. Run: ``.venv/bin/python bench/bench_audit_verify.py --events 100000`` (needs
the local PostgreSQL; makes and drops its own scratch database, see ``_setup.py``).
"""
from __future__ import annotations

import argparse
import time

from _setup import machine, scratch_database

BATCH = 500


def populate(total: int, streams: int) -> None:
    from django.db import transaction

    from audit.context import Actor
    from audit.services import event, record_many

    actor = Actor.command("bench_audit_verify")
    for start in range(0, total, BATCH):
        specs = [
            event(
                "grant.created", object_type="grant", object_id=n, brand_id=n % streams + 1,
                seller_id=f"A{n % 977:012d}", reason="bench",
                after={"asin": f"B0{n:08d}", "marketplace": "US", "status": "active", "valid_until": None},
            )
            for n in range(start, min(start + BATCH, total))
        ]
        with transaction.atomic():
            record_many(actor, specs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with scratch_database():
        from django.db import connection

        from audit.selectors import audit_verify

        started = time.perf_counter()
        populate(args.events, args.streams)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE audit_auditevent")
        print(f"{machine()}; wrote {args.events} events in {args.streams} streams in "
              f"{time.perf_counter() - started:.1f}s")
        rates = []
        for _ in range(args.runs):
            started = time.perf_counter()
            result = audit_verify()
            rates.append(result.checked / (time.perf_counter() - started))
            assert result.ok and result.checked == args.events, result.problems[:3]
        print("verify: " + ", ".join(f"{rate:,.0f}" for rate in rates) + f" events/s (best {max(rates):,.0f})")


if __name__ == "__main__":
    main()
