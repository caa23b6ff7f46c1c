"""The demo world: ``manage.py demo --no-serve`` loads what README and scenario.json promise,
once, with a verifiable audit chain and working logins (``demo_world``: conftest.py).
"""
from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from audit.selectors import audit_verify
from authorizations.models import AuthorizationRequest, Grant, GrantStatus, RequestStatus
from authorizations.rules import effective_live_q
from brands.models import Asin, AsinMarketplace, Brand, BrandMembership, PresenceStatus, RegistryStatus
from brands.selectors import is_ops
from demo.world import load_scenario, load_world, logins
from sellers.models import AccountStatus, Participation, Seller, SellerConnection, SellerMembership

SCENARIO = load_scenario()


def brand(key: str) -> Brand:
    spec = next(b for b in SCENARIO["brands"] if b["key"] == key)
    return Brand.objects.get(registry_number=spec["registry_number"])


def live_sellers(b: Brand) -> int:
    return (Grant.objects.filter(effective_live_q(timezone.now()), brand=b, seller__is_test_account=False)
            .values("seller").distinct().count())


def snapshot() -> dict[str, object]:
    models = (get_user_model(), Brand, BrandMembership, Asin, AsinMarketplace, Seller, Participation,
              SellerConnection, SellerMembership, Grant, AuthorizationRequest, AuditEvent)
    counts = {m.__name__: m.objects.count() for m in models}
    counts["grant_statuses"] = dict(Grant.objects.values_list("status").annotate(n=Count("id")).order_by())
    counts["last_event"] = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return counts


def test_demo_command_loads_and_prints_the_logins(demo_world, db):
    # then
    assert "Demo world loaded" in demo_world.output
    assert "http://127.0.0.1:8000/" in demo_world.output
    for row in logins():
        assert re.search(rf"\b{re.escape(row['username'])}\s+{re.escape(row['password'])}\b", demo_world.output)
    assert demo_world.seconds < 60


def test_catalog_brands_and_asins(demo_world, db):
    # then: three brands in the promised states
    assert Brand.objects.count() >= 3
    kitchen, outdoor, pets = brand("kitchen"), brand("outdoor"), brand("pets")
    assert kitchen.registry_status == RegistryStatus.ACTIVE and kitchen.dual_control
    assert outdoor.registry_status == RegistryStatus.ACTIVE and not outdoor.dual_control
    assert pets.registry_status == RegistryStatus.PENDING
    assert kitchen.spapi_account is not None and outdoor.spapi_account is not None
    # ~300 ASINs over several marketplaces, some without GCID, some in an excluded category
    assert Asin.objects.count() >= 300
    assert AsinMarketplace.objects.values("marketplace").distinct().count() >= 6
    assert Asin.objects.filter(gcid__isnull=True).count() >= 3
    assert Asin.objects.filter(category="Books").count() >= 3
    # most presences verified by the catalog sync, with the brand's name and time
    verified = AsinMarketplace.objects.filter(status=PresenceStatus.VERIFIED)
    assert verified.count() > AsinMarketplace.objects.count() / 2
    assert not verified.filter(verified_at__isnull=True).exists()
    assert all(v.catalog_brand == v.asin.brand.name for v in verified.select_related("asin__brand")[:200])
    assert AsinMarketplace.objects.filter(status=PresenceStatus.BRAND_MISMATCH).exists()
    assert AuditEvent.objects.filter(action="asin.verified", source="worker", actor="demo.catalog_sync").count() >= 2


def test_sellers(demo_world, db):
    # then
    assert Seller.objects.count() == 60
    ids = list(Seller.objects.values_list("seller_id", flat=True))
    assert all(re.fullmatch(r"A[A-Z0-9]{12,13}", i) for i in ids)
    assert Seller.objects.filter(health_score__lt=settings.MIN_HEALTH_SCORE).count() >= 3
    assert Seller.objects.filter(infringement_count__gt=0).exists()
    assert Seller.objects.filter(account_status=AccountStatus.DEACTIVATED).count() == 1
    assert Seller.objects.filter(is_test_account=True).count() == 2
    connected = SellerConnection.objects.filter(revoked_at__isnull=True).exclude(refresh_token_encrypted="")
    assert Seller.objects.exclude(connection__in=connected).count() == 1
    # health was read from reports, recently, with its breakdown
    fresh = timezone.now() - dt.timedelta(days=settings.HEALTH_MAX_AGE_DAYS)
    assert Seller.objects.filter(health_checked_at__gte=fresh).count() == 59
    assert all(s.health_breakdown.get("marketplaces") for s in Seller.objects.all())


