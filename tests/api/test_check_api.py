"""The check and the diagnosis as a contract (API.md "Check and diagnosis"): answers, bad input,
the batch's order and limit, the diagnosis's rules and history, and query counts (the check is
the hot path ERPs call before every listing)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from authorizations.models import Grant, GrantStatus
from brands.models import RegistryStatus, Role
from tests.api.conftest import error_codes, hold_grant
from tests.factories import AsinFactory, BrandFactory, BrandMembershipFactory, SellerFactory

pytestmark = pytest.mark.django_db

CHECK, BATCH, DIAGNOSE = "/api/v1/check", "/api/v1/check/batch", "/api/v1/diagnose"
S, T = "ASELLERS0001", "ASELLERT0001"
# DOMAIN.md "The rules": every code the diagnosis reports (ALREADY_GRANTED is a bulk-grant skip).
RULE_CODES = {
    "BRAND_REGISTRY_INACTIVE", "ASIN_UNKNOWN", "ASIN_NOT_BRAND_REGISTERED", "ASIN_NOT_IN_MARKETPLACE",
    "CATEGORY_EXCLUDED", "MARKETPLACE_UNSUPPORTED", "MARKETPLACE_NOT_IN_SCOPE", "SELLER_NOT_CONNECTED",
    "SELLER_NOT_PARTICIPATING", "SELLER_HEALTH_BELOW_MIN", "SELLER_HEALTH_STALE", "SELLER_HAS_INFRINGEMENTS",
    "SELLER_ACCOUNT_RESTRICTED", "BRAND_SELLER_LIMIT", "ASIN_SELLER_LIMIT", "INVALID_TERM",
}


def check(client, seller_id=S, asin="B0ALPHA001", marketplace="US"):
    return client.get(CHECK, {"seller_id": seller_id, "asin": asin, "marketplace": marketplace})


def item(seller_id=S, asin="B0ALPHA001", marketplace="US") -> dict:
    return {"seller_id": seller_id, "asin": asin, "marketplace": marketplace}


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]


# -- GET /check -------------------------------------------------------------------------------

def test_check_an_active_grant(world, api):
    # when
    response = check(api("partner_s"))
    # then
    assert response.status_code == 200
    assert response.json() == {"authorized": True, "grant_id": world.grant_s.pk, "status": "ACTIVE",
                               "valid_until": None}


def test_check_without_any_grant(world, api):
    # when
    response = check(api("owner_a"), asin="B0ALPHA002")
    # then
    assert response.json() == {"authorized": False, "grant_id": None, "status": None, "valid_until": None}


@pytest.mark.parametrize("status", [GrantStatus.SUSPENDED, GrantStatus.PENDING_APPROVAL])
def test_check_a_live_grant_that_does_not_authorize(world, api, status):
    # given
    grant = hold_grant(world.asin_a2, world.seller_s, status=status)
    # when
    response = check(api("partner_s"), asin="B0ALPHA002")
    # then
    assert response.json() == {"authorized": False, "grant_id": grant.pk, "status": status, "valid_until": None}


def test_check_a_grant_past_its_term_is_not_authorized_at_once(world, api):
    # given: the term ended a second ago; the expiry task has not run, the row still says ACTIVE
    ended = timezone.now() - dt.timedelta(seconds=1)
    Grant.objects.filter(pk=world.grant_s.pk).update(valid_until=ended)
    # when
    response = check(api("partner_s"))
    # then
    body = response.json()
    assert (body["authorized"], body["grant_id"], body["status"]) == (False, world.grant_s.pk, "EXPIRED")
    assert dt.datetime.fromisoformat(body["valid_until"]) == ended
    assert Grant.objects.get(pk=world.grant_s.pk).status == GrantStatus.ACTIVE  # a read writes nothing


def test_check_a_grant_inside_its_term(world, api):
    # given
    until = timezone.now() + dt.timedelta(days=3)
    Grant.objects.filter(pk=world.grant_s.pk).update(valid_until=until)
    # when
    body = check(api("partner_s")).json()
    # then
    assert (body["authorized"], body["status"]) == (True, "ACTIVE")
    assert dt.datetime.fromisoformat(body["valid_until"]) == until


def test_check_a_grant_that_has_not_started(world, api):
    # given
    Grant.objects.filter(pk=world.grant_s.pk).update(valid_from=timezone.now() + dt.timedelta(days=1))
    # when / then
    assert check(api("partner_s")).json()["authorized"] is False


@pytest.mark.parametrize("registry_status", [RegistryStatus.SUSPENDED, RegistryStatus.INACTIVE, RegistryStatus.PENDING])
def test_check_on_a_brand_whose_registry_is_not_active(world, api, registry_status):
    # given
    world.brand_a.registry_status = registry_status
    world.brand_a.save(update_fields=["registry_status"])
    # when / then
    assert check(api("owner_a")).json()["authorized"] is False


def test_check_after_a_revocation_through_the_api(world, api):
    # given
    api("owner_a").post(f"/api/v1/grants/{world.grant_s.pk}/revoke", {"reason": "ended"}, format="json")
    # when / then
    assert check(api("partner_s")).json() == {"authorized": False, "grant_id": None, "status": None,
                                              "valid_until": None}


def test_check_accepts_amazons_gb_for_uk_and_lower_case_asins(world, api):
    # given
    Grant.objects.filter(pk=world.grant_s.pk).update(marketplace_id="UK")
    # when
    body = check(api("partner_s"), asin="b0alpha001", marketplace="gb").json()
    # then
    assert (body["authorized"], body["grant_id"]) == (True, world.grant_s.pk)


@pytest.mark.parametrize(("params", "code", "field"), [
    ({"seller_id": "not-a-seller"}, "INVALID_SELLER_ID", "seller_id"),
    ({"seller_id": "ABC"}, "INVALID_SELLER_ID", "seller_id"),
    ({"seller_id": "A" * 21}, "INVALID_SELLER_ID", "seller_id"),
    ({"asin": "B0ALPHA00"}, "INVALID_ASIN", "asin"),
    ({"asin": "B0ALPHA001X"}, "INVALID_ASIN", "asin"),
    ({"asin": "B0ALPHA00$"}, "INVALID_ASIN", "asin"),
    ({"marketplace": "USA"}, "INVALID_MARKETPLACE", "marketplace"),
    ({"marketplace": "XX"}, "INVALID_MARKETPLACE", "marketplace"),
    ({"marketplace": "12"}, "INVALID_MARKETPLACE", "marketplace"),
    ({"marketplace": "ATVPDKIKX0DER"}, "INVALID_MARKETPLACE", "marketplace"),
    ({"seller_id": ""}, "REQUIRED", "seller_id"),
    ({"asin": "  "}, "REQUIRED", "asin"),
])
@pytest.mark.parametrize("endpoint", [CHECK, DIAGNOSE])
def test_a_malformed_parameter_is_400_naming_it(world, api, endpoint, params, code, field):
    # when
    response = api("ops").get(endpoint, {**item(), **params})
    # then
    assert response.status_code == 400, response.content
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [(code, field)]
    assert response.json()["errors"][0]["detail"]


@pytest.mark.parametrize("endpoint", [CHECK, DIAGNOSE])
@pytest.mark.parametrize("missing", ["seller_id", "asin", "marketplace"])
def test_a_missing_parameter_is_400_required(world, api, endpoint, missing):
    # given
    params = item()
    del params[missing]
    # when
    response = api("owner_a").get(endpoint, params)
    # then
    assert response.status_code == 400
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [("REQUIRED", missing)]


def test_every_malformed_parameter_is_reported_at_once(world, api):
    # when
    response = api("owner_a").get(CHECK, {"seller_id": "x", "asin": "y"})
    # then
    assert response.status_code == 400
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
        ("INVALID_SELLER_ID", "seller_id"), ("INVALID_ASIN", "asin"), ("REQUIRED", "marketplace")]


@pytest.mark.parametrize(("who", "on_postgresql", "elsewhere"), [("owner_a", 2, 3), ("partner_s", 2, 3), ("ops", 2, 2)])
def test_check_is_a_bounded_constant_number_of_queries_and_writes_nothing(world, api, who, on_postgresql, elsewhere):
    """The token, then on PostgreSQL one statement for the caller's scope and the grant (two
    queries elsewhere); staff need no scope."""
    # given
    expected = on_postgresql if connection.vendor == "postgresql" else elsewhere
    client = api(who)
    check(client)  # the marketplace codes are read once per process, not per call
    # when
    with CaptureQueriesContext(connection) as queries:
        response = check(client)
    # then
    assert response.json()["authorized"] is True
    assert len(queries) == expected, [q["sql"] for q in queries]
    assert writes(queries) == []


def test_check_with_the_marketplace_codes_not_yet_read_costs_one_more_query(world, api, monkeypatch):
    # given: a fresh process (the codes are read on first use, then kept)
    from authorizations.api import views

    client = api("owner_a")
    check(client)
    with CaptureQueriesContext(connection) as steady:
        check(client)
    monkeypatch.setattr(views, "KNOWN_MARKETPLACES", views._KnownMarketplaces())
    # when
    with CaptureQueriesContext(connection) as queries:
        response = check(client)
    # then
    assert response.json()["authorized"] is True
    assert len(queries) == len(steady) + 1


# -- POST /check/batch ----------------------------------------------------------------------

def test_batch_answers_every_item_in_order(world, api):
    # given
    suspended = hold_grant(world.asin_a2, world.seller_s, status=GrantStatus.SUSPENDED)
    items = [
        item(asin="B0ALPHA002"), item(), item(marketplace="DE"), item(seller_id=T, asin="B0ALPHA001"),
        item(), item(asin="b0alpha002", marketplace="us"),
    ]
    # when
    response = api("owner_a").post(BATCH, {"items": items}, format="json")
    # then
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["authorized"], r["grant_id"], r["status"]) for r in results] == [
        (False, suspended.pk, "SUSPENDED"), (True, world.grant_s.pk, "ACTIVE"), (False, None, None),
        (False, None, None), (True, world.grant_s.pk, "ACTIVE"), (False, suspended.pk, "SUSPENDED"),
    ]
    assert all({"authorized", "grant_id", "status", "valid_until"} <= set(r) for r in results)


def test_batch_treats_a_grant_past_its_term_as_expired(world, api):
    # given
    Grant.objects.filter(pk=world.grant_s.pk).update(valid_until=timezone.now() - dt.timedelta(minutes=1))
    # when
    [result] = api("partner_s").post(BATCH, {"items": [item()]}, format="json").json()["results"]
    # then
    assert (result["authorized"], result["status"]) == (False, "EXPIRED")


def test_batch_of_1000_items_is_accepted(world, api):
    # when
    response = api("ops").post(BATCH, {"items": [item()] * 1000}, format="json")
    # then
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1000


def test_batch_of_1001_items_is_400_too_many_items(world, api):
    # when
    response = api("ops").post(BATCH, {"items": [item()] * 1001}, format="json")
    # then
    assert response.status_code == 400
    assert [(e["code"], e.get("field")) for e in response.json()["errors"]] == [("TOO_MANY_ITEMS", "items")]


@pytest.mark.parametrize(("bad", "code", "field"), [
    ({"asin": "B0BAD"}, "INVALID_ASIN", "items[2].asin"),
    ({"seller_id": "s"}, "INVALID_SELLER_ID", "items[2].seller_id"),
    ({"seller_id": "A" * 100}, "INVALID_SELLER_ID", "items[2].seller_id"),
    ({"marketplace": "XX"}, "INVALID_MARKETPLACE", "items[2].marketplace"),
    ({"marketplace": "USA"}, "INVALID_MARKETPLACE", "items[2].marketplace"),
    ({"marketplace": None}, "REQUIRED", "items[2].marketplace"),
    ({"asin": ""}, "REQUIRED", "items[2].asin"),
    ({"asin": ["B0ALPHA001"]}, None, "items[2].asin"),
])
def test_batch_with_a_malformed_item_is_400_naming_items_n_field(world, api, bad, code, field):
    # given
    items = [item(), item(), {**item(), **bad}, item()]
    # when
    response = api("owner_a").post(BATCH, {"items": items}, format="json")
    # then
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    if code:
        assert errors[0]["code"] == code


def test_batch_of_1000_unknown_marketplaces_reports_each_in_constant_queries(world, api):
    # given
    client = api("owner_a")
    # when
    with CaptureQueriesContext(connection) as queries:
        response = client.post(BATCH, {"items": [item(marketplace="XX")] * 1000}, format="json")
    # then: the token and one re-read of the marketplace codes
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 1000
    assert errors[999] == {"code": "INVALID_MARKETPLACE", "field": "items[999].marketplace", "marketplace": "XX",
                           "detail": errors[999]["detail"]}
    assert len(queries) == 2


def test_batch_with_an_item_missing_a_field_names_it(world, api):
    # when
    response = api("owner_a").post(BATCH, {"items": [item(), {"seller_id": S, "asin": "B0ALPHA001"}]}, format="json")
    # then
    assert response.status_code == 400
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [("REQUIRED", "items[1].marketplace")]


@pytest.mark.parametrize("body", [{}, {"items": []}, {"items": "all"}, {"items": [1, 2]}, {"items": None}, [item()]])
def test_batch_with_a_malformed_body_is_400(world, api, body):
    # when
    response = api("owner_a").post(BATCH, body, format="json")
    # then
    assert response.status_code == 400, response.content
    assert response.json()["errors"]


@pytest.mark.parametrize("who", ["owner_a", "partner_s", "ops"])
def test_batch_uses_the_same_number_of_queries_for_10_and_1000_items(world, api, who):
    # given: 100 of brand A's ASINs, half of them granted to S, asked about for S and T in US and DE
    now = timezone.now()
    asins = [AsinFactory(brand=world.brand_a, marketplaces=["US"]) for _ in range(100)]
    Grant.objects.bulk_create([
        Grant(brand=world.brand_a, seller=world.seller_s, asin=asin, marketplace_id="US", status=GrantStatus.ACTIVE,
              valid_from=now, status_changed_at=now)
        for asin in asins[::2]
    ])
    known = [item(seller_id=seller, asin=asin.asin, marketplace=market)
             for asin in asins for seller in (S, T) for market in ("US", "DE")]
    unknown = [item(seller_id=T, asin=f"B1{n:08d}") for n in range(600)]  # in no catalog
    every = [pair for pairs in zip(known, unknown[:400]) for pair in pairs] + unknown[400:]
    assert len(every) == 1000
    client = api(who)
    client.post(BATCH, {"items": every[:1]}, format="json")  # marketplace codes: read once per process
    counts = {}
    # when
    for size in (10, 1000):
        with CaptureQueriesContext(connection) as queries:
            response = client.post(BATCH, {"items": every[:size]}, format="json")
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        counts[size] = len(queries)
        assert writes(queries) == []
    # then: token, ops-group test, linked sellers, ASIN catalogs, grants (ops: token + grants)
    assert counts[10] == counts[1000] == (2 if who == "ops" else 5)


# -- GET /diagnose ----------------------------------------------------------------------------

def test_diagnose_a_revoked_grant_shows_every_rule_the_grant_and_who_revoked_it(world, api):
    # given
    api("owner_a").post(f"/api/v1/grants/{world.grant_s.pk}/revoke", {"reason": "counterfeit complaint"},
                        format="json")
    # when
    response = api("partner_s").get(DIAGNOSE, item())
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"authorized", "checks", "grant", "history", "amazon"} <= set(body)
    assert body["authorized"] is False
    assert {c["code"] for c in body["checks"]} == RULE_CODES
    assert all({"code", "passed", "detail"} <= set(c) and isinstance(c["passed"], bool) for c in body["checks"])
    assert (body["grant"]["id"], body["grant"]["status"]) == (world.grant_s.pk, "REVOKED")
    revoked = [e for e in body["history"] if e["action"] == "grant.revoked"]
    assert [(e["actor"], e["reason"], e["object_id"], e["source"]) for e in revoked] == [
        ("owner_a", "counterfeit complaint", str(world.grant_s.pk), "api")]
    assert body["amazon"] is None or {"checked_at", "restrictions"} <= set(body["amazon"])


def test_diagnose_an_authorized_seller_passes_every_rule(world, api):
    # when
    body = api("owner_a").get(DIAGNOSE, item()).json()
    # then
    assert body["authorized"] is True
    assert [c["code"] for c in body["checks"] if not c["passed"]] == []
    assert body["grant"]["id"] == world.grant_s.pk


def test_diagnose_says_why_not_with_every_failing_rule(world, api):
    # given: B0ALPHA002 is not in DE; S's health is stale and low
    world.seller_s.health_score = 70
    world.seller_s.health_checked_at = timezone.now() - dt.timedelta(days=30)
    world.seller_s.save(update_fields=["health_score", "health_checked_at"])
    # when
    body = api("partner_s").get(DIAGNOSE, item(asin="B0ALPHA002", marketplace="DE")).json()
    # then
    failed = {c["code"]: c["detail"] for c in body["checks"] if not c["passed"]}
    assert {"ASIN_NOT_IN_MARKETPLACE", "MARKETPLACE_NOT_IN_SCOPE", "SELLER_HEALTH_BELOW_MIN",
            "SELLER_HEALTH_STALE"} <= set(failed)
    assert all(failed.values())
    assert (body["authorized"], body["grant"], body["history"]) == (False, None, [])


def test_diagnose_an_asin_in_no_catalog(world, api):
    # when
    body = api("partner_s").get(DIAGNOSE, item(asin="B0NOWHERE1")).json()
    # then
    assert {c["code"] for c in body["checks"] if not c["passed"]} >= {"ASIN_UNKNOWN"}
    assert {c["code"] for c in body["checks"]} == RULE_CODES


# -- the same ASIN code in another brand's catalog ----------------------------------------------

@pytest.fixture
def copycat(world):
    """The newcomer registers a brand and imports brand A's ASIN code into it."""
    brand_c = BrandFactory(name="Copycat", registry_status=RegistryStatus.PENDING)
    BrandMembershipFactory(brand=brand_c, user=world.newcomer, role=Role.OWNER)
    AsinFactory(brand=brand_c, asin="B0ALPHA001", marketplaces=["US"])
    return brand_c


