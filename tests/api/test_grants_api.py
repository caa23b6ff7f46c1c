"""The grants API as a contract (API.md "Grants"): creating in bulk, listing with every filter,
every state transition, the emergency stop, bad input, and the list's query count.

The world (``tests/api/conftest.py``): brand A (owner_a, manager_a, viewer_a) with ASINs
B0ALPHA001 (US, DE) and B0ALPHA002 (US); seller S (partner_s, US + DE) holding B0ALPHA001/US;
brand B (owner_b) whose B0BRAVO001/US seller T (partner_t) holds.
"""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from authorizations import selectors
from authorizations.models import Grant, GrantStatus
from tests.api.conftest import error_codes, hold_grant
from tests.factories import AsinFactory

pytestmark = pytest.mark.django_db

GRANTS = "/api/v1/grants"
GRANT_FIELDS = {"id", "brand", "seller_id", "asin", "marketplace", "status", "valid_from", "valid_until",
                "granted_by", "approved_by", "created_at", "status_changed_at", "reason"}


def grant_url(grant_or_id, action: str = "") -> str:
    grant_id = getattr(grant_or_id, "pk", grant_or_id)
    return f"{GRANTS}/{grant_id}/{action}" if action else f"{GRANTS}/{grant_id}"


def create_body(world, **overrides) -> dict:
    body = {"brand": world.brand_a.pk, "seller_id": world.seller_s.seller_id, "asins": ["B0ALPHA002"],
            "marketplaces": ["US"], "reason": "distribution agreement 2025"}
    return {**body, **overrides}


def failures(response) -> set[tuple[str | None, str | None, str]]:
    return {(e.get("asin"), e.get("marketplace"), e["code"]) for e in response.json()["errors"]}


def status_of(grant: Grant) -> str:
    grant.refresh_from_db()
    return grant.status


@pytest.fixture
def pending_grant(world, api):
    """Brand A under dual control; owner_a has granted S B0ALPHA002/US (waiting for approval)."""
    world.brand_a.dual_control = True
    world.brand_a.save(update_fields=["dual_control"])
    response = api("owner_a").post(GRANTS, create_body(world), format="json")
    assert response.status_code == 201, response.content
    return Grant.objects.get(pk=response.json()["created"][0]["id"])


# -- POST /grants -------------------------------------------------------------------------------

def test_create_answers_201_with_the_created_grants(world, api):
    # when
    response = api("owner_a").post(GRANTS, create_body(world), format="json")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["skipped"] == []
    [grant] = body["created"]
    assert GRANT_FIELDS <= set(grant)
    assert {k: grant[k] for k in ("brand", "seller_id", "asin", "marketplace", "status", "granted_by", "approved_by",
                                   "valid_until", "reason")} == {
        "brand": world.brand_a.pk, "seller_id": "ASELLERS0001", "asin": "B0ALPHA002", "marketplace": "US",
        "status": "ACTIVE", "granted_by": "owner_a", "approved_by": "owner_a", "valid_until": None,
        "reason": "distribution agreement 2025"}
    stored = Grant.objects.get(pk=grant["id"])
    assert (stored.seller_id, stored.asin.asin, stored.marketplace_id) == (world.seller_s.pk, "B0ALPHA002", "US")
    assert AuditEvent.objects.filter(action="grant.created", object_id=str(stored.pk), source="api").exists()


def test_create_takes_a_term_and_answers_times_in_utc_iso_8601(world, api):
    # given
    until = (timezone.now() + dt.timedelta(days=90)).replace(microsecond=0)
    # when
    response = api("owner_a").post(GRANTS, create_body(world, valid_until=until.isoformat()), format="json")
    # then
    assert response.status_code == 201, response.content
    [grant] = response.json()["created"]
    assert grant["valid_until"] == until.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    assert dt.datetime.fromisoformat(grant["valid_from"]) <= dt.datetime.fromisoformat(grant["created_at"])


