"""The demo's fake SP-API (``demo/spapi.py``): what ``manage.py demo`` serves with gives a world
where connecting a Seller Central account, the callback and "sync now" work, against the fake over
real HTTP (the app itself is driven through Django's test client; Celery is eager).
"""
from __future__ import annotations

import uuid
from io import StringIO
from urllib.parse import urlsplit

import httpx
import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.commands import runserver
from django.test import Client
from django.utils import timezone

from authorizations.models import Grant, GrantStatus, ListingRestrictionCheck, UnauthorizedOffer
from authorizations.rules import effective_live_q
from brands.models import AsinMarketplace, Brand, PresenceStatus
from demo.spapi import RATE_SPEEDUP, fake_spapi_running
from demo.world import load_scenario
from sellers.models import Seller, SellerConnection
from sellers.selectors import refresh_token_of
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from tests.helpers import delete_redis_keys, token_client

SCENARIO = load_scenario()
SITE_URL = "http://testserver"


def named(key: str) -> Seller:
    return Seller.objects.get(seller_id=next(s["seller_id"] for s in SCENARIO["sellers"]["named"] if s["key"] == key))


def user(username: str):
    return get_user_model().objects.get(username=username)


@pytest.fixture
def demo_spapi(demo_world, db, settings):
    """The demo's fake SP-API, running, with the settings pointed at it as while the demo serves."""
    settings.SPAPI_RATELIMIT_PREFIX = f"test-demo-rl:{uuid.uuid4().hex[:12]}"
    with fake_spapi_running(site_url=SITE_URL) as fake:
        yield fake
    delete_redis_keys(settings.REDIS_URL, settings.SPAPI_RATELIMIT_PREFIX)


def job(client, response) -> dict:
    assert response.status_code == 202, response.content
    return client.get(f"/api/v1/jobs/{response.json()['job_id']}").json()


def test_the_partner_connects_the_account_the_fake_seller_central_signs_in_as(
        demo_spapi, django_capture_on_commit_callbacks):
    # given
    account = SCENARIO["amazon"]["to_connect"][0]
    partner = user("partner")
    assert not Seller.objects.filter(seller_id=account["seller_id"]).exists()

    # when: the partner starts connecting; the browser goes to the consent page and is sent back
    started = token_client(partner).post("/api/v1/sellers/connect")
    consent = httpx.get(started.json()["consent_url"])
    back = urlsplit(consent.headers["location"])
    with django_capture_on_commit_callbacks(execute=True):
        answer = Client().get(f"{back.path}?{back.query}", HTTP_ACCEPT="application/json")

    # then: connected to the partner, and its first sync read Amazon's participations and health
    assert consent.status_code == 302 and f"{back.scheme}://{back.netloc}{back.path}" == f"{SITE_URL}/spapi/callback"
    assert answer.status_code == 200, answer.content
    seller = Seller.objects.get(seller_id=account["seller_id"])
    assert seller.memberships.filter(user=partner).exists()
    assert refresh_token_of(seller)
    first_sync = SyncRun.objects.get(seller=seller, kind=SyncKind.SELLER)
    assert first_sync.status == SyncStatus.SUCCESS, first_sync.error
    assert list(seller.participations.values_list("marketplace_id", flat=True)) == ["AU"]
    assert seller.health_score == 100
    served = {operation: counts["served"] for operation, counts in demo_spapi.stats().items()}
    assert served["lwa"] >= 2 and served["getMarketplaceParticipations"] == 1 and served["getReportDocument"] == 1


def test_sync_now_of_a_seller_rereads_its_health_and_amazons_gating(demo_spapi, django_capture_on_commit_callbacks):
    # given: Northwind Retail US, whose health was read yesterday; Amazon gates it on one ASIN
    seller = named("northwind_us")
    checked_before = seller.health_checked_at
    live = Grant.objects.filter(effective_live_q(timezone.now()), seller=seller)
    client = token_client(user("partner"))

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/sellers/{seller.seller_id}/sync")

    # then
    done = job(client, response)
    assert done["status"] == SyncStatus.SUCCESS, done["error"]
    assert done["result"]["restrictions_checked"] == live.values("asin", "marketplace").distinct().count() > 0
    assert done["result"]["marketplaces"] == ["CA", "MX", "US"]
    seller.refresh_from_db()
    assert seller.health_checked_at > checked_before and seller.health_score == 96  # minor listing issues
    gated = ListingRestrictionCheck.objects.filter(seller=seller).exclude(restrictions=[])
    assert [r["reason_code"] for check in gated for r in check.restrictions] == ["APPROVAL_REQUIRED"]
    check = gated.get()
    diagnosis = client.get("/api/v1/diagnose", {"seller_id": seller.seller_id, "asin": check.asin,
                                                "marketplace": check.marketplace_id}).json()
    assert diagnosis["amazon"]["restrictions"][0]["links"][0]["resource"].startswith("https://sellercentral.amazon.com/")


