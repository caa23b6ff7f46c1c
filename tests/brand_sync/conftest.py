"""Brand syncs against the fake SP-API over real HTTP (a server of this folder's own, on loopback,
with ``scenario.json`` plus the 45 ASINs of the brand Bulkco), at a high rate speed-up.

The world (``world`` fixture)::

    brand Acme (ACTIVE)  owner_a, manager_a, viewer_a; SP-API account A5BRANDOWNER005 (connected)
        B0ACME0001 US, UK   B0ACME0002 US   B0ACME0003 US, UK   B0ACME0004 US (category Kitchen)
        B0ACME0005 US       B0ACME0006 US, DE                   — every presence UNVERIFIED
    brand Bravo (ACTIVE) owner_b; no SP-API account
    seller A2AUTHSELLER01 "Northwind Outlet" (partner): ACTIVE grant B0ACME0001/US; ACTIVE grant
        B0ACME0001/UK whose term has ended
    seller A8SUSPENDED008 "Suspended Shop": SUSPENDED grant B0ACME0002/US
    ops (is_staff), anonymous

What Amazon says (scenario.json): see the expectations in the tests. Every test starts with the
scenario reloaded (no faults, empty counters and buckets), its own rate-limit keys in Redis
(REDIS_URL) and empty token caches.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import httpx
import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from authorizations.models import Grant, GrantStatus
from brands.models import Asin, AsinMarketplace, Brand, RegistryStatus, Role
from brands.tasks import sync_brand
from sellers.crypto import encrypt
from sellers.models import SellerConnection
from spapi_client.client import clear_token_cache
from spapi_client.fake import FakeSpapi
from spapi_client.models import SyncKind, SyncRun
from spapi_client.runs import run_create
from tests.helpers import token_client
from tests.factories import BrandFactory, BrandMembershipFactory, SellerFactory, SellerMembershipFactory, UserFactory

SPEEDUP = 1000
HERE = Path(__file__).resolve().parent
US, UK, DE = "ATVPDKIKX0DER", "A1F83G8C2ARO7P", "A1PA6795UKMFR9"
BRAND_ACCOUNT = "A5BRANDOWNER005"
BULK_ACCOUNT = "A6BULKCOACCT06"
AUTHORIZED = "A2AUTHSELLER01"
UNAUTHORIZED = "A9UNAUTHSELL09"
SUSPENDED = "A8SUSPENDED008"
BULK_ASINS = [f"B0BULK{n:04d}" for n in range(1, 46)]
BULK_MISSING_IN_US = {"B0BULK0007", "B0BULK0031"}  # not in the US catalog
ROLES = ("owner_a", "manager_a", "viewer_a", "owner_b", "partner", "ops")
UNTHROTTLED = {"user": "100000/s", "anon": "100000/s", "check": "100000/s", "auth": "100000/s"}


def load_scenario() -> dict[str, Any]:
    scenario = json.loads((HERE / "scenario.json").read_text(encoding="utf-8"))
    for code in BULK_ASINS:
        markets = [UK] if code in BULK_MISSING_IN_US else [US, UK]
        scenario["catalog"][code] = {
            m: {"brand": "Bulkco", "title": f"Bulkco item {code[-4:]}", "classification": ["Sports & Outdoors", "Camping"]}
            for m in markets
        }
    return scenario


SCENARIO = load_scenario()


def refresh_token(seller_id: str) -> str:
    return SCENARIO["sellers"][seller_id]["refresh_token"]


@pytest.fixture(scope="session")
def fake():
    server = FakeSpapi(SCENARIO, speedup=SPEEDUP).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def spapi_settings(settings, fake):
    from django.conf import settings as django_settings

    lwa = SCENARIO["lwa"]
    settings.SPAPI_ENDPOINT = fake.url
    settings.SPAPI_LWA_TOKEN_URL = fake.lwa_token_url
    settings.SPAPI_CONSENT_URL = fake.consent_url
    settings.SPAPI_LWA_CLIENT_ID = lwa["client_id"]
    settings.SPAPI_LWA_CLIENT_SECRET = lwa["client_secret"]
    settings.SPAPI_APP_ID = lwa["app_id"]
    settings.SPAPI_RATE_SPEEDUP = SPEEDUP
    settings.SPAPI_MAX_ATTEMPTS = 4
    settings.SPAPI_BACKOFF_INITIAL = 0.01
    settings.SPAPI_BACKOFF_MAX = 0.05
    settings.SPAPI_TIMEOUT = 2.0
    settings.SPAPI_RATE_MAX_WAIT = 10.0
    prefix = f"test-bsync-rl:{uuid.uuid4().hex[:12]}"
    settings.SPAPI_RATELIMIT_PREFIX = prefix
    clear_token_cache()
    fake.state.load(SCENARIO)
    yield
    clear_token_cache()
    if django_settings.REDIS_URL:
        try:
            import redis

            client = redis.Redis.from_url(django_settings.REDIS_URL, socket_connect_timeout=1)
            keys = list(client.scan_iter(match=f"{prefix}:*"))
            if keys:
                client.delete(*keys)
        except Exception:  # noqa: BLE001 - nothing to clean when Redis is absent
            pass


@pytest.fixture(autouse=True)
def _no_throttling(monkeypatch, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"bsync-tests-{uuid.uuid4().hex}"}}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", dict(UNTHROTTLED))
    cache.clear()


# -- talking to the fake, as a test would over HTTP ------------------------------------------------

def inject(fake: FakeSpapi, operation: str, kind: str, count: int = 1) -> None:
    response = httpx.post(f"{fake.url}/_fake/faults", json={"operation": operation, "kind": kind, "count": count})
    assert response.status_code == 200, response.text


def served(fake: FakeSpapi, operation: str) -> dict[str, int]:
    return httpx.get(f"{fake.url}/_fake/stats").json()[operation]


def set_offers(fake: FakeSpapi, asin: str, marketplace_id: str, offers: list[dict[str, Any]]) -> None:
    """Amazon's offers for one (ASIN, marketplace) change: replace the fake's world."""
    scenario = copy.deepcopy(fake.state.scenario)
    scenario.setdefault("offers", {}).setdefault(asin, {})[marketplace_id] = offers
    response = httpx.post(f"{fake.url}/_fake/scenario", json=scenario)
    assert response.status_code == 200, response.text


# -- the world -------------------------------------------------------------------------------------

def add_asin(brand: Brand, code: str, markets: list[str], *, category: str = "Home & Kitchen") -> Asin:
    asin = Asin.objects.create(brand=brand, asin=code, gcid=f"GC{code}0000"[:16].ljust(16, "0"), title=f"Item {code}",
                               category=category)
    AsinMarketplace.objects.bulk_create([AsinMarketplace(asin=asin, marketplace_id=m) for m in markets])
    return asin


def connect(seller, seller_id: str) -> None:
    SellerConnection.objects.create(seller=seller, refresh_token_encrypted=encrypt(refresh_token(seller_id)),
                                    connected_at=timezone.now())


def hold_grant(asin: Asin, seller, marketplace: str, *, status: str = GrantStatus.ACTIVE,
               valid_until: dt.datetime | None = None) -> Grant:
    now = timezone.now()
    return Grant.objects.create(brand_id=asin.brand_id, seller=seller, asin=asin, marketplace_id=marketplace,
                                status=status, valid_from=now - dt.timedelta(days=60),
                                valid_until=valid_until, status_changed_at=now)


@pytest.fixture
def world(db) -> SimpleNamespace:
    users = {name: UserFactory(username=name) for name in ROLES}
    users["ops"].is_staff = True
    users["ops"].save(update_fields=["is_staff"])

    account = SellerFactory(seller_id=BRAND_ACCOUNT, name="Acme Brands Inc", connected=False,
                            participates_in=["US", "UK", "DE"])
    connect(account, BRAND_ACCOUNT)
    SellerMembershipFactory(user=users["owner_a"], seller=account)
    acme = BrandFactory(name="Acme", registry_number="ACME-0001", registry_status=RegistryStatus.ACTIVE,
                        spapi_account=account)
    bravo = BrandFactory(name="Bravo", registry_number="BRAVO-0001", registry_status=RegistryStatus.ACTIVE)
    for user, brand, role in [(users["owner_a"], acme, Role.OWNER), (users["manager_a"], acme, Role.MANAGER),
                              (users["viewer_a"], acme, Role.VIEWER), (users["owner_b"], bravo, Role.OWNER)]:
        BrandMembershipFactory(brand=brand, user=user, role=role)

    asins = {
        "B0ACME0001": add_asin(acme, "B0ACME0001", ["US", "UK"]),
        "B0ACME0002": add_asin(acme, "B0ACME0002", ["US"]),
        "B0ACME0003": add_asin(acme, "B0ACME0003", ["US", "UK"]),
        "B0ACME0004": add_asin(acme, "B0ACME0004", ["US"], category="Kitchen"),
        "B0ACME0005": add_asin(acme, "B0ACME0005", ["US"]),
        "B0ACME0006": add_asin(acme, "B0ACME0006", ["US", "DE"]),
    }
    authorized = SellerFactory(seller_id=AUTHORIZED, name="Northwind Outlet", participates_in=["US", "UK"])
    SellerMembershipFactory(user=users["partner"], seller=authorized)
    suspended = SellerFactory(seller_id=SUSPENDED, name="Suspended Shop", participates_in=["US"])
    grants = SimpleNamespace(
        authorized_us=hold_grant(asins["B0ACME0001"], authorized, "US"),
        authorized_uk_ended=hold_grant(asins["B0ACME0001"], authorized, "UK",
                                       valid_until=timezone.now() - dt.timedelta(days=1)),
        suspended_us=hold_grant(asins["B0ACME0002"], suspended, "US", status=GrantStatus.SUSPENDED),
    )
    return SimpleNamespace(users=users, acme=acme, bravo=bravo, account=account, asins=asins,
                           authorized=authorized, suspended=suspended, grants=grants, **users)


@pytest.fixture
def bulk_brand(db) -> Brand:
    """Bulkco: 45 ASINs listed in US and UK, on its own SP-API account."""
    account = SellerFactory(seller_id=BULK_ACCOUNT, name="Bulkco Ltd", connected=False, participates_in=["US", "UK"])
    connect(account, BULK_ACCOUNT)
    brand = BrandFactory(name="Bulkco", registry_number="BULK-0001", spapi_account=account)
    for code in BULK_ASINS:
        add_asin(brand, code, ["US", "UK"], category="Sports & Outdoors")
    return brand


def run_sync(brand: Brand, kind: str = SyncKind.BRAND, *, run: SyncRun | None = None) -> SyncRun:
    """Create a run of ``kind`` for ``brand`` and deliver its task (eagerly); the run, reloaded."""
    run = run or run_create(kind=kind, brand=brand)
    sync_brand.apply(args=[str(run.pk)])
    run.refresh_from_db()
    return run


@pytest.fixture
def api(world) -> Callable[..., APIClient]:
    def client_for(user=None) -> APIClient:
        if isinstance(user, str):
            user = None if user == "anonymous" else world.users[user]
        return token_client(user)

    return client_for