def test_create_skips_pairs_the_seller_already_holds(world, api):
    # when: S already holds B0ALPHA001/US
    response = api("owner_a").post(GRANTS, create_body(world, asins=["B0ALPHA001", "B0ALPHA002"]), format="json")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(g["asin"], g["marketplace"]) for g in body["created"]] == [("B0ALPHA002", "US")]
    assert [{k: s[k] for k in ("asin", "marketplace", "code")} for s in body["skipped"]] == [
        {"asin": "B0ALPHA001", "marketplace": "US", "code": "ALREADY_GRANTED"}]
    assert Grant.objects.filter(seller=world.seller_s, asin=world.asin_a1).count() == 1


def test_create_refuses_all_with_every_failing_pair_and_writes_nothing(world, api):
    # given: T participates in US only; B0ALPHA002 is not in DE; B0NOTEXIST is in no catalog
    grants_before, events_before = Grant.objects.count(), AuditEvent.objects.count()
    body = create_body(world, seller_id="ASELLERT0001", asins=["B0ALPHA001", "B0ALPHA002", "B0NOTEXIST"],
                       marketplaces=["US", "DE"])
    # when
    response = api("owner_a").post(GRANTS, body, format="json")
    # then
    assert response.status_code == 409, response.content
    assert failures(response) == {
        (None, "DE", "SELLER_NOT_PARTICIPATING"),
        ("B0ALPHA002", "DE", "ASIN_NOT_IN_MARKETPLACE"),
        ("B0NOTEXIST", None, "ASIN_UNKNOWN"),
    }
    assert all(e["detail"] for e in response.json()["errors"])
    assert (Grant.objects.count(), AuditEvent.objects.count()) == (grants_before, events_before)


def test_create_under_dual_control_waits_for_approval(world, api):
    # given
    world.brand_a.dual_control = True
    world.brand_a.save(update_fields=["dual_control"])
    # when
    response = api("owner_a").post(GRANTS, create_body(world), format="json")
    # then
    assert response.status_code == 201, response.content
    [grant] = response.json()["created"]
    assert (grant["status"], grant["granted_by"], grant["approved_by"]) == ("PENDING_APPROVAL", "owner_a", None)
    assert not selectors.check(seller_id="ASELLERS0001", asin="B0ALPHA002", marketplace="US").authorized


def test_create_for_a_seller_never_connected_is_409_seller_not_connected(world, api):
    # when
    response = api("owner_a").post(GRANTS, create_body(world, seller_id="AUNKNOWN0001"), format="json")
    # then
    assert response.status_code == 409, response.content
    assert error_codes(response) == ["SELLER_NOT_CONNECTED"]
    assert response.json()["errors"][0]["seller_id"] == "AUNKNOWN0001"
    assert not Grant.objects.filter(asin=world.asin_a2).exists()


def test_create_partial_grants_the_eligible_pairs(world, api):
    # when: B0ALPHA002 is verified in US only
    response = api("owner_a").post(GRANTS, create_body(world, marketplaces=["US", "DE"], partial=True), format="json")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(g["asin"], g["marketplace"]) for g in body["created"]] == [("B0ALPHA002", "US")]
    assert ("B0ALPHA002", "DE", "ASIN_NOT_IN_MARKETPLACE") in {(f.get("asin"), f.get("marketplace"), f["code"])
                                                              for f in body["failed"]}
    assert not Grant.objects.filter(asin=world.asin_a2, marketplace_id="DE").exists()


def test_create_partial_with_nothing_eligible_is_still_409(world, api):
    # when
    response = api("owner_a").post(GRANTS, create_body(world, marketplaces=["DE"], partial=True), format="json")
    # then
    assert response.status_code == 409
    assert failures(response) == {("B0ALPHA002", "DE", "ASIN_NOT_IN_MARKETPLACE")}


