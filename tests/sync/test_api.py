"""POST /api/v1/sellers/{seller_id}/sync, GET /api/v1/jobs/{job_id}, and the diagnosis's
``amazon`` field — with who may do what."""
from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from sellers.models import SellerConnection
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from spapi_client.runs import run_create

from .conftest import HEALTHY, INFRINGER, hold_grant, run_sync


@pytest.fixture
def api(world):
    def client_for(name: str | None) -> APIClient:
        client = APIClient()
        if name is not None:
            client.force_authenticate(world.users[name])
        return client

    return client_for


@pytest.fixture
def healthy(world):
    """The healthy seller holds an Acme grant: Acme's members can see it."""
    hold_grant(world.healthy, world.asins["B0ACME0002"], marketplace="US")
    return world.healthy


def _sync(api, who: str, seller_id: str = HEALTHY, capture=None):
    if capture is None:
        return api(who).post(f"/api/v1/sellers/{seller_id}/sync")
    with capture(execute=True):
        return api(who).post(f"/api/v1/sellers/{seller_id}/sync")


def test_a_partner_asks_for_a_sync_and_follows_the_job(api, healthy, django_capture_on_commit_callbacks):
    # when
    response = _sync(api, "partner_h", capture=django_capture_on_commit_callbacks)

    # then 202 with the job id; the job ran (eagerly, after commit) and says so
    assert response.status_code == 202, response.content
    job_id = response.json()["job_id"]
    run = SyncRun.objects.get(pk=job_id)
    assert run.kind == SyncKind.SELLER and run.seller == healthy and run.requested_by.username == "partner_h"
    job = api("partner_h").get(f"/api/v1/jobs/{job_id}")
    assert job.status_code == 200
    body = job.json()
    assert body["status"] == "SUCCESS" and body["error"] is None
    assert body["progress"] == {"done": 3, "total": 3}  # participations, health, 1 restriction
    assert body["result"]["health_score"] == 100 and body["job_id"] == job_id
    assert body["counts"]["calls"] >= 7


@pytest.mark.parametrize("who", ["partner_h2", "owner_a", "manager_a", "viewer_a"])
def test_partners_and_brand_members_who_see_the_seller_may_ask(api, healthy, who):
    response = _sync(api, who)

    assert response.status_code == 202, response.content
    assert SyncRun.objects.get(pk=response.json()["job_id"]).status == SyncStatus.PENDING  # enqueued on commit


@pytest.mark.parametrize("who, status", [("ops", 403), ("stranger", 404), ("owner_b", 404), (None, 401)])
def test_others_may_not_ask(api, healthy, who, status):
    response = _sync(api, who)

    assert response.status_code == status
    assert not SyncRun.objects.exists()


def test_an_unknown_or_malformed_seller_id_is_not_found(api, healthy):
    assert _sync(api, "partner_h", seller_id="A9NOSUCHSELL99").status_code == 404
    assert _sync(api, "partner_h", seller_id="lower-case!").status_code == 404


def test_a_seller_without_a_connection_cannot_be_synced(api, healthy):
    SellerConnection.objects.filter(seller=healthy).update(revoked_at="2025-01-01T00:00:00Z")

    response = _sync(api, "partner_h")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "SELLER_NOT_CONNECTED"


def test_asking_again_while_a_sync_is_waiting_returns_the_same_job(api, healthy):
    first = _sync(api, "partner_h").json()["job_id"]

    second = _sync(api, "owner_a")

    assert second.status_code == 202 and second.json()["job_id"] == first
    assert SyncRun.objects.count() == 1


# -- who sees a job ------------------------------------------------------------------------------

@pytest.mark.parametrize("who, status", [
    ("partner_h", 200),   # asked for it
    ("partner_h2", 200),  # a partner of the run's seller
    ("ops", 200),
    ("owner_a", 404),     # a member of a brand that sees the seller, but the run is the seller's
    ("stranger", 404),
    ("partner_i", 404),
    (None, 401),
])
def test_who_sees_a_seller_job(api, world, healthy, who, status):
    run = run_create(kind=SyncKind.SELLER, seller=healthy, requested_by=world.partner_h)

    assert api(who).get(f"/api/v1/jobs/{run.pk}").status_code == status


@pytest.mark.parametrize("who, status", [("owner_a", 200), ("viewer_a", 200), ("owner_b", 404), ("ops", 200),
                                         ("partner_h", 404)])
def test_who_sees_a_brand_job(api, world, who, status):
    run = run_create(kind=SyncKind.BRAND, brand=world.acme)

    assert api(who).get(f"/api/v1/jobs/{run.pk}").status_code == status


@pytest.mark.parametrize("job_id", ["not-a-uuid", "123", uuid.uuid4().hex, "%00"])
def test_a_malformed_or_unknown_job_id_is_not_found(api, world, job_id):
    response = api("ops").get(f"/api/v1/jobs/{job_id}")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "NOT_FOUND"


def test_a_failed_job_shows_its_error(api, world, healthy, fake, django_capture_on_commit_callbacks):
    fake.inject_fault("getMarketplaceParticipations", "malformed")

    job_id = _sync(api, "partner_h", capture=django_capture_on_commit_callbacks).json()["job_id"]

    body = api("partner_h").get(f"/api/v1/jobs/{job_id}").json()
    assert body["status"] == "FAILURE"
    assert body["error"].startswith("participations: getMarketplaceParticipations: HTTP 200 with non-JSON")


# -- the diagnosis shows Amazon's own gating -----------------------------------------------------

def _diagnose(api, who, asin="B0ACME0002", marketplace="US", seller_id=HEALTHY):
    return api(who).get("/api/v1/diagnose", {"seller_id": seller_id, "asin": asin, "marketplace": marketplace})


def test_the_diagnosis_shows_amazons_restrictions_from_the_last_sync(api, healthy, django_capture_on_commit_callbacks):
    # before any sync: nothing known
    assert _diagnose(api, "partner_h").json()["amazon"] is None

    run_sync(healthy, django_capture_on_commit_callbacks)

    for who in ("partner_h", "owner_a", "ops"):
        amazon = _diagnose(api, who).json()["amazon"]
        assert amazon["checked_at"]
        [restriction] = amazon["restrictions"]
        assert restriction["reason_code"] == "APPROVAL_REQUIRED"
        assert restriction["message"] == "You need approval to list this brand in this category."
        assert restriction["links"] == [{
            "resource": "https://sellercentral.amazon.com/hz/approvalrequest/restrictions/approve?asin=B0ACME0002",
            "verb": "GET", "title": "Request Approval via Seller Central.", "type": "text/html"}]
    # a pair the sync did not ask about (no live grant there) stays unknown
    assert _diagnose(api, "partner_h", marketplace="DE").json()["amazon"] is None


def test_an_ungated_pair_shows_an_empty_list(api, world, django_capture_on_commit_callbacks):
    hold_grant(world.infringer, world.asins["B0ACME0003"], marketplace="US")

    run_sync(world.infringer, django_capture_on_commit_callbacks)

    amazon = _diagnose(api, "partner_i", asin="B0ACME0003", seller_id=INFRINGER).json()["amazon"]
    assert amazon["restrictions"] == [] and amazon["checked_at"]


def test_the_schema_documents_the_new_endpoints(api, world):
    schema = api("ops").get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert "202" in schema["paths"]["/api/v1/sellers/{seller_id}/sync"]["post"]["responses"]
    assert "200" in schema["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"]
