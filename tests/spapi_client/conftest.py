"""The fake SP-API on loopback for every test here; settings point the client at it.

No test reaches Amazon: SPAPI_ENDPOINT, SPAPI_LWA_TOKEN_URL and SPAPI_CONSENT_URL are the fake's.
Each test gets its own rate-limit key prefix in Redis (REDIS_URL, e.g. redis://127.0.0.1:6379/15),
deleted afterwards, a reset fake (buckets, faults, counters, reports) and empty token caches.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from spapi_client.client import SpapiConnection, clear_token_cache
from spapi_client.fake import BASIC_SCENARIO, FakeSpapi
from tests.helpers import delete_redis_keys, redis_client

SPEEDUP = 50
MODELS = Path(__file__).resolve().parents[3] / "shared" / "spapi-models"
SCENARIO: dict[str, Any] = json.loads(BASIC_SCENARIO.read_text(encoding="utf-8"))

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
UK = "A1F83G8C2ARO7P"
DE = "A1PA6795UKMFR9"

HEALTHY = "A2HEALTHYSELL01"
INFRINGER = "A3INFRINGER0002"
FATAL = "A1FATALREPORT03"
EXAMPLE = "A4AMZNEXAMPLE04"
BRAND_OWNER = "A5BRANDOWNER005"


def refresh_token(seller_id: str) -> str:
    return SCENARIO["sellers"][seller_id]["refresh_token"]


def connection(seller_id: str, marketplace_id: str = US) -> SpapiConnection:
    return SpapiConnection(seller_id=seller_id, refresh_token=refresh_token(seller_id), marketplace_id=marketplace_id)


def sandbox_examples(model_file: str, operation_id: str, status: str = "200") -> list[Any]:
    """Amazon's own ``x-amzn-api-sandbox`` static responses for an operation."""
    model = json.loads((MODELS / model_file).read_text(encoding="utf-8"))
    for methods in model["paths"].values():
        for operation in methods.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                sandbox = operation["responses"][status]["x-amzn-api-sandbox"]["static"]
                return [entry["response"] for entry in sandbox]
    raise LookupError(operation_id)


@pytest.fixture(scope="session")
def fake():
    server = FakeSpapi(BASIC_SCENARIO, speedup=SPEEDUP).start()
    yield server
    server.stop()


def point_at(settings, server: FakeSpapi) -> None:
    """The app's SP-API settings → ``server`` (URLs, LWA client, its rate speed-up)."""
    for name, value in server.app_settings().items():
        setattr(settings, name, value)


@pytest.fixture(autouse=True)
def spapi_settings(settings, fake):
    from django.conf import settings as django_settings

    point_at(settings, fake)
    settings.SITE_URL = "http://testserver.local"
    settings.SPAPI_MAX_ATTEMPTS = 4
    settings.SPAPI_BACKOFF_INITIAL = 0.01
    settings.SPAPI_BACKOFF_MAX = 0.05
    settings.SPAPI_TIMEOUT = 2.0
    settings.SPAPI_RATE_MAX_WAIT = 10.0
    settings.SPAPI_APP_DRAFT = False
    prefix = f"test-spapi-rl:{uuid.uuid4().hex[:12]}"
    settings.SPAPI_RATELIMIT_PREFIX = prefix
    clear_token_cache()
    fake.reset()
    yield
    clear_token_cache()
    delete_redis_keys(django_settings.REDIS_URL, prefix)


@pytest.fixture
def redis_url(settings) -> str:
    """REDIS_URL of the run (the Redis bucket tests need one); skipped without a reachable Redis."""
    url = settings.REDIS_URL
    if not url:
        pytest.skip("needs REDIS_URL (e.g. redis://127.0.0.1:6379/15)")
    try:
        redis_client(url)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis at REDIS_URL unreachable: {type(exc).__name__}")
    return url


@pytest.fixture
def healthy() -> SpapiConnection:
    return connection(HEALTHY)