def test_create_without_marketplaces_covers_the_home_marketplace(world, api):
    # when
    response = api("owner_a").post(GRANTS, create_body(world, marketplaces=None), format="json")
    # then
    assert response.status_code == 201, response.content
    assert [g["marketplace"] for g in response.json()["created"]] == ["US"]


def test_create_with_a_term_already_over_is_409_invalid_term(world, api):
    # given
    past = (timezone.now() - dt.timedelta(days=1)).isoformat()
    # when
    response = api("owner_a").post(GRANTS, create_body(world, valid_until=past), format="json")
    # then
    assert response.status_code == 409
    assert "INVALID_TERM" in error_codes(response)


# -- GET /grants ------------------------------------------------------------------------------

@pytest.fixture
def listed(world):
    """Brand A's grants (owner_a's view), by name; brand B's grant_t is not among them."""
    now = timezone.now()
    return {
        "s_a1_us": world.grant_s,
        "s_a2_us_suspended": hold_grant(world.asin_a2, world.seller_s, status=GrantStatus.SUSPENDED),
        "s_a1_de_expiring": hold_grant(world.asin_a1, world.seller_s, marketplace="DE",
                                       valid_until=now + dt.timedelta(days=5)),
        "t_a2_us_past_term": hold_grant(world.asin_a2, world.seller_t, valid_until=now - dt.timedelta(days=1)),
        "t_a1_us_revoked": hold_grant(world.asin_a1, world.seller_t, status=GrantStatus.REVOKED),
        "t_a1_de_later": hold_grant(world.asin_a1, world.seller_t, marketplace="DE",
                                    valid_until=now + dt.timedelta(days=30)),
    }


ALL_OF_A = {"s_a1_us", "s_a2_us_suspended", "s_a1_de_expiring", "t_a2_us_past_term", "t_a1_us_revoked", "t_a1_de_later"}


@pytest.mark.parametrize(("query", "expected"), [
    ("", ALL_OF_A),
    ("brand={brand_a}", ALL_OF_A),
    ("brand={brand_b}", set()),
    ("seller_id=ASELLERS0001", {"s_a1_us", "s_a2_us_suspended", "s_a1_de_expiring"}),
    ("asin=B0ALPHA002", {"s_a2_us_suspended", "t_a2_us_past_term"}),
    ("marketplace=DE", {"s_a1_de_expiring", "t_a1_de_later"}),
    ("status=ACTIVE", {"s_a1_us", "s_a1_de_expiring", "t_a1_de_later"}),
    ("status=SUSPENDED", {"s_a2_us_suspended"}),
    ("status=EXPIRED", {"t_a2_us_past_term"}),
    ("status=REVOKED", {"t_a1_us_revoked"}),
    ("status=PENDING_APPROVAL", set()),
    ("expiring_within_days=7", {"s_a1_de_expiring"}),
    ("expiring_within_days=60", {"s_a1_de_expiring", "t_a1_de_later"}),
    ("seller_id=ASELLERT0001&marketplace=DE&status=ACTIVE", {"t_a1_de_later"}),
    ("brand={brand_a}&asin=B0ALPHA001&status=ACTIVE&expiring_within_days=14", {"s_a1_de_expiring"}),
])
def test_list_filters(world, api, listed, query, expected):
    # when
    url = f"{GRANTS}?{query.format(brand_a=world.brand_a.pk, brand_b=world.brand_b.pk)}&page_size=100"
    response = api("owner_a").get(url)
    # then
    assert response.status_code == 200, response.content
    by_id = {g.pk: name for name, g in listed.items()}
    assert {by_id.get(g["id"], g["id"]) for g in response.json()["results"]} == expected


def test_list_shows_a_grant_past_its_term_as_expired(world, api, listed):
    # when
    response = api("owner_a").get(f"{GRANTS}?asin=B0ALPHA002&seller_id=ASELLERT0001")
    # then
    [grant] = response.json()["results"]
    assert (grant["id"], grant["status"]) == (listed["t_a2_us_past_term"].pk, "EXPIRED")


