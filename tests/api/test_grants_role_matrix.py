"""Who may do what with grants, requests, the check and the diagnosis: role × endpoint × whose
object → expected status (API.md "Errors", DOMAIN.md "Users and roles").

"A" objects belong to brand A and seller S; "B" objects to brand B and seller T. Nobody reads or
writes across brands or sellers (404: existence is never revealed); viewers and ops staff see
but never write (403); partners see their own sellers' grants but decide nothing; anonymous
callers get 401. A refused call writes nothing.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from audit.models import AuditEvent
from authorizations.models import AuthorizationRequest, Grant, GrantStatus
from tests.api.conftest import ROLES, hold_grant
from tests.factories import AsinFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(world) -> dict[str, SimpleNamespace]:
    """For each side, a grant in every state an action needs, a pending request, and a fresh ASIN."""
    for code in ("B0ALPHA003",):
        AsinFactory(brand=world.brand_a, asin=code, marketplaces=["US"])
    asin_b = {code: AsinFactory(brand=world.brand_b, asin=code, marketplaces=["US"])
              for code in ("B0BRAVO002", "B0BRAVO003", "B0BRAVO004")}

    def request(brand, seller, asin):
        return AuthorizationRequest.objects.create(brand=brand, seller=seller, asins=[asin], marketplaces=["US"],
                                                   requested_by=None, created_at=world.grant_s.created_at)

    return {
        "A": SimpleNamespace(
            brand=world.brand_a, seller_id="ASELLERS0001", fresh_asin="B0ALPHA003", check_asin="B0ALPHA001",
            active=world.grant_s,
            pending=hold_grant(world.asin_a2, world.seller_s, status=GrantStatus.PENDING_APPROVAL),
            suspended=hold_grant(world.asin_a1, world.seller_s, marketplace="DE", status=GrantStatus.SUSPENDED),
            request=request(world.brand_a, world.seller_s, "B0ALPHA003"),
        ),
        "B": SimpleNamespace(
            brand=world.brand_b, seller_id="ASELLERT0001", fresh_asin="B0BRAVO004", check_asin="B0BRAVO001",
            active=world.grant_t,
            pending=hold_grant(asin_b["B0BRAVO002"], world.seller_t, status=GrantStatus.PENDING_APPROVAL),
            suspended=hold_grant(asin_b["B0BRAVO003"], world.seller_t, status=GrantStatus.SUSPENDED),
            request=request(world.brand_b, world.seller_t, "B0BRAVO004"),
        ),
    }


# endpoint → (method, path, body) for one side's objects
ENDPOINTS = {
    "grant.retrieve": lambda o: ("get", f"/api/v1/grants/{o.active.pk}", None),
    "grant.create": lambda o: ("post", "/api/v1/grants", {"brand": o.brand.pk, "seller_id": o.seller_id,
                                                          "asins": [o.fresh_asin], "marketplaces": ["US"]}),
    "grant.approve": lambda o: ("post", f"/api/v1/grants/{o.pending.pk}/approve", {}),
    "grant.reject": lambda o: ("post", f"/api/v1/grants/{o.pending.pk}/reject", {"reason": "no"}),
    "grant.revoke": lambda o: ("post", f"/api/v1/grants/{o.active.pk}/revoke", {"reason": "stop"}),
    "grant.suspend": lambda o: ("post", f"/api/v1/grants/{o.active.pk}/suspend", {"reason": "pause"}),
    "grant.reinstate": lambda o: ("post", f"/api/v1/grants/{o.suspended.pk}/reinstate", {}),
    "grant.revoke_all": lambda o: ("post", f"/api/v1/brands/{o.brand.pk}/sellers/{o.seller_id}/revoke-all",
                                   {"reason": "emergency"}),
    "request.create": lambda o: ("post", "/api/v1/requests", {"brand": o.brand.pk, "seller_id": o.seller_id,
                                                              "asins": [o.fresh_asin], "marketplaces": ["US"]}),
    "request.retrieve": lambda o: ("get", f"/api/v1/requests/{o.request.pk}", None),
    "request.approve": lambda o: ("post", f"/api/v1/requests/{o.request.pk}/approve", {}),
    "request.reject": lambda o: ("post", f"/api/v1/requests/{o.request.pk}/reject", {"reason": "no"}),
    "check": lambda o: ("get", f"/api/v1/check?seller_id={o.seller_id}&asin={o.check_asin}&marketplace=US", None),
    "diagnose": lambda o: ("get", f"/api/v1/diagnose?seller_id={o.seller_id}&asin={o.check_asin}&marketplace=US",
                           None),
}

# Expected status per role, as (on A's objects, on B's objects).
#                 anonymous   newcomer    owner_a     manager_a   viewer_a    owner_b     partner_s   partner_t   ops
READ_GRANT = {"anonymous": (401, 401), "newcomer": (404, 404), "owner_a": (200, 404), "manager_a": (200, 404),
              "viewer_a": (200, 404), "owner_b": (404, 200), "partner_s": (200, 404), "partner_t": (404, 200),
              "ops": (200, 200)}
DECIDE = {"anonymous": (401, 401), "newcomer": (404, 404), "owner_a": (200, 404), "manager_a": (200, 404),
          "viewer_a": (403, 404), "owner_b": (404, 200), "partner_s": (404, 404), "partner_t": (404, 404),
          "ops": (403, 403)}
CREATE_GRANT = {**DECIDE, "owner_a": (201, 404), "manager_a": (201, 404), "owner_b": (404, 201)}
REQUEST = {"anonymous": (401, 401), "newcomer": (404, 404), "owner_a": (403, 404), "manager_a": (403, 404),
           "viewer_a": (403, 404), "owner_b": (404, 403), "partner_s": (201, 404), "partner_t": (404, 201),
           "ops": (403, 403)}
EXPECTED = {
    "grant.retrieve": READ_GRANT,
    "grant.create": CREATE_GRANT,
    "grant.approve": DECIDE,
    "grant.reject": DECIDE,
    "grant.revoke": DECIDE,
    "grant.suspend": DECIDE,
    "grant.reinstate": DECIDE,
    "grant.revoke_all": DECIDE,
    "request.create": REQUEST,
    "request.retrieve": READ_GRANT,
    "request.approve": DECIDE,
    "request.reject": DECIDE,
    "check": READ_GRANT,
    "diagnose": READ_GRANT,
}

CASES = [
    pytest.param(endpoint, role, side, EXPECTED[endpoint][role][0 if side == "A" else 1],
                 id=f"{endpoint}-{role}-{side}")
    for endpoint in ENDPOINTS for role in ROLES for side in ("A", "B")
]


def snapshot() -> tuple:
    """Everything a grant or request endpoint could write."""
    return (
        sorted(Grant.objects.values_list("id", "status", "approved_by_id")),
        sorted(AuthorizationRequest.objects.values_list("id", "status")),
        AuditEvent.objects.count(),
    )


def test_the_matrix_covers_every_role_and_endpoint():
    assert set(EXPECTED) == set(ENDPOINTS)
    assert all(set(row) == set(ROLES) for row in EXPECTED.values())


@pytest.mark.parametrize(("endpoint", "role", "side", "expected"), CASES)
def test_role_matrix(world, api, objects, endpoint, role, side, expected):
    # given
    method, path, body = ENDPOINTS[endpoint](objects[side])
    before = snapshot()
    # when
    client = api(role)
    response = client.get(path) if method == "get" else client.post(path, body, format="json")
    # then
    assert response.status_code == expected, response.content
    if expected >= 400:
        code = response.json()["errors"][0]["code"]
        assert code == {401: "NOT_AUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND"}[expected]
        assert snapshot() == before  # a refused call writes nothing
    if expected == 404:
        assert str(objects[side].brand.name) not in response.content.decode()


# -- lists and batches: what each role is shown -------------------------------------------------

VISIBLE_GRANTS = {
    "newcomer": set(), "owner_a": {"A"}, "manager_a": {"A"}, "viewer_a": {"A"}, "owner_b": {"B"},
    "partner_s": {"A"}, "partner_t": {"B"}, "ops": {"A", "B"},
}


@pytest.mark.parametrize(("role", "sides"), VISIBLE_GRANTS.items())
def test_grant_list_shows_only_what_the_role_may_see(world, api, objects, role, sides):
    # when
    response = api(role).get("/api/v1/grants?page_size=100")
    # then
    assert response.status_code == 200
    listed = {g["id"] for g in response.json()["results"]}
    expected = {g.pk for side in sides for g in (objects[side].active, objects[side].pending, objects[side].suspended)}
    assert listed == expected


@pytest.mark.parametrize(("role", "sides"), VISIBLE_GRANTS.items())
def test_grant_list_filters_cannot_reach_past_visibility(world, api, objects, role, sides):
    # when: asking for the other side's brand and seller by name
    responses = [api(role).get(f"/api/v1/grants?brand={objects[side].brand.pk}&seller_id={objects[side].seller_id}")
                 for side in ("A", "B")]
    # then
    assert [bool(r.json()["results"]) for r in responses] == [side in sides for side in ("A", "B")]


@pytest.mark.parametrize(("role", "sides"), VISIBLE_GRANTS.items())
def test_batch_check_answers_only_what_the_role_may_see(world, api, objects, role, sides):
    # given
    items = [{"seller_id": objects[side].seller_id, "asin": objects[side].check_asin, "marketplace": "US"}
             for side in ("A", "B")]
    # when
    response = api(role).post("/api/v1/check/batch", {"items": items}, format="json")
    # then
    assert response.status_code == 200
    results = response.json()["results"]
    for side, result in zip(("A", "B"), results):
        if side in sides:
            assert (result["authorized"], result["grant_id"]) == (True, objects[side].active.pk)
        else:
            assert (result["authorized"], result["grant_id"], result["status"]) == (False, None, None)
            assert result.get("error") == "NOT_FOUND"


@pytest.mark.parametrize("endpoint", [
    ("get", "/api/v1/grants"), ("post", "/api/v1/grants"), ("get", "/api/v1/requests"), ("post", "/api/v1/requests"),
    ("post", "/api/v1/check/batch"), ("get", "/api/v1/check"), ("get", "/api/v1/diagnose"),
])
@pytest.mark.parametrize("token", [None, "nonsense", "0" * 40])
def test_no_or_bad_credentials_are_401(world, api, endpoint, token):
    # given
    client = api("anonymous")
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    method, path = endpoint
    # when
    response = getattr(client, method)(path, {}, format="json") if method == "post" else client.get(path)
    # then
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] in {"NOT_AUTHENTICATED", "AUTHENTICATION_FAILED"}
