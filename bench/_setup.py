"""Shared set-up for benchmarks: a scratch PostgreSQL database, created and dropped by the script.

Benchmarks run against the local PostgreSQL (``BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/sellerauth_bench``), never against a database you care about.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sellerauth_bench")


def _admin_connection(suffix: str = ""):
    import psycopg2

    url = urlparse(BENCH_URL)
    conn = psycopg2.connect(host=url.hostname, port=url.port or 5432, user=url.username or "postgres",
                            password=url.password or None, dbname="postgres")
    conn.autocommit = True
    return conn, url.path.lstrip("/") + (f"_{suffix}" if suffix else "")


def scratch_url(suffix: str = "") -> str:
    """The URL of the scratch database of ``suffix`` (one per script, so two scripts never clash)."""
    url = urlparse(BENCH_URL)
    name = url.path.lstrip("/") + (f"_{suffix}" if suffix else "")
    return url._replace(path="/" + name).geturl()


@contextlib.contextmanager
def scratch_database(suffix: str = "", *, settings: str = "config.settings.dev") -> Iterator[None]:
    """Create the scratch database, configure Django on it, migrate; drop it afterwards.

    ``suffix`` names a database of the script's own (``sellerauth_bench_<suffix>``)."""
    conn, name = _admin_connection(suffix)
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = scratch_url(suffix)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    os.environ["DEBUG"] = "0"
    if not settings.startswith("http_"):  # the production settings insist on a broker
        os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        yield
    finally:
        connections.close_all()
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": q[49], "p90": q[89], "p95": q[94], "p99": q[98], "max": ordered[-1]}


def machine() -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    return f"{os.cpu_count()} cores, PostgreSQL {pg}, Python {sys.version.split()[0]}, load average {load()}"


def load() -> str:
    """The 1-minute load average (other work shares these cores: read absolute times with it)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def table(header: list[str], rows: list[list[object]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# -- the production settings, for the HTTP benchmarks -------------------------------------------

BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
CACHE_PREFIX = "sellerauth-bench"  # bench/http_settings.py puts the cache (throttle buckets) under it


def production_environment(suffix: str) -> dict[str, str]:
    """What config.settings.production insists on, for bench/http_settings.py (which extends
    it): a throwaway secret and encryption key, the scratch database, the local Redis."""
    from cryptography.fernet import Fernet

    return {
        "DJANGO_SETTINGS_MODULE": "http_settings",
        "DATABASE_URL": scratch_url(suffix),
        "SECRET_KEY": "bench-" + os.urandom(24).hex(),
        "CELERY_BROKER_URL": BENCH_REDIS_URL,
        "REDIS_URL": BENCH_REDIS_URL,
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DEBUG": "0",
    }


def clean_redis() -> None:
    """Remove the benchmark's cache keys (throttle buckets) from Redis."""
    try:
        import redis

        client = redis.Redis.from_url(BENCH_REDIS_URL, socket_connect_timeout=1)
        keys = list(client.scan_iter(match=f"{CACHE_PREFIX}:*"))
        if keys:
            client.delete(*keys)
    except Exception as exc:  # noqa: BLE001 - a leftover bucket expires by itself
        print(f"(could not clean Redis: {exc})")