def test_importing_another_brands_asin_does_not_reveal_its_grants_to_the_check(world, api, copycat):
    # when
    single = check(api("newcomer")).json()
    [batched] = api("newcomer").post(BATCH, {"items": [item()]}, format="json").json()["results"]
    # then
    assert single == {"authorized": False, "grant_id": None, "status": None, "valid_until": None}
    assert (batched["authorized"], batched["grant_id"]) == (False, None)


def test_importing_another_brands_asin_does_not_reveal_its_grants_to_the_diagnosis(world, api, copycat):
    # given: brand A revoked S's grant with a reason
    api("owner_a").post(f"/api/v1/grants/{world.grant_s.pk}/revoke", {"reason": "secret reason"}, format="json")
    hold_grant(world.asin_a1, world.seller_s)
    # when
    response = api("newcomer").get(DIAGNOSE, item())
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["authorized"], body["grant"], body["history"]) == (False, None, [])
    assert "secret reason" not in response.content.decode()
    assert "Alpha" not in response.content.decode()


def test_a_brand_member_still_sees_their_own_grant_on_a_shared_asin_code(world, api, copycat):
    # given: the copycat brand's own grant for T on its B0ALPHA001 row
    own_asin = copycat.asins.get(asin="B0ALPHA001")
    own = hold_grant(own_asin, world.seller_t)
    # when
    body = check(api("newcomer"), seller_id=T).json()
    # then
    assert (body["grant_id"], body["status"]) == (own.pk, "ACTIVE")