def test_list_is_paginated_with_results_and_next(world, api, listed):
    # when
    first = api("owner_a").get(f"{GRANTS}?page_size=4").json()
    second = api("owner_a").get(first["next"]).json()
    # then
    assert len(first["results"]) == 4 and second["next"] is None
    assert {g["id"] for g in first["results"] + second["results"]} == {g.pk for g in listed.values()}
    assert all(GRANT_FIELDS <= set(g) for g in first["results"])


def test_retrieve_one_grant(world, api):
    # when
    response = api("partner_s").get(grant_url(world.grant_s))
    # then
    assert response.status_code == 200
    assert GRANT_FIELDS <= set(response.json())
    assert response.json()["seller_id"] == "ASELLERS0001"


def test_list_query_count_does_not_grow_with_the_page(world, api):
    # given: 120 grants of brand A with everything a grant points at filled in
    sellers = [world.seller_s, world.seller_t]
    asins = [AsinFactory(brand=world.brand_a, marketplaces=["US"]) for _ in range(60)]
    now = timezone.now()
    Grant.objects.bulk_create([
        Grant(brand=world.brand_a, seller=seller, asin=asin, marketplace_id="US", status=GrantStatus.ACTIVE,
              valid_from=now, status_changed_at=now, granted_by=world.owner_a, approved_by=world.manager_a)
        for asin in asins for seller in sellers
    ])
    client = api("owner_a")
    counts = {}
    # when
    for page_size in (5, 100):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{GRANTS}?page_size={page_size}")
        assert response.status_code == 200
        assert len(response.json()["results"]) == page_size
        counts[page_size] = len(queries)
    # then: the token, the ops-group test, COUNT, the page (visibility is a subquery) — 4 for any page
    assert counts == {5: 4, 100: 4}


# -- transitions --------------------------------------------------------------------------------

def test_approve_by_another_member_activates(world, api, pending_grant):
    # when
    response = api("manager_a").post(grant_url(pending_grant, "approve"), {}, format="json")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert GRANT_FIELDS <= set(body)
    assert (body["id"], body["status"], body["granted_by"], body["approved_by"]) == (
        pending_grant.pk, "ACTIVE", "owner_a", "manager_a")
    assert selectors.check(seller_id="ASELLERS0001", asin="B0ALPHA002", marketplace="US").authorized


def test_approving_your_own_grant_under_dual_control_is_409_self_approval(world, api, pending_grant):
    # when
    response = api("owner_a").post(grant_url(pending_grant, "approve"), {}, format="json")
    # then
    assert response.status_code == 409
    assert error_codes(response) == ["SELF_APPROVAL"]
    assert status_of(pending_grant) == GrantStatus.PENDING_APPROVAL


def test_reject_with_a_reason(world, api, pending_grant):
    # when
    response = api("manager_a").post(grant_url(pending_grant, "reject"), {"reason": "no letter yet"}, format="json")
    # then
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "REJECTED"
    assert AuditEvent.objects.get(action="grant.rejected", object_id=str(pending_grant.pk)).reason == "no letter yet"


def test_revoke_is_immediate_and_answers_the_grant(world, api):
    # given
    before = world.grant_s.status_changed_at
    # when
    response = api("owner_a").post(grant_url(world.grant_s, "revoke"), {"reason": "contract ended"}, format="json")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"]) == (world.grant_s.pk, "REVOKED")
    assert dt.datetime.fromisoformat(body["status_changed_at"]) > before
    assert not selectors.check(seller_id="ASELLERS0001", asin="B0ALPHA001", marketplace="US").authorized
    event = AuditEvent.objects.get(action="grant.revoked", object_id=str(world.grant_s.pk))
    assert (event.actor, event.source, event.reason) == ("owner_a", "api", "contract ended")


