"""``python manage.py fake_spapi --port 8100 --scenario path.json --speedup 50``: run the fake
SP-API server in the foreground until interrupted. It prints the environment that points the app
at it (``SPAPI_ENDPOINT``, ``SPAPI_LWA_TOKEN_URL``, ``SPAPI_CONSENT_URL``, the LWA client id and
secret and the app id of the scenario's ``lwa`` block, and the same ``SPAPI_RATE_SPEEDUP``)."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from spapi_client.config import get_config
from spapi_client.fake.server import BASIC_SCENARIO, FakeSpapi, ScenarioError


class Command(BaseCommand):
    help = "Run the fake SP-API / LWA / consent server (tests, demo, benchmarks). Never Amazon."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--scenario", default=str(BASIC_SCENARIO), help="scenario JSON file")
        parser.add_argument(
            "--speedup", type=float, default=None,
            help="multiply Amazon's rates by this (default: SPAPI_RATE_SPEEDUP, else 1); use the client's value",
        )
        parser.add_argument("--public-url", default=None, help="base URL clients reach it at (report document URLs)")

    def handle(self, *args, **options):
        speedup = options["speedup"] if options["speedup"] is not None else get_config().rate_speedup
        try:
            fake = FakeSpapi(
                options["scenario"], host=options["host"], port=options["port"], speedup=speedup,
                public_url=options["public_url"],
            )
        except (OSError, ValueError, ScenarioError) as exc:
            raise CommandError(f"cannot load scenario {options['scenario']}: {exc}") from exc
        self.stdout.write(
            f"fake SP-API on http://{options['host']}:{options['port']} "
            f"(scenario {options['scenario']}, speed-up {speedup:g}); Ctrl-C stops it"
        )
        self.stdout.write("Point the app at it with:")
        for name, value in fake.app_settings().items():
            self.stdout.write(f"  {name}={value:g}" if isinstance(value, float) else f"  {name}={value}")
        try:
            fake.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("stopped")
        except OSError as exc:
            raise CommandError(f"cannot serve on {options['host']}:{options['port']}: {exc}") from exc
