"""Sellers over the API (API.md "Sellers": list, detail, update)."""
from __future__ import annotations

import pytest

from audit.models import AuditEvent
from sellers.models import Seller
from tests.api.conftest import ROLES, error_codes
from tests.factories import SellerFactory

SELLER_FIELDS = {"seller_id", "name", "home_marketplace", "marketplaces", "health_score", "health_checked_at",
                 "infringement_count", "account_status", "is_test_account", "connected", "last_synced_at"}


def seller_url(seller_id: str) -> str:
    return f"/api/v1/sellers/{seller_id}"


def snapshot() -> tuple:
    return (sorted(Seller.objects.values_list("seller_id", "home_marketplace_id", "is_test_account", "name")),
            AuditEvent.objects.count())


# -- read ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("role, seller_ids", [
    ("partner_s", ["ASELLERS0001"]), ("partner_t", ["ASELLERT0001"]),
    ("owner_a", ["ASELLERS0001"]), ("manager_a", ["ASELLERS0001"]), ("viewer_a", ["ASELLERS0001"]),
    ("owner_b", ["ASELLERT0001"]), ("newcomer", []), ("ops", ["ASELLERS0001", "ASELLERT0001"]),
])
def test_seller_list_holds_the_callers_sellers_only(api, world, role, seller_ids):
    # given: a seller nobody in the world is attached to
    SellerFactory(seller_id="ALONELY00001")

    # when
    response = api(role).get("/api/v1/sellers")

    # then
    assert response.status_code == 200
    body = response.json()
    assert {"results", "next"} <= set(body)
    expected = seller_ids + (["ALONELY00001"] if role == "ops" else [])
    assert [s["seller_id"] for s in body["results"]] == sorted(expected)


def test_a_seller_appears_once_however_many_grants_it_holds(api, world):
    # given
    from tests.api.conftest import hold_grant

    hold_grant(world.asin_a2, world.seller_s)
    hold_grant(world.asin_a1, world.seller_s, marketplace="DE")

    # when
    results = api("owner_a").get("/api/v1/sellers").json()["results"]

    # then
    assert [s["seller_id"] for s in results] == ["ASELLERS0001"]


def test_seller_detail(api, world):
    # when
    response = api("partner_s").get(seller_url("ASELLERS0001"))

    # then
    assert response.status_code == 200
    body = response.json()
    assert SELLER_FIELDS <= set(body)
    assert "refresh_token" not in str(body) and "refresh_token_encrypted" not in body
    assert (body["seller_id"], body["name"]) == ("ASELLERS0001", "Shop S")
    assert body["home_marketplace"] == "US"
    assert body["marketplaces"] == ["DE", "US"]
    assert (body["health_score"], body["infringement_count"], body["account_status"]) == (98, 0, "NORMAL")
    assert body["health_checked_at"] is not None
    assert (body["is_test_account"], body["connected"], body["last_synced_at"]) == (False, True, None)


def test_a_seller_whose_connection_was_revoked_is_not_connected(api, world):
    # given
    world.seller_s.connection.refresh_token_encrypted = ""
    world.seller_s.connection.save()

    # when
    body = api("partner_s").get(seller_url("ASELLERS0001")).json()

    # then
    assert body["connected"] is False


@pytest.mark.parametrize("seller_id", ["lower-case", "asellers0001", "ASELLERS0001X", "A", "%00", "ANOSUCHSELLER"])
def test_malformed_or_unknown_seller_ids_are_not_found(api, world, seller_id):
    # when
    response = api("ops").get(seller_url(seller_id))

    # then
    assert response.status_code == 404
    assert error_codes(response) == ["NOT_FOUND"]


# -- update -------------------------------------------------------------------------------------

def test_partner_sets_the_home_marketplace(api, world):
    # when
    response = api("partner_s").patch(seller_url("ASELLERS0001"), {"home_marketplace": "DE"}, format="json")

    # then
    assert response.status_code == 200
    assert response.json()["home_marketplace"] == "DE"
    world.seller_s.refresh_from_db()
    assert world.seller_s.home_marketplace_id == "DE"
    event = AuditEvent.objects.get(action="seller.updated", seller_id="ASELLERS0001")
    assert (event.actor, event.before["home_marketplace"], event.after["home_marketplace"]) == ("partner_s", "US", "DE")


def test_home_marketplace_code_is_case_insensitive(api, world):
    # when
    response = api("partner_s").patch(seller_url("ASELLERS0001"), {"home_marketplace": "de"}, format="json")

    # then
    assert response.status_code == 200
    assert response.json()["home_marketplace"] == "DE"


@pytest.mark.parametrize("code", ["JP", "XX", "USA", "", "GB"])
def test_home_marketplace_must_be_one_the_seller_participates_in(api, world, code):
    # given
    before = snapshot()

    # when
    response = api("partner_s").patch(seller_url("ASELLERS0001"), {"home_marketplace": code}, format="json")

    # then
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "home_marketplace"
    if code:
        assert error["code"] == "INVALID_MARKETPLACE"
        assert code in error["detail"]
    assert snapshot() == before