def test_sync_now_of_a_brand_verifies_its_catalog_and_finds_the_unauthorized_offers(
        demo_spapi, django_capture_on_commit_callbacks):
    # given: Hearth & Hone, with presences the demo never verified and grants that no longer authorize
    brand = Brand.objects.get(registry_number=next(b["registry_number"] for b in SCENARIO["brands"]
                                                   if b["key"] == "kitchen"))
    presences = AsinMarketplace.objects.filter(asin__brand=brand)
    unverified = presences.filter(status=PresenceStatus.UNVERIFIED).count()
    mismatched = presences.filter(status=PresenceStatus.BRAND_MISMATCH).count()
    suspended = named("blue_harbor")  # health below the minimum: its grants are suspended, it still sells
    client = token_client(user("owner"))
    assert unverified > 0 and not UnauthorizedOffer.objects.exists()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/brands/{brand.pk}/sync")

    # then: every presence verified but the listings under another brand
    done = job(client, response)
    assert done["status"] == SyncStatus.SUCCESS, done["error"]
    assert presences.filter(status=PresenceStatus.VERIFIED).count() == presences.count() - mismatched
    assert presences.filter(status=PresenceStatus.BRAND_MISMATCH).count() == mismatched
    # findings: sellers whose grant is suspended (or ended) and the unknown reseller; never an active holder
    findings = client.get(f"/api/v1/brands/{brand.pk}/findings").json()
    found = {f["seller_id"] for f in findings["results"]}
    assert findings["count"] == done["counts"]["findings_opened"] > 0
    assert {suspended.seller_id, SCENARIO["amazon"]["unknown_reseller"]} <= found
    now = timezone.now()
    for finding in UnauthorizedOffer.objects.filter(brand=brand).select_related("asin"):
        assert not Grant.objects.filter(effective_live_q(now), status=GrantStatus.ACTIVE, asin=finding.asin,
                                        marketplace_id=finding.marketplace_id,
                                        seller__seller_id=finding.offering_seller_id).exists()


def test_the_fake_knows_every_connected_demo_seller_by_its_stored_token(demo_spapi):
    # given
    known = demo_spapi.state.scenario["sellers"]
    connections = SellerConnection.objects.filter(revoked_at__isnull=True).exclude(refresh_token_encrypted="")
    # then: any of them can be synced
    sellers = Seller.objects.filter(connection__in=connections)
    assert sellers.count() == 59
    assert all(refresh_token_of(s) == known[s.seller_id]["refresh_token"] for s in sellers)


def test_the_demo_serves_with_the_fake_and_then_puts_the_settings_back(demo_world, db, monkeypatch):
    # given: the development server replaced by a look at what it would serve with
    endpoint_before = django_settings.SPAPI_ENDPOINT
    seen = {}

    def serve(command, *args, **options):
        seen.update(endpoint=django_settings.SPAPI_ENDPOINT, site_url=django_settings.SITE_URL,
                    consent_url=django_settings.SPAPI_CONSENT_URL, speedup=django_settings.SPAPI_RATE_SPEEDUP,
                    fake=httpx.get(f"{django_settings.SPAPI_ENDPOINT}/_fake/health").json())

    monkeypatch.setattr(runserver.Command, "handle", serve)
    out = StringIO()

    # when
    call_command("demo", "--port", "8123", stdout=out)

    # then
    assert seen["fake"] == {"ok": True} and seen["endpoint"].startswith("http://127.0.0.1:")
    assert seen["consent_url"] == f"{seen['endpoint']}/apps/authorize/consent"
    assert seen["site_url"] == "http://127.0.0.1:8123" and seen["speedup"] == RATE_SPEEDUP
    assert f"Fake SP-API (Amazon, LWA and the Seller Central consent page): {seen['endpoint']}" in out.getvalue()
    assert django_settings.SPAPI_ENDPOINT == endpoint_before
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{seen['endpoint']}/_fake/health")
