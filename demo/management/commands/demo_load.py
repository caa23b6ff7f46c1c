"""``manage.py demo_load``: load the demo world (``demo/scenario.json``) into the current database.

Idempotent: when the world is already there it says so and changes nothing.
"""
from __future__ import annotations

from django.core.management.base import BaseCommand

from demo.world import load_world


class Command(BaseCommand):
    help = "Load the demo world (brands, ASINs, sellers, grants, requests, audit history) once."

    def handle(self, *args, **options) -> None:
        log = self.stdout.write if options["verbosity"] >= 2 else None  # -v 2: each step and its time
        result = load_world(log=log)
        if not result.loaded:
            self.stdout.write("demo data already loaded")
            return
        c = result.counts
        grants = ", ".join(f"{n} {status.lower()}" for status, n in sorted(c["grants"].items()))
        brand_sellers = ", ".join(f"{name} {n}" for name, n in c["brand_sellers"].items())
        self.stdout.write(self.style.SUCCESS(f"Demo world loaded in {result.seconds:.1f} s:"))
        for line in (
            f"  {c['brands']} brands, {c['asins']} ASINs, {c['sellers']} sellers "
            f"({c['sellers_below_min_health']} below the health minimum, {c['sellers_with_infringements']} with infringements)",
            f"  grants: {grants}",
            f"  {c['grants_expiring_soon']} grants expiring within 14 days; {c['grants_expired_unwritten']} past their term "
            f"but not yet marked expired by the periodic task",
            f"  live sellers per brand: {brand_sellers}; {c['asins_at_seller_limit']} ASINs at their seller limit",
            f"  {c['requests_pending']} pending requests; {c['audit_events']} audit events",
        ):
            self.stdout.write(line)
