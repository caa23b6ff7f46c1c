"""``manage.py demo [--no-serve] [--port 8000] [--host 127.0.0.1]``: migrate, load the demo world
(once), print the logins, and serve with Django's development server, with the fake SP-API
(:mod:`demo.spapi`) standing in for Amazon on a free loopback port while it serves."""
from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand

from demo.spapi import RATE_SPEEDUP, fake_spapi_running
from demo.world import load_scenario, logins
from spapi_client.fake import FakeSpapi


class Command(BaseCommand):
    help = "Migrate, load the demo world once, print the logins and serve it (with a fake SP-API)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="Prepare the database, print the logins, and stop.")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, **options) -> None:
        host, port = options["host"], options["port"]
        verbosity = options["verbosity"]
        self.stdout.write("Migrating the database ...")
        call_command("migrate", interactive=False, verbosity=max(0, verbosity - 1), stdout=self.stdout)
        call_command("demo_load", verbosity=verbosity, stdout=self.stdout)
        site_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        scenario = load_scenario()
        self.print_logins(scenario, site_url)
        if options["no_serve"]:
            return
        with fake_spapi_running(site_url=site_url, scenario=scenario) as fake:
            self.print_fake_spapi(scenario, fake)
            call_command("runserver", f"{host}:{port}", use_reloader=False)

    def print_logins(self, scenario: dict, site_url: str) -> None:
        rows = logins(scenario)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo: {site_url}/  (every login's password: {scenario['password']})"))
        headers = ("role", "username", "password", "what to try")
        table = [headers] + [(r["role"], r["username"], r["password"], r["try"]) for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(3)]
        for index, row in enumerate(table):
            self.stdout.write("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
            if index == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths) + "  " + "-" * len(headers[3]))
        self.stdout.write("")

    def print_fake_spapi(self, scenario: dict, fake: FakeSpapi) -> None:
        first = scenario["amazon"]["to_connect"][0]
        others = [s for s in scenario["sellers"]["named"] if s.get("disconnected_days_ago")]
        self.stdout.write(self.style.SUCCESS(
            f"Fake SP-API (Amazon, LWA and the Seller Central consent page): {fake.url}  "
            f"(Amazon's rate limits × {RATE_SPEEDUP})"))
        self.stdout.write(f"  Connecting a Seller Central account signs in as {first['name']} ({first['seller_id']}).")
        for seller in others:
            self.stdout.write(
                f"  To reconnect {seller['name']} instead: curl -X POST {fake.url}/_fake/consent "
                f"-d '{{\"seller_id\": \"{seller['seller_id']}\"}}'")
        self.stdout.write("  \"Sync now\" on a seller or a brand asks it (the sync runs in the request: Celery is eager).")
        self.stdout.write("")
