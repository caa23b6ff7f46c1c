"""Partners' requests as a contract (API.md "Requests"): a partner asks, the list shows age in
business days and overdue, a brand owner approves (the grants are created under the same rules,
all or nothing) or rejects with a reason."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from authorizations.models import AuthorizationRequest, Grant, RequestStatus
from authorizations.timeutil import business_days_between
from tests.api.conftest import error_codes

pytestmark = pytest.mark.django_db

REQUESTS = "/api/v1/requests"
REQUEST_FIELDS = {"id", "brand", "seller_id", "asins", "marketplaces", "message", "status", "created_at",
                  "age_business_days", "overdue"}
GRANT_FIELDS = {"id", "brand", "seller_id", "asin", "marketplace", "status", "valid_from", "valid_until",
                "granted_by", "approved_by", "created_at", "status_changed_at", "reason"}


def request_body(world, **overrides) -> dict:
    body = {"brand": world.brand_a.pk, "seller_id": "ASELLERS0001", "asins": ["B0ALPHA002"],
            "marketplaces": ["US"], "message": "We stock your teapots."}
    return {**body, **overrides}


def make_request(world, *, seller=None, asins=("B0ALPHA002",), marketplaces=("US",), brand=None,
                 days_ago: int = 0, status: str = RequestStatus.PENDING) -> AuthorizationRequest:
    """Given state: a request as an earlier POST would have left it, ``days_ago`` calendar days old."""
    return AuthorizationRequest.objects.create(
        brand=brand or world.brand_a, seller=seller or world.seller_s, requested_by=world.partner_s,
        asins=list(asins), marketplaces=list(marketplaces), message="please", status=status,
        created_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def url(req, action: str = "") -> str:
    req_id = getattr(req, "pk", req)
    return f"{REQUESTS}/{req_id}/{action}" if action else f"{REQUESTS}/{req_id}"


# -- POST /requests ---------------------------------------------------------------------------

def test_a_partner_requests_asins_from_a_brand(world, api):
    # when
    response = api("partner_s").post(REQUESTS, request_body(world), format="json")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert REQUEST_FIELDS <= set(body)
    assert {k: body[k] for k in ("brand", "seller_id", "asins", "marketplaces", "message", "status",
                                  "age_business_days", "overdue")} == {
        "brand": world.brand_a.pk, "seller_id": "ASELLERS0001", "asins": ["B0ALPHA002"], "marketplaces": ["US"],
        "message": "We stock your teapots.", "status": "PENDING", "age_business_days": 0, "overdue": False}
    assert AuditEvent.objects.filter(action="request.created", object_id=str(body["id"])).exists()


def test_a_request_naming_no_marketplace_asks_for_the_home_marketplace(world, api):
    # when
    response = api("partner_s").post(REQUESTS, request_body(world, marketplaces=None), format="json")
    # then
    assert response.status_code == 201, response.content
    assert response.json()["marketplaces"] == ["US"]


@pytest.mark.parametrize(("override", "code", "field"), [
    ({"asins": "B0ALPHA002"}, "INVALID_ASIN", "asins"),
    ({"asins": []}, None, "asins"),
    ({"asins": ["nope"]}, "INVALID_ASIN", "asins"),
    ({"marketplaces": ["ZZ"]}, "INVALID_MARKETPLACE", "marketplaces"),
    ({"marketplaces": "DE"}, "INVALID_MARKETPLACE", "marketplaces"),
    ({"brand": "abc"}, None, "brand"),
    ({"seller_id": "bad id"}, "INVALID_SELLER_ID", "seller_id"),
    ({"message": "x" * 5001}, None, "message"),
    ({"asins": [f"B{n:09d}" for n in range(10_001)]}, "TOO_MANY_ITEMS", "asins"),
])
def test_a_malformed_request_is_400_naming_the_field(world, api, override, code, field):
    # when
    response = api("partner_s").post(REQUESTS, request_body(world, **override), format="json")
    # then
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert any(e.get("field", "").split("[")[0].split(".")[0] == field for e in errors), errors
    if code:
        assert code in {e["code"] for e in errors}
    assert not AuthorizationRequest.objects.exists()


def test_a_request_to_an_unknown_brand_is_404(world, api):
    # when
    response = api("partner_s").post(REQUESTS, request_body(world, brand=999_999), format="json")
    # then
    assert response.status_code == 404
    assert not AuthorizationRequest.objects.exists()


# -- GET /requests ----------------------------------------------------------------------------

@pytest.fixture
def requests_(world):
    """Requests by name: S's fresh and old ones to brand A, T's to brands A and B, decided ones."""
    return {
        "s_fresh": make_request(world),
        "s_old": make_request(world, asins=["B0ALPHA001"], marketplaces=["DE"], days_ago=20),
        "t_to_a": make_request(world, seller=world.seller_t, days_ago=3),
        "t_to_b": make_request(world, seller=world.seller_t, brand=world.brand_b, asins=["B0BRAVO001"]),
        "s_rejected": make_request(world, days_ago=30, status=RequestStatus.REJECTED),
    }


def test_each_request_shows_its_age_in_business_days_and_whether_it_is_overdue(world, api, requests_):
    # when
    response = api("owner_a").get(REQUESTS)
    # then
    assert response.status_code == 200
    rows = {r["id"]: r for r in response.json()["results"]}
    old = rows[requests_["s_old"].pk]
    today = timezone.now().date()
    assert old["age_business_days"] == business_days_between(requests_["s_old"].created_at.date(), today) >= 14
    assert old["overdue"] is True
    assert (rows[requests_["s_fresh"].pk]["age_business_days"], rows[requests_["s_fresh"].pk]["overdue"]) == (0, False)
    assert rows[requests_["t_to_a"].pk]["overdue"] is False
    assert rows[requests_["s_rejected"].pk]["overdue"] is False  # decided: no longer waiting
    assert all(REQUEST_FIELDS <= set(r) for r in rows.values())


@pytest.mark.parametrize(("who", "query", "expected"), [
    ("owner_a", "", {"s_fresh", "s_old", "t_to_a", "s_rejected"}),
    ("owner_a", "brand={brand_a}", {"s_fresh", "s_old", "t_to_a", "s_rejected"}),
    ("owner_a", "brand={brand_b}", set()),
    ("owner_a", "seller_id=ASELLERT0001", {"t_to_a"}),
    ("owner_a", "status=PENDING", {"s_fresh", "s_old", "t_to_a"}),
    ("owner_a", "status=REJECTED", {"s_rejected"}),
    ("owner_a", "status=APPROVED", set()),
    ("owner_a", "seller_id=ASELLERS0001&status=PENDING", {"s_fresh", "s_old"}),
    ("owner_b", "", {"t_to_b"}),
    ("partner_s", "", {"s_fresh", "s_old", "s_rejected"}),
    ("partner_t", "", {"t_to_a", "t_to_b"}),
    ("partner_t", "brand={brand_b}", {"t_to_b"}),
    ("viewer_a", "status=PENDING", {"s_fresh", "s_old", "t_to_a"}),
    ("ops", "seller_id=ASELLERT0001", {"t_to_a", "t_to_b"}),
    ("newcomer", "", set()),
])
def test_list_filters_and_visibility(world, api, requests_, who, query, expected):
    # when
    response = api(who).get(f"{REQUESTS}?{query.format(brand_a=world.brand_a.pk, brand_b=world.brand_b.pk)}")
    # then
    assert response.status_code == 200, response.content
    names = {r.pk: name for name, r in requests_.items()}
    assert {names[r["id"]] for r in response.json()["results"]} == expected


@pytest.mark.parametrize("query", ["brand=abc", "brand=99999999999999999999", "status=MAYBE"])
def test_list_with_a_malformed_filter_is_400(world, api, query):
    # when
    response = api("owner_a").get(f"{REQUESTS}?{query}")
    # then
    assert response.status_code == 400, response.content


# -- approve / reject -------------------------------------------------------------------------

def test_approve_creates_the_grants_and_answers_request_and_created(world, api):
    # given
    req = make_request(world)
    # when
    response = api("owner_a").post(url(req, "approve"), {}, format="json")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["request"]["id"], body["request"]["status"], body["request"]["decided_by"]) == (
        req.pk, "APPROVED", "owner_a")
    [grant] = body["created"]
    assert GRANT_FIELDS <= set(grant)
    assert (grant["seller_id"], grant["asin"], grant["marketplace"], grant["status"]) == (
        "ASELLERS0001", "B0ALPHA002", "US", "ACTIVE")
    assert Grant.objects.get(pk=grant["id"]).request_id == req.pk


def test_approve_under_dual_control_creates_pending_grants(world, api):
    # given
    world.brand_a.dual_control = True
    world.brand_a.save(update_fields=["dual_control"])
    req = make_request(world)
    # when
    response = api("manager_a").post(url(req, "approve"), {}, format="json")
    # then
    assert response.status_code == 200, response.content
    assert [g["status"] for g in response.json()["created"]] == ["PENDING_APPROVAL"]


def test_approve_that_fails_a_rule_is_409_with_the_failures_and_changes_nothing(world, api):
    # given: B0ALPHA002 is not in DE; T does not participate in DE
    req = make_request(world, seller=world.seller_t, asins=["B0ALPHA002"], marketplaces=["US", "DE"])
    events_before = AuditEvent.objects.count()
    # when
    response = api("owner_a").post(url(req, "approve"), {}, format="json")
    # then
    assert response.status_code == 409, response.content
    assert {(e.get("asin"), e.get("marketplace"), e["code"]) for e in response.json()["errors"]} == {
        (None, "DE", "SELLER_NOT_PARTICIPATING"), ("B0ALPHA002", "DE", "ASIN_NOT_IN_MARKETPLACE")}
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING
    assert not Grant.objects.filter(asin=world.asin_a2).exists()
    assert AuditEvent.objects.count() == events_before


def test_approve_skips_what_the_seller_already_holds(world, api):
    # given: S already holds B0ALPHA001/US
    req = make_request(world, asins=["B0ALPHA001", "B0ALPHA002"])
    # when
    response = api("owner_a").post(url(req, "approve"), {}, format="json")
    # then
    assert response.status_code == 200, response.content
    assert [g["asin"] for g in response.json()["created"]] == ["B0ALPHA002"]


def test_reject_with_a_reason(world, api):
    # given
    req = make_request(world)
    # when
    response = api("manager_a").post(url(req, "reject"), {"reason": "We do not sell in that channel."}, format="json")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"], body["decision_reason"], body["decided_by"]) == (
        req.pk, "REJECTED", "We do not sell in that channel.", "manager_a")
    assert not Grant.objects.filter(asin=world.asin_a2).exists()


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}])
def test_reject_without_a_reason_is_400_required(world, api, body):
    # given
    req = make_request(world)
    # when
    response = api("owner_a").post(url(req, "reject"), body, format="json")
    # then
    assert response.status_code == 400
    assert [(e["code"], e.get("field")) for e in response.json()["errors"]] == [("REQUIRED", "reason")]
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING


@pytest.mark.parametrize("status", [RequestStatus.APPROVED, RequestStatus.REJECTED])
@pytest.mark.parametrize("action", ["approve", "reject"])
def test_a_decided_request_cannot_be_decided_again(world, api, status, action):
    # given
    req = make_request(world, status=status)
    # when
    response = api("owner_a").post(url(req, action), {"reason": "again"}, format="json")
    # then
    assert response.status_code == 409
    assert error_codes(response) == ["INVALID_TRANSITION"]


@pytest.mark.parametrize("request_id", ["abc", "0", "1.5", "99999999999999999999"])
@pytest.mark.parametrize("action", ["", "approve", "reject"])
def test_a_malformed_request_id_in_the_path_is_404(world, api, request_id, action):
    # when
    client = api("owner_a")
    response = client.get(url(request_id)) if not action else client.post(url(request_id, action), {"reason": "x"},
                                                                           format="json")
    # then
    assert response.status_code == 404
    assert error_codes(response) == ["NOT_FOUND"]
