"""Seller syncs and grant tasks against the fake SP-API over real HTTP.

The fake (``spapi_client/fake``, the basic scenario) runs on loopback for the whole session at a
50× rate speed-up; every test starts with the scenario reloaded (no faults, empty counters,
reports and buckets), its own rate-limit keys (in Redis when REDIS_URL is set), empty token
caches, report polls 0 s apart, and fast, few retries. Celery is eager (test settings): a task
"enqueued on commit" runs when the test's ``on_commit`` callbacks are executed.

What the basic scenario says (spapi_client/fake/scenarios/basic.json)::

    A2HEALTHYSELL01  participates US, CA (MX not participating); health all GOOD → 100, NORMAL;
                     Amazon gates it on B0ACME0002/US (APPROVAL_REQUIRED, with a link)
    A3INFRINGER0002  participates US, UK, DE; US: late shipment BAD, 2 IP complaints (BAD), WARNED → 65,
                     2 infringements, AT_RISK; gated on B0ACME0001/US (NOT_ELIGIBLE)
    A1FATALREPORT03  participates US; its health report ends FATAL
    catalog          B0ACME0001 US CA UK · B0ACME0002 US DE · B0ACME0003 US UK · B0ACME0004 US
                     (an ASIN not in a marketplace's catalog answers ASIN_NOT_FOUND)
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.utils import timezone

from authorizations.models import Grant, GrantStatus
from brands.models import Role
from sellers.crypto import encrypt
from sellers.models import Seller, SellerConnection
from spapi_client.client import clear_token_cache
from spapi_client.fake import BASIC_SCENARIO, FakeSpapi
from spapi_client.models import SyncRun
from tests.helpers import delete_redis_keys
from tests.factories import (
    AsinFactory, BrandFactory, BrandMembershipFactory, SellerFactory, SellerMembershipFactory, UserFactory,
)

SPEEDUP = 50
SCENARIO: dict[str, Any] = json.loads(BASIC_SCENARIO.read_text(encoding="utf-8"))

HEALTHY = "A2HEALTHYSELL01"
INFRINGER = "A3INFRINGER0002"
FATAL = "A1FATALREPORT03"
US, CA, UK, DE = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P", "A1PA6795UKMFR9"


def refresh_token(seller_id: str) -> str:
    return SCENARIO["sellers"][seller_id]["refresh_token"]


def point_at(settings, server: FakeSpapi) -> None:
    """The app's SP-API settings → ``server`` (URLs, LWA client, its rate speed-up)."""
    for name, value in server.app_settings().items():
        setattr(settings, name, value)


@pytest.fixture(scope="session")
def fake():
    server = FakeSpapi(BASIC_SCENARIO, speedup=SPEEDUP).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def spapi_settings(settings, fake):
    point_at(settings, fake)
    settings.SITE_URL = "http://testserver.local"
    settings.SPAPI_MAX_ATTEMPTS = 4
    settings.SPAPI_BACKOFF_INITIAL = 0.01
    settings.SPAPI_BACKOFF_MAX = 0.05
    settings.SPAPI_TIMEOUT = 2.0
    settings.SPAPI_RATE_MAX_WAIT = 10.0
    settings.SPAPI_REPORT_POLL_SECONDS = 0
    settings.SPAPI_REPORT_MAX_WAIT = 5
    settings.SYNC_TASK_MAX_RETRIES = 2
    settings.SYNC_TASK_RETRY_BACKOFF = 0.01
    settings.SYNC_TASK_RETRY_BACKOFF_MAX = 0.05
    prefix = f"test-sync-rl:{uuid.uuid4().hex[:12]}"
    settings.SPAPI_RATELIMIT_PREFIX = prefix
    clear_token_cache()
    fake.state.load(copy.deepcopy(SCENARIO))  # the basic world again, whatever the last test did
    yield
    clear_token_cache()
    delete_redis_keys(settings.REDIS_URL, prefix)


@pytest.fixture
def scenario(fake):
    """``scenario(change)``: load the basic scenario changed by ``change(dict)`` for this test."""

    def load(change) -> dict[str, Any]:
        world = copy.deepcopy(SCENARIO)
        change(world)
        fake.state.load(world)
        return world

    return load