def test_a_partner_sees_every_grant_of_its_seller_on_a_shared_asin_code(world, api, copycat):
    # when
    body = check(api("partner_s")).json()
    # then
    assert (body["authorized"], body["grant_id"]) == (True, world.grant_s.pk)


def test_check_of_an_unconnected_seller_is_just_not_authorized(world, api):
    # given
    SellerFactory(seller_id="AOTHER000001", connected=False)
    # when
    body = check(api("owner_a"), seller_id="AOTHER000001").json()
    # then
    assert body == {"authorized": False, "grant_id": None, "status": None, "valid_until": None}


def test_a_member_gets_their_own_brands_grant_when_another_brand_shares_the_asin_code(api, world):
    # given brand B also lists brand A's ASIN code, and seller S holds an ACTIVE grant on both
    copy_b = AsinFactory(brand=world.brand_b, asin=world.asin_a1.asin, marketplaces=["US"])
    grant_b = hold_grant(copy_b, world.seller_s)
    params = {"seller_id": world.seller_s.seller_id, "asin": world.asin_a1.asin, "marketplace": "US"}
    # when each brand's owner checks (neither is the seller's partner)
    as_a = api("owner_a").get("/api/v1/check", params).json()
    as_b = api("owner_b").get("/api/v1/check", params).json()
    batch_b = api("owner_b").post("/api/v1/check/batch", {"items": [params]}, format="json").json()["results"][0]
    diagnosis_b = api("owner_b").get("/api/v1/diagnose", params).json()
    # then each is told about its own brand's grant, authorized, never the other's
    assert (as_a["authorized"], as_a["grant_id"]) == (True, world.grant_s.pk)
    assert (as_b["authorized"], as_b["grant_id"]) == (True, grant_b.pk)
    assert (batch_b["authorized"], batch_b["grant_id"]) == (True, grant_b.pk)
    assert diagnosis_b["authorized"] is True and diagnosis_b["grant"]["id"] == grant_b.pk
    assert {event["brand"] for event in diagnosis_b["history"]} <= {world.brand_b.pk}