def test_ops_mark_a_test_account(api, world):
    # when
    response = api("ops").patch(seller_url("ASELLERS0001"), {"is_test_account": True}, format="json")

    # then
    assert response.status_code == 200
    assert response.json()["is_test_account"] is True
    assert Seller.objects.get(seller_id="ASELLERS0001").is_test_account is True
    assert AuditEvent.objects.filter(action="seller.updated", actor="ops").exists()


@pytest.mark.parametrize("body, field", [
    ({"home_marketplace": 5}, "home_marketplace"), ({"home_marketplace": ["DE"]}, "home_marketplace"),
    ({"home_marketplace": None}, "home_marketplace"),
    ({"is_test_account": "yes"}, "is_test_account"), ({"is_test_account": 1}, "is_test_account"),
    ({"is_test_account": None}, "is_test_account"),
])
def test_update_refuses_wrong_json_types(api, world, body, field):
    # given
    client = api("ops" if "is_test_account" in body else "partner_s")
    before = snapshot()

    # when
    response = client.patch(seller_url("ASELLERS0001"), body, format="json")

    # then
    assert response.status_code == 400
    assert [e.get("field") for e in response.json()["errors"]] == [field]
    assert snapshot() == before


@pytest.mark.parametrize("body", ["[1]", '"DE"', "null", '{"home_marketplace": "DE"'])
def test_update_refuses_bodies_that_are_not_an_object(api, world, body):
    # given
    before = snapshot()

    # when
    response = api("partner_s").generic("PATCH", seller_url("ASELLERS0001"), body, content_type="application/json")

    # then
    assert response.status_code == 400
    assert snapshot() == before


def test_ops_sending_both_fields_change_nothing(api, world):
    # given: ops may flag test accounts, but not pick a partner's home marketplace
    before = snapshot()

    # when
    response = api("ops").patch(seller_url("ASELLERS0001"), {"is_test_account": True, "home_marketplace": "DE"},
                                format="json")

    # then
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("method", ["put", "delete", "post"])
def test_sellers_are_neither_replaced_nor_deleted(api, world, method):
    # when
    response = getattr(api("partner_s"), method)(seller_url("ASELLERS0001"), {"name": "X"}, format="json")

    # then
    assert response.status_code == 405
    assert Seller.objects.filter(seller_id="ASELLERS0001", name="Shop S").exists()


# -- the role matrix ----------------------------------------------------------------------------

ENDPOINTS = {
    "detail": ("get", None),
    "home_marketplace": ("patch", {"home_marketplace": "US"}),
    "is_test_account": ("patch", {"is_test_account": True}),
    "empty_patch": ("patch", {}),
}
# Expected status per role on seller S (partner_s's; holds a grant on brand A).
EXPECTED = {
    #                   anonymous newcomer owner_a manager_a viewer_a owner_b partner_s partner_t ops
    "detail":           (401, 404, 200, 200, 200, 404, 200, 404, 200),
    "home_marketplace": (401, 404, 403, 403, 403, 404, 200, 404, 403),
    "is_test_account":  (401, 404, 403, 403, 403, 404, 403, 404, 200),
    "empty_patch":      (401, 404, 403, 403, 403, 404, 200, 404, 200),
}
MATRIX = [
    pytest.param(endpoint, role, status, id=f"{endpoint}-{role}")
    for endpoint, statuses in EXPECTED.items() for role, status in zip(ROLES, statuses, strict=True)
]


@pytest.mark.parametrize("endpoint, role, expected", MATRIX)
def test_role_matrix_on_seller_s(api, world, endpoint, role, expected):
    # given
    method, body = ENDPOINTS[endpoint]
    before = snapshot()

    # when
    response = getattr(api(role), method)(seller_url("ASELLERS0001"), body, format="json")

    # then
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["errors"][0]["code"]
        assert snapshot() == before


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("role", ["partner_s", "owner_a", "manager_a", "viewer_a", "newcomer"])
def test_nobody_reaches_another_seller(api, world, endpoint, role):
    # given: seller T is partner_t's, and holds grants on brand B only
    method, body = ENDPOINTS[endpoint]
    before = snapshot()

    # when
    response = getattr(api(role), method)(seller_url("ASELLERT0001"), body, format="json")

    # then
    assert response.status_code == 404
    assert error_codes(response) == ["NOT_FOUND"]
    assert snapshot() == before


@pytest.mark.parametrize("role, expected", [("anonymous", 401), *[(r, 200) for r in ROLES[1:]]])
def test_role_matrix_list_sellers(api, world, role, expected):
    # when
    response = api(role).get("/api/v1/sellers")

    # then
    assert response.status_code == expected
