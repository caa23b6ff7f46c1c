"""Shared fixtures for the REST API tests: a small world with one user per role.

The world (``world`` fixture)::

    brand A "Alpha" (ACTIVE)   owner_a, manager_a, viewer_a   ASINs B0ALPHA001 (US, DE), B0ALPHA002 (US)
    brand B "Bravo" (ACTIVE)   owner_b                        ASIN  B0BRAVO001 (US)
    seller S  ASELLERS0001     partner_s   participates in US, DE; ACTIVE grant on B0ALPHA001/US
    seller T  ASELLERT0001     partner_t   participates in US;     ACTIVE grant on B0BRAVO001/US
    newcomer (no role), ops (is_staff), anonymous (no credentials)

``api(user)`` is an APIClient authenticated by token as ``user`` (``api(None)`` or
``api("anonymous")``: no credentials); ``api("owner_a")`` looks the user up in the world.

Throttling is effectively off (very high rates, empty cache) in every test; a throttle test
lowers a rate with :func:`throttle_rates`.
"""
from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace
from typing import Callable

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from authorizations.models import Grant, GrantStatus
from brands.models import RegistryStatus, Role
from tests.helpers import token_client
from tests.factories import (
    AsinFactory, BrandFactory, BrandMembershipFactory, SellerFactory, SellerMembershipFactory, UserFactory,
)

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password
ROLES = ("anonymous", "newcomer", "owner_a", "manager_a", "viewer_a", "owner_b", "partner_s", "partner_t", "ops")
UNTHROTTLED = {"user": "100000/s", "anon": "100000/s", "check": "100000/s", "auth": "100000/s"}


@pytest.fixture(autouse=True)
def _no_throttling(monkeypatch, settings):
    """DRF reads the rates once, into a class attribute, so overriding
    ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` has no effect: patch the attribute. Every test
    gets a cache of its own (empty throttle buckets; a Redis cache named by REDIS_URL is left alone)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"api-tests-{uuid.uuid4().hex}"}}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", dict(UNTHROTTLED))


@pytest.fixture
def throttle_rates(monkeypatch) -> Callable[..., None]:
    """``throttle_rates(auth="3/min")``: lower the named rates for this test."""

    def lower(**rates: str) -> None:
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**UNTHROTTLED, **rates})
        cache.clear()

    return lower


def hold_grant(asin, seller, *, marketplace: str = "US", status: str = GrantStatus.ACTIVE,
               valid_until: dt.datetime | None = None) -> Grant:
    """Given state: ``seller`` holds a grant on ``asin`` in ``marketplace`` (written directly)."""
    now = timezone.now()
    return Grant.objects.create(
        brand_id=asin.brand_id, seller=seller, asin=asin, marketplace_id=marketplace, status=status,
        valid_from=now - dt.timedelta(days=30), valid_until=valid_until, status_changed_at=now,
    )


@pytest.fixture
def world(db) -> SimpleNamespace:
    users = {name: UserFactory(username=name) for name in ROLES if name != "anonymous"}
    users["ops"].is_staff = True
    users["ops"].save(update_fields=["is_staff"])

    brand_a = BrandFactory(name="Alpha", registry_number="ALPHA-0001", registry_status=RegistryStatus.ACTIVE)
    brand_b = BrandFactory(name="Bravo", registry_number="BRAVO-0001", registry_status=RegistryStatus.ACTIVE)
    for user, brand, role in [
        (users["owner_a"], brand_a, Role.OWNER), (users["manager_a"], brand_a, Role.MANAGER),
        (users["viewer_a"], brand_a, Role.VIEWER), (users["owner_b"], brand_b, Role.OWNER),
    ]:
        BrandMembershipFactory(brand=brand, user=user, role=role)

    asin_a1 = AsinFactory(brand=brand_a, asin="B0ALPHA001", title="Red kettle", marketplaces=["US", "DE"])
    asin_a2 = AsinFactory(brand=brand_a, asin="B0ALPHA002", title="Blue teapot", marketplaces=["US"])
    asin_b1 = AsinFactory(brand=brand_b, asin="B0BRAVO001", title="Green mug", marketplaces=["US"])

    seller_s = SellerFactory(seller_id="ASELLERS0001", name="Shop S", participates_in=["US", "DE"])
    seller_t = SellerFactory(seller_id="ASELLERT0001", name="Shop T", participates_in=["US"])
    SellerMembershipFactory(user=users["partner_s"], seller=seller_s)
    SellerMembershipFactory(user=users["partner_t"], seller=seller_t)

    grant_s = hold_grant(asin_a1, seller_s)
    grant_t = hold_grant(asin_b1, seller_t)

    return SimpleNamespace(
        users=users, brand_a=brand_a, brand_b=brand_b, asin_a1=asin_a1, asin_a2=asin_a2, asin_b1=asin_b1,
        seller_s=seller_s, seller_t=seller_t, grant_s=grant_s, grant_t=grant_t, **users,
    )


@pytest.fixture
def api(world) -> Callable[..., APIClient]:
    """``api(user_or_role_name)`` → an APIClient sending ``Authorization: Token <key>``."""

    def client_for(user=None) -> APIClient:
        if isinstance(user, str):
            user = None if user == "anonymous" else world.users[user]
        return token_client(user)

    return client_for


def error_codes(response) -> list[str]:
    """The ``code`` of every item of an API error body."""
    return [item["code"] for item in response.json()["errors"]]