# -- the world ----------------------------------------------------------------------------------

def connected_seller(seller_id: str, *, participates_in=("US",), name: str | None = None, **fields) -> Seller:
    """A seller of the scenario, connected with the scenario's refresh token (encrypted)."""
    seller = SellerFactory(seller_id=seller_id, name=name or SCENARIO["sellers"][seller_id]["name"],
                           participates_in=list(participates_in), connected=False, **fields)
    SellerConnection.objects.create(seller=seller, refresh_token_encrypted=encrypt(refresh_token(seller_id)),
                                    connected_at=timezone.now())
    return seller


def hold_grant(seller, asin, *, marketplace: str = "US", status: str = GrantStatus.ACTIVE,
               valid_until: dt.datetime | None = None, valid_from: dt.datetime | None = None) -> Grant:
    """Given state: a grant written directly (no rules, no audit event)."""
    now = timezone.now()
    return Grant.objects.create(
        brand_id=asin.brand_id, seller=seller, asin=asin, marketplace_id=marketplace, status=status,
        valid_from=valid_from or now - dt.timedelta(days=30), valid_until=valid_until, status_changed_at=now,
    )


@pytest.fixture
def world(db, marketplaces):
    """Two brands and the scenario's sellers, with their people::

        brand Acme   owner_a (owner), manager_a (manager), viewer_a (viewer)
                     ASINs B0ACME0001 (US, CA, UK), B0ACME0002 (US, DE), B0ACME0004 (US)
        brand Bravo  owner_b (owner)                       ASIN B0ACME0003 (US, UK)
        A2HEALTHYSELL01  partners partner_h, partner_h2   (participates US, CA)
        A3INFRINGER0002  partner_i; owner_b is its partner too  (participates US)
        stranger (no role), ops (is_staff)
    """
    users = {name: UserFactory(username=name) for name in
             ("owner_a", "manager_a", "viewer_a", "owner_b", "partner_h", "partner_h2", "partner_i", "stranger", "ops")}
    users["ops"].is_staff = True
    users["ops"].save(update_fields=["is_staff"])
    acme = BrandFactory(name="Acme")
    bravo = BrandFactory(name="Bravo")
    for user, brand, role in [(users["owner_a"], acme, Role.OWNER), (users["manager_a"], acme, Role.MANAGER),
                              (users["viewer_a"], acme, Role.VIEWER), (users["owner_b"], bravo, Role.OWNER)]:
        BrandMembershipFactory(user=user, brand=brand, role=role)
    asins = {
        "B0ACME0001": AsinFactory(brand=acme, asin="B0ACME0001", marketplaces=["US", "CA", "UK"]),
        "B0ACME0002": AsinFactory(brand=acme, asin="B0ACME0002", marketplaces=["US", "DE"]),
        "B0ACME0004": AsinFactory(brand=acme, asin="B0ACME0004", marketplaces=["US"]),
        "B0ACME0003": AsinFactory(brand=bravo, asin="B0ACME0003", marketplaces=["US", "UK"]),
    }
    healthy = connected_seller(HEALTHY, participates_in=["US", "CA"])
    infringer = connected_seller(INFRINGER, participates_in=["US"])
    for user, seller in [(users["partner_h"], healthy), (users["partner_h2"], healthy),
                         (users["partner_i"], infringer), (users["owner_b"], infringer)]:
        SellerMembershipFactory(user=user, seller=seller)

    class World:
        pass

    w = World()
    w.__dict__.update(users)
    w.users, w.acme, w.bravo, w.asins, w.healthy, w.infringer = users, acme, bravo, asins, healthy, infringer
    return w


def run_sync(seller, capture) -> SyncRun:
    """Ask for a seller sync as the system and let its on-commit enqueue (eager) run it."""
    from sellers.sync import seller_sync_enqueue

    with capture(execute=True):
        run, _created = seller_sync_enqueue(seller=seller)
    run.refresh_from_db()
    return run
