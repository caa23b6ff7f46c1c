"""``manage.py demo [--no-serve] [--port 8000] [--host 127.0.0.1]``: migrate, load the demo world
(once), print the logins, and serve with Django's development server."""
from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand

from demo.world import load_scenario, logins


class Command(BaseCommand):
    help = "Migrate, load the demo world once, print the logins and serve it."

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
        self.print_logins(host, port)
        if options["no_serve"]:
            return
        call_command("runserver", f"{host}:{port}", use_reloader=False)

    def print_logins(self, host: str, port: int) -> None:
        scenario = load_scenario()
        rows = logins(scenario)
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo: {url}  (every login's password: {scenario['password']})"))
        headers = ("role", "username", "password", "what to try")
        table = [headers] + [(r["role"], r["username"], r["password"], r["try"]) for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(3)]
        for index, row in enumerate(table):
            self.stdout.write("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
            if index == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths) + "  " + "-" * len(headers[3]))
        self.stdout.write("")