def test_suspend_then_reinstate(world, api):
    # when
    suspended = api("manager_a").post(grant_url(world.grant_s, "suspend"), {"reason": "counterfeit report"},
                                      format="json")
    reinstated = api("owner_a").post(grant_url(world.grant_s, "reinstate"), {}, format="json")
    # then
    assert (suspended.status_code, suspended.json()["status"]) == (200, "SUSPENDED")
    assert (reinstated.status_code, reinstated.json()["status"]) == (200, "ACTIVE")
    assert selectors.check(seller_id="ASELLERS0001", asin="B0ALPHA001", marketplace="US").authorized


@pytest.mark.parametrize("action", ["reject", "revoke", "suspend"])
@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_taking_access_away_without_a_reason_is_400_required(world, api, pending_grant, action, body):
    # given: reject needs a pending grant, revoke and suspend an active one
    grant = pending_grant if action == "reject" else world.grant_s
    status = status_of(grant)
    # when
    response = api("manager_a").post(grant_url(grant, action), body, format="json")
    # then
    assert response.status_code == 400
    assert [(e["code"], e.get("field")) for e in response.json()["errors"]] == [("REQUIRED", "reason")]
    assert status_of(grant) == status


@pytest.mark.parametrize(("start", "action"), [
    (GrantStatus.ACTIVE, "approve"),
    (GrantStatus.ACTIVE, "reject"),
    (GrantStatus.ACTIVE, "reinstate"),
    (GrantStatus.SUSPENDED, "suspend"),
    (GrantStatus.SUSPENDED, "approve"),
    (GrantStatus.PENDING_APPROVAL, "suspend"),
    (GrantStatus.PENDING_APPROVAL, "reinstate"),
    (GrantStatus.REVOKED, "revoke"),
    (GrantStatus.REVOKED, "reinstate"),
    (GrantStatus.REVOKED, "approve"),
    (GrantStatus.REJECTED, "approve"),
    (GrantStatus.EXPIRED, "reinstate"),
    (GrantStatus.EXPIRED, "revoke"),
])
def test_a_transition_its_state_does_not_allow_is_409_invalid_transition(world, api, start, action):
    # given
    grant = hold_grant(world.asin_a2, world.seller_s, status=start)
    # when
    response = api("owner_a").post(grant_url(grant, action), {"reason": "because"}, format="json")
    # then
    assert response.status_code == 409, response.content
    assert error_codes(response) == ["INVALID_TRANSITION"]
    assert status_of(grant) == start


def test_a_grant_past_its_term_cannot_be_revoked_or_suspended(world, api):
    # given: ACTIVE in the database, but its term ended yesterday (the expiry task has not run)
    grant = hold_grant(world.asin_a2, world.seller_s, valid_until=timezone.now() - dt.timedelta(days=1))
    # when
    responses = [api("owner_a").post(grant_url(grant, action), {"reason": "x"}, format="json")
                 for action in ("suspend", "revoke")]
    # then
    assert [(r.status_code, error_codes(r)) for r in responses] == [(409, ["INVALID_TRANSITION"])] * 2


# -- the emergency stop -------------------------------------------------------------------------

def revoke_all_url(brand, seller_id: str) -> str:
    return f"/api/v1/brands/{getattr(brand, 'pk', brand)}/sellers/{seller_id}/revoke-all"


