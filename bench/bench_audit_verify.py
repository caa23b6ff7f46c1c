"""Measure ``audit_verify()`` throughput on a scratch database it creates and drops itself.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sellerauth_bench \
        .venv/bin/python bench/bench_audit_verify.py --events 100000

The scratch database is Django's test database for DATABASE_URL (``test_<name>``), so the
named database itself is never touched.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from audit.context import Actor  # noqa: E402
from audit.selectors import audit_verify  # noqa: E402
from audit.services import event, record_many  # noqa: E402

BATCH = 500


def populate(total: int, streams: int) -> None:
    actor = Actor.command("bench_audit_verify")
    for start in range(0, total, BATCH):
        specs = [
            event(
                "grant.created",
                object_type="grant",
                object_id=n,
                brand_id=n % streams + 1,
                seller_id=f"A{n % 977:012d}",
                before=None,
                after={"asin": f"B0{n:08d}", "marketplace": "US", "status": "active", "valid_until": None},
                reason="bench",
            )
            for n in range(start, min(start + BATCH, total))
        ]
        with transaction.atomic():
            record_many(actor, specs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        populate(args.events, args.streams)
        print(f"{connection.vendor}: wrote {args.events} events in {time.perf_counter() - started:.1f}s")
        for _ in range(args.runs):
            started = time.perf_counter()
            result = audit_verify()
            elapsed = time.perf_counter() - started
            assert result.ok and result.checked == args.events, result.problems
            print(f"verified {result.checked} events in {elapsed:.3f}s: {result.checked / elapsed:,.0f} events/s")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