def test_grants_and_limits(demo_world, db):
    now = timezone.now()
    outdoor = brand("outdoor")
    # a brand near its 50-seller limit
    assert 48 <= live_sellers(outdoor) < settings.MAX_SELLERS_PER_BRAND
    # ASINs at their 10-seller limit
    full = (Grant.objects.filter(effective_live_q(now)).values("asin").annotate(n=Count("seller", distinct=True))
            .filter(n=settings.MAX_SELLERS_PER_ASIN))
    assert full.count() >= 1
    assert not (Grant.objects.filter(effective_live_q(now)).values("asin").annotate(n=Count("seller", distinct=True))
                .filter(n__gt=settings.MAX_SELLERS_PER_ASIN).exists())
    # every lifecycle state shows
    live = Grant.objects.filter(effective_live_q(now))
    assert live.filter(valid_until__lte=now + dt.timedelta(days=settings.EXPIRING_SOON_DAYS)).exists()
    assert Grant.objects.filter(status=GrantStatus.EXPIRED).exists()
    assert Grant.objects.filter(status=GrantStatus.ACTIVE, valid_until__lte=now).exists()  # expired, not yet written
    assert Grant.objects.filter(status=GrantStatus.SUSPENDED).exclude(status_reason="").exists()
    assert Grant.objects.filter(status=GrantStatus.REVOKED).exclude(status_reason="").exists()
    assert Grant.objects.filter(status=GrantStatus.REVOKED, status_reason_code="REVOKE_ALL").exists()
    assert Grant.objects.filter(status=GrantStatus.PENDING_APPROVAL, brand=brand("kitchen")).exists()
    assert Grant.objects.filter(status=GrantStatus.REJECTED).exists()


def test_requests(demo_world, db):
    pending = AuthorizationRequest.objects.filter(status=RequestStatus.PENDING)
    assert pending.count() >= 3
    # older than 7 business days (more than 9 calendar days covers any weekend)
    assert pending.filter(created_at__lt=timezone.now() - dt.timedelta(days=10)).count() >= 2
    assert pending.filter(created_at__gte=timezone.now() - dt.timedelta(days=4)).exists()
    assert AuthorizationRequest.objects.filter(status=RequestStatus.APPROVED).exists()
    assert AuthorizationRequest.objects.filter(status=RequestStatus.REJECTED).exists()


def test_audit_history_is_real_and_verifies(demo_world, db):
    assert AuditEvent.objects.count() >= 200
    assert set(AuditEvent.objects.values_list("source", flat=True).distinct()) >= {"command", "worker"}
    spread = AuditEvent.objects.order_by("at").values_list("at", flat=True)
    assert spread.last() - spread.first() > dt.timedelta(days=60)
    assert not AuditEvent.objects.filter(at__gt=timezone.now()).exists()
    assert not AuditEvent.objects.filter(after__icontains="Atzr|").exists()  # no token in the log
    result = audit_verify()
    assert result.ok, result.problems


@pytest.mark.parametrize("username", [u["username"] for u in SCENARIO["users"]])
def test_every_login_works(demo_world, db, username):
    # given
    password = SCENARIO["password"]
    user = get_user_model().objects.get(username=username)
    # then
    assert Client().login(username=username, password=password)
    if username == "ops":
        assert is_ops(user) and user.groups.filter(name="ops").exists()
    if username in ("owner", "manager", "viewer"):
        assert BrandMembership.objects.filter(user=user).exists()
    if username.startswith("partner"):
        assert SellerMembership.objects.filter(user=user).exists()


def test_loading_again_changes_nothing(demo_world, db):
    # given
    before = snapshot()
    # when
    result = load_world()
    out = StringIO()
    call_command("demo", "--no-serve", stdout=out)
    # then
    assert not result.loaded
    assert "demo data already loaded" in out.getvalue()
    assert snapshot() == before