def test_revoke_all_revokes_every_live_grant_of_the_seller_on_the_brand(world, api):
    # given: S holds three live grants on brand A (one suspended, one pending); T's grant on B stays
    hold_grant(world.asin_a2, world.seller_s, status=GrantStatus.SUSPENDED)
    hold_grant(world.asin_a1, world.seller_s, marketplace="DE", status=GrantStatus.PENDING_APPROVAL)
    hold_grant(world.asin_a1, world.seller_t)
    # when
    response = api("owner_a").post(revoke_all_url(world.brand_a, "ASELLERS0001"), {"reason": "counterfeits"},
                                   format="json")
    # then
    assert response.status_code == 200, response.content
    assert response.json() == {"revoked": 3}
    assert set(Grant.objects.filter(seller=world.seller_s).values_list("status", flat=True)) == {"REVOKED"}
    assert set(Grant.objects.filter(seller=world.seller_t).values_list("status", flat=True)) == {"ACTIVE"}
    assert AuditEvent.objects.filter(action="grant.revoked", seller_id="ASELLERS0001", reason="counterfeits").count() == 3


def test_revoke_all_with_nothing_live_revokes_nothing(world, api):
    # given
    api("owner_a").post(revoke_all_url(world.brand_a, "ASELLERS0001"), {"reason": "first"}, format="json")
    # when
    response = api("owner_a").post(revoke_all_url(world.brand_a, "ASELLERS0001"), {"reason": "again"}, format="json")
    # then
    assert (response.status_code, response.json()) == (200, {"revoked": 0})


def test_revoke_all_without_a_reason_is_400_required(world, api):
    # when
    response = api("owner_a").post(revoke_all_url(world.brand_a, "ASELLERS0001"), {}, format="json")
    # then
    assert response.status_code == 400
    assert [(e["code"], e.get("field")) for e in response.json()["errors"]] == [("REQUIRED", "reason")]
    assert status_of(world.grant_s) == GrantStatus.ACTIVE


@pytest.mark.parametrize(("brand", "seller_id"), [("abc", "ASELLERS0001"), ("0", "ASELLERS0001"),
                                                  ("99999999999999999999", "ASELLERS0001"), ("{brand_a}", "nope"),
                                                  ("{brand_a}", "AUNKNOWN0001")])
def test_revoke_all_of_an_unknown_brand_or_seller_is_404(world, api, brand, seller_id):
    # when
    response = api("owner_a").post(revoke_all_url(brand.format(brand_a=world.brand_a.pk), seller_id),
                                   {"reason": "x"}, format="json")
    # then
    assert response.status_code == 404
    assert error_codes(response) == ["NOT_FOUND"]


# -- bad input: 400 with a stable code and the field, never a 500, nothing written --------------

@pytest.mark.parametrize(("override", "code", "field"), [
    ({"asins": "B0ALPHA002"}, "INVALID_ASIN", "asins"),
    ({"asins": {"asin": "B0ALPHA002"}}, "INVALID_ASIN", "asins"),
    ({"asins": []}, None, "asins"),
    ({"asins": ["B0alpha00!"]}, "INVALID_ASIN", "asins"),
    ({"asins": ["B0ALPHA002" * 20]}, "INVALID_ASIN", "asins"),
    ({"marketplaces": "US"}, "INVALID_MARKETPLACE", "marketplaces"),
    ({"marketplaces": ["XX"]}, "INVALID_MARKETPLACE", "marketplaces"),
    ({"marketplaces": ["United States of America"]}, "INVALID_MARKETPLACE", "marketplaces"),
    ({"brand": "abc"}, None, "brand"),
    ({"brand": None}, "REQUIRED", "brand"),
    ({"brand": 2**70}, None, "brand"),
    ({"brand": [1]}, None, "brand"),
    ({"seller_id": "not a seller"}, "INVALID_SELLER_ID", "seller_id"),
    ({"seller_id": "A" * 60}, "INVALID_SELLER_ID", "seller_id"),
    ({"seller_id": 12345}, "INVALID_SELLER_ID", "seller_id"),
    ({"valid_until": "not-a-date"}, "INVALID_DATE", "valid_until"),
    ({"valid_until": "2025-02-30T00:00:00Z"}, "INVALID_DATE", "valid_until"),
    ({"valid_from": 12}, "INVALID_DATE", "valid_from"),
    ({"partial": "perhaps"}, None, "partial"),
    ({"reason": ["why"]}, None, "reason"),
])
def test_create_with_malformed_input_is_400_naming_the_field(world, api, override, code, field):
    # given
    grants_before, events_before = Grant.objects.count(), AuditEvent.objects.count()
    # when
    response = api("owner_a").post(GRANTS, create_body(world, **override), format="json")
    # then
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert errors and all(e["code"] and e["detail"] for e in errors)
    assert any(e.get("field", "").split("[")[0].split(".")[0] == field for e in errors), errors
    if code is not None:
        assert code in {e["code"] for e in errors}
    assert (Grant.objects.count(), AuditEvent.objects.count()) == (grants_before, events_before)


