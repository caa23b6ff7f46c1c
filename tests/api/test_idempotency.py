"""Idempotency-Key on POST /grants and /requests: a retried request does not grant twice."""
import pytest

from audit.models import AuditEvent
from authorizations.models import AuthorizationRequest, Grant

from .conftest import error_codes

pytestmark = pytest.mark.django_db


def grant_body(world, **extra):
    return {"brand": world.brand_a.pk, "seller_id": world.seller_t.seller_id, "asins": ["B0ALPHA002"],
            "marketplaces": ["US"], "reason": "distributor", **extra}


def test_retry_with_same_key_replays_the_first_answer(world, api):
    # given an owner who posts a grant with an Idempotency-Key
    client = api("owner_a")
    first = client.post("/api/v1/grants", grant_body(world), format="json", HTTP_IDEMPOTENCY_KEY="erp-7f3a")
    grants, events = Grant.objects.count(), AuditEvent.objects.count()
    # when the same request is retried (e.g. after a network timeout)
    retry = client.post("/api/v1/grants", grant_body(world), format="json", HTTP_IDEMPOTENCY_KEY="erp-7f3a")
    # then the answer is the first one, replayed, and nothing was granted twice
    assert first.status_code == 201 and retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert (Grant.objects.count(), AuditEvent.objects.count()) == (grants, events)


def test_same_key_with_a_different_body_is_refused(world, api):
    # given a key already used for one grant request
    client = api("owner_a")
    client.post("/api/v1/grants", grant_body(world), format="json", HTTP_IDEMPOTENCY_KEY="erp-1")
    grants = Grant.objects.count()
    # when the key is reused for another request
    response = client.post("/api/v1/grants", grant_body(world, marketplaces=["DE"]), format="json",
                           HTTP_IDEMPOTENCY_KEY="erp-1")
    # then it is refused and nothing is created
    assert response.status_code == 409
    assert error_codes(response) == ["IDEMPOTENCY_KEY_REUSED"]
    assert Grant.objects.count() == grants


def test_a_failed_attempt_does_not_burn_the_key(world, api, settings):
    # given a grant that fails a rule (the ASIN already has its maximum of sellers)
    client = api("owner_a")
    settings.MAX_SELLERS_PER_ASIN = 0
    failed = client.post("/api/v1/grants", grant_body(world), format="json", HTTP_IDEMPOTENCY_KEY="erp-9")
    # when the limit is raised and the same request is retried with the same key
    settings.MAX_SELLERS_PER_ASIN = 10
    retry = client.post("/api/v1/grants", grant_body(world), format="json", HTTP_IDEMPOTENCY_KEY="erp-9")
    # then the retry is executed for real
    assert failed.status_code == 409
    assert retry.status_code == 201 and len(retry.json()["created"]) == 1
    assert "Idempotent-Replayed" not in retry


def test_keys_are_per_user(world, api):
    # given two users of the same brand using the same key string
    body = grant_body(world)
    first = api("owner_a").post("/api/v1/grants", body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    other = api("manager_a").post("/api/v1/grants", {**body, "asins": ["B0ALPHA001"]}, format="json",
                                  HTTP_IDEMPOTENCY_KEY="shared")
    # then each is its own request
    assert first.status_code == 201 and other.status_code == 201
    assert "Idempotent-Replayed" not in other


def test_request_creation_is_idempotent(world, api):
    # given a partner posting an authorization request with a key
    client = api("partner_t")
    body = {"brand": world.brand_a.pk, "seller_id": world.seller_t.seller_id, "asins": ["B0ALPHA002"],
            "marketplaces": ["US"], "message": "we stock it"}
    first = client.post("/api/v1/requests", body, format="json", HTTP_IDEMPOTENCY_KEY="req-1")
    # when it is retried
    retry = client.post("/api/v1/requests", body, format="json", HTTP_IDEMPOTENCY_KEY="req-1")
    # then one request exists
    assert first.status_code == retry.status_code == 201
    assert AuthorizationRequest.objects.count() == 1


def test_malformed_key_is_refused(world, api):
    response = api("owner_a").post("/api/v1/grants", grant_body(world), format="json",
                                   HTTP_IDEMPOTENCY_KEY="has spaces in it")
    assert response.status_code == 400
    assert error_codes(response) == ["INVALID_IDEMPOTENCY_KEY"]
    assert not Grant.objects.filter(asin=world.asin_a2).exists()