@pytest.mark.parametrize("missing", ["brand", "seller_id", "asins"])
def test_create_without_a_required_field_is_400_required(world, api, missing):
    # given
    body = create_body(world)
    del body[missing]
    # when
    response = api("owner_a").post(GRANTS, body, format="json")
    # then
    assert response.status_code == 400
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [("REQUIRED", missing)]


def test_create_with_more_than_10000_asins_is_400_too_many_items(world, api):
    # when
    response = api("owner_a").post(GRANTS, create_body(world, asins=[f"B{n:09d}" for n in range(10_001)]),
                                   format="json")
    # then
    assert response.status_code == 400
    assert [(e["code"], e.get("field")) for e in response.json()["errors"]] == [("TOO_MANY_ITEMS", "asins")]
    assert Grant.objects.count() == 2


def test_create_with_more_than_10000_pairs_is_400_too_many_items(world, api):
    # when: 5,001 ASINs × 2 marketplaces
    response = api("owner_a").post(GRANTS, create_body(world, asins=[f"B{n:09d}" for n in range(5_001)],
                                                       marketplaces=["US", "DE"]), format="json")
    # then
    assert response.status_code == 400
    assert error_codes(response) == ["TOO_MANY_ITEMS"]


@pytest.mark.parametrize("raw", ["{not json", "", "[]", '"a string"', "null", "12"])
def test_create_with_a_body_that_is_not_an_object_is_400(world, api, raw):
    # when
    response = api("owner_a").post(GRANTS, raw, content_type="application/json")
    # then
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["code"] in {"INVALID_JSON", "INVALID", "REQUIRED"}
    assert Grant.objects.count() == 2


@pytest.mark.parametrize("grant_id", ["abc", "0", "-1", "1.5", "99999999999999999999", "%00"])
@pytest.mark.parametrize("action", ["", "approve", "reject", "revoke", "suspend", "reinstate"])
def test_a_malformed_grant_id_in_the_path_is_404(world, api, grant_id, action):
    # when
    client = api("owner_a")
    url = grant_url(grant_id, action)
    response = client.get(url) if not action else client.post(url, {"reason": "x"}, format="json")
    # then
    assert response.status_code == 404
    assert error_codes(response) == ["NOT_FOUND"]


@pytest.mark.parametrize("query", [
    "brand=abc", "brand=99999999999999999999", "brand=1.5", "brand=-3", "status=BOGUS", "expiring_within_days=-1",
    "expiring_within_days=abc", "expiring_within_days=99999999999", "expiring_within_days=NaN",
])
def test_list_with_a_malformed_filter_is_400(world, api, query):
    # when
    response = api("owner_a").get(f"{GRANTS}?{query}")
    # then
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == query.split("=")[0]


@pytest.mark.parametrize("body", [[], "x", {"reason": ["a"]}, {"reason": {"a": 1}}, {"reason": "x" * 2001}])
def test_a_transition_with_a_malformed_body_is_400_and_changes_nothing(world, api, body):
    # when
    response = api("owner_a").post(grant_url(world.grant_s, "revoke"), body, format="json")
    # then
    assert response.status_code == 400, response.content
    assert status_of(world.grant_s) == GrantStatus.ACTIVE
