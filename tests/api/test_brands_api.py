"""Brands, members and the ASIN catalog over the API (API.md "Brands and ASINs")."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from authorizations.models import GrantStatus
from brands.models import Asin, AsinMarketplace, Brand, BrandMembership, RegistryStatus
from tests.api.conftest import ROLES, error_codes, hold_grant
from tests.factories import AsinFactory, SellerFactory, SellerMembershipFactory

BRAND_FIELDS = {"id", "name", "registry_number", "registry_status", "dual_control", "spapi_account",
                "sellers_used", "sellers_limit", "asin_count"}
ASIN_FIELDS = {"asin", "gcid", "title", "category", "marketplaces", "sellers_used", "sellers_limit"}
CSV_HEADER = "asin,gcid,title,category,marketplaces\n"


def brand_url(brand, suffix: str = "") -> str:
    return f"/api/v1/brands/{brand.pk}{suffix}"


def post_csv(client, brand, text: str, query: str = ""):
    return client.generic("POST", brand_url(brand, "/asins") + query, text.encode(), content_type="text/csv")


def snapshot() -> tuple:
    """What the catalog, brands and audit trail hold (to prove a refusal wrote nothing)."""
    return (
        sorted(Brand.objects.values_list("id", "name", "registry_status", "dual_control", "spapi_account_id")),
        sorted(BrandMembership.objects.values_list("brand_id", "user_id", "role")),
        sorted(Asin.objects.values_list("brand_id", "asin", "gcid", "title", "category")),
        sorted(AsinMarketplace.objects.values_list("asin_id", "marketplace_id")),
        AuditEvent.objects.count(),
    )


# -- create -------------------------------------------------------------------------------------

def test_create_brand_makes_the_caller_its_owner(api, world):
    # when
    response = api("newcomer").post("/api/v1/brands", {"name": "Nova", "registry_number": "NOVA-1"}, format="json")

    # then
    assert response.status_code == 201
    body = response.json()
    assert set(body) == BRAND_FIELDS
    assert body["name"] == "Nova" and body["registry_number"] == "NOVA-1"
    assert body["registry_status"] == "PENDING"
    assert (body["dual_control"], body["spapi_account"]) == (False, None)
    assert (body["sellers_used"], body["sellers_limit"], body["asin_count"]) == (0, 50, 0)
    brand = Brand.objects.get(pk=body["id"])
    assert brand.memberships.get().user == world.newcomer
    assert brand.memberships.get().role == "owner"
    assert AuditEvent.objects.filter(action="brand.created", brand_id=brand.pk, actor="newcomer", source="api").exists()


def test_the_new_owner_sees_the_brand_in_me_and_the_list(api, world):
    # given
    brand_id = api("newcomer").post("/api/v1/brands", {"name": "Nova", "registry_number": "NOVA-1"},
                                    format="json").json()["id"]

    # when
    me = api("newcomer").get("/api/v1/me").json()
    listed = api("newcomer").get("/api/v1/brands").json()

    # then
    assert me["brands"] == [{"id": brand_id, "name": "Nova", "role": "owner"}]
    assert [b["id"] for b in listed["results"]] == [brand_id]


def test_ops_cannot_create_brands(api, world):
    # given
    before = snapshot()

    # when
    response = api("ops").post("/api/v1/brands", {"name": "Ops Co", "registry_number": "OPS-1"}, format="json")

    # then
    assert response.status_code == 403
    assert error_codes(response) == ["FORBIDDEN"]
    assert snapshot() == before


@pytest.mark.parametrize("body, status, code, field", [
    ({"registry_number": "NOVA-1"}, 400, "REQUIRED", "name"),
    ({"name": "Nova"}, 400, "REQUIRED", "registry_number"),
    ({"name": "   ", "registry_number": "NOVA-1"}, 400, "REQUIRED", "name"),
    ({"name": 5, "registry_number": "NOVA-1"}, 400, "INVALID", "name"),
    ({"name": "Nova", "registry_number": 12345}, 400, "INVALID", "registry_number"),
    ({"name": ["Nova"], "registry_number": "NOVA-1"}, 400, "INVALID", "name"),
    ({"name": "x" * 201, "registry_number": "NOVA-1"}, 400, "TOO_LONG", "name"),
    ({"name": "Nova", "registry_number": "no spaces!"}, 400, "INVALID_REGISTRY_NUMBER", "registry_number"),
    ({"name": "Nova", "registry_number": "ALPHA-0001"}, 409, "DUPLICATE_REGISTRY_NUMBER", "registry_number"),
])
def test_create_brand_refuses_bad_input(api, world, body, status, code, field):
    # given
    before = snapshot()

    # when
    response = api("newcomer").post("/api/v1/brands", body, format="json")

    # then
    assert response.status_code == status
    assert {"code": code, "field": field} in [{"code": e["code"], "field": e.get("field")}
                                              for e in response.json()["errors"]]
    assert snapshot() == before


# -- read ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("role, names", [
    ("owner_a", ["Alpha"]), ("manager_a", ["Alpha"]), ("viewer_a", ["Alpha"]), ("owner_b", ["Bravo"]),
    ("partner_s", []), ("partner_t", []), ("newcomer", []), ("ops", ["Alpha", "Bravo"]),
])
def test_brand_list_holds_only_the_callers_brands(api, world, role, names):
    # when
    response = api(role).get("/api/v1/brands")

    # then
    assert response.status_code == 200
    body = response.json()
    assert {"results", "next"} <= set(body)
    assert [b["name"] for b in body["results"]] == names
    assert all(set(b) == BRAND_FIELDS for b in body["results"])


def test_brand_detail_fields_and_counts(api, world):
    # when
    response = api("viewer_a").get(brand_url(world.brand_a))

    # then
    assert response.status_code == 200
    assert response.json() == {
        "id": world.brand_a.pk, "name": "Alpha", "registry_number": "ALPHA-0001", "registry_status": "ACTIVE",
        "dual_control": False, "spapi_account": None, "sellers_used": 1, "sellers_limit": 50, "asin_count": 2,
    }


def test_sellers_used_counts_distinct_live_sellers_but_not_test_accounts_or_ended_grants(api, world):
    # given
    now = timezone.now()
    hold_grant(world.asin_a2, world.seller_s)  # S again: still one seller
    hold_grant(world.asin_a1, SellerFactory(), status=GrantStatus.SUSPENDED)  # live: counts
    hold_grant(world.asin_a1, SellerFactory(), status=GrantStatus.PENDING_APPROVAL)  # live: counts
    hold_grant(world.asin_a1, SellerFactory(is_test_account=True))  # test account: does not count
    hold_grant(world.asin_a1, SellerFactory(), status=GrantStatus.REVOKED)
    hold_grant(world.asin_a1, SellerFactory(), status=GrantStatus.REJECTED)
    hold_grant(world.asin_a1, SellerFactory(), status=GrantStatus.EXPIRED)
    expired_unwritten = hold_grant(world.asin_a1, SellerFactory())
    expired_unwritten.valid_until = now - dt.timedelta(minutes=1)
    expired_unwritten.save(update_fields=["valid_until"])
    AsinFactory(brand=world.brand_a, asin="B0ALPHA003")

    # when
    body = api("owner_a").get(brand_url(world.brand_a)).json()

    # then
    assert body["sellers_used"] == 3
    assert body["asin_count"] == 3


@pytest.mark.parametrize("path", ["abc", "99999999999999999999", "0", "-1", "1.0", "%20", "9223372036854775808"])
def test_malformed_brand_ids_are_not_found(api, world, path):
    # when
    response = api("ops").get(f"/api/v1/brands/{path}")

    # then
    assert response.status_code == 404
    assert error_codes(response) == ["NOT_FOUND"]


def test_an_unknown_brand_looks_like_an_invisible_one(api, world):
    # when
    unknown = api("owner_b").get("/api/v1/brands/987654")
    invisible = api("owner_b").get(brand_url(world.brand_a))

    # then
    assert unknown.status_code == invisible.status_code == 404
    assert unknown.json() == invisible.json()


# -- update -------------------------------------------------------------------------------------

def test_owner_renames_the_brand_and_turns_on_dual_control(api, world):
    # when
    response = api("owner_a").patch(brand_url(world.brand_a), {"name": "Alpha Prime", "dual_control": True},
                                    format="json")

    # then
    assert response.status_code == 200
    assert set(response.json()) == BRAND_FIELDS
    assert (response.json()["name"], response.json()["dual_control"]) == ("Alpha Prime", True)
    world.brand_a.refresh_from_db()
    assert (world.brand_a.name, world.brand_a.dual_control) == ("Alpha Prime", True)
    event = AuditEvent.objects.get(action="brand.updated", brand_id=world.brand_a.pk)
    assert event.before == {"name": "Alpha", "dual_control": False}
    assert event.after == {"name": "Alpha Prime", "dual_control": True}


def test_owner_names_an_account_a_member_connected_as_spapi_account(api, world):
    # given: the owner connected their own Seller Central account
    own = SellerFactory(seller_id="AOWNERACCT01")
    SellerMembershipFactory(user=world.owner_a, seller=own)

    # when
    named = api("owner_a").patch(brand_url(world.brand_a), {"spapi_account": "AOWNERACCT01"}, format="json")
    cleared = api("owner_a").patch(brand_url(world.brand_a), {"spapi_account": None}, format="json")

    # then
    assert named.status_code == 200 and named.json()["spapi_account"] == "AOWNERACCT01"
    assert cleared.status_code == 200 and cleared.json()["spapi_account"] is None


@pytest.mark.parametrize("seller_id", ["ASELLERT0001", "ANOSUCHSELLER", "lower", "x" * 50])
def test_spapi_account_must_be_connected_by_a_member(api, world, seller_id):
    # given: seller T is connected, but by partner_t, who is no member of brand A
    before = snapshot()

    # when
    response = api("owner_a").patch(brand_url(world.brand_a), {"spapi_account": seller_id}, format="json")

    # then
    assert response.status_code == 400
    assert error_codes(response) == ["INVALID_SPAPI_ACCOUNT"]
    [error] = response.json()["errors"]
    assert error["field"] == "spapi_account"
    # the same answer whether or not such a seller exists elsewhere
    assert error["detail"] == f"Seller {seller_id} is not an account a member of this brand has connected."
    assert snapshot() == before


@pytest.mark.parametrize("role", ["owner_a", "manager_a", "viewer_a"])
def test_only_ops_set_the_registry_status(api, world, role):
    # given
    before = snapshot()

    # when
    response = api(role).patch(brand_url(world.brand_a), {"registry_status": "SUSPENDED"}, format="json")

    # then
    assert response.status_code == 403
    assert error_codes(response) == ["FORBIDDEN"]
    assert snapshot() == before


def test_an_owner_sending_registry_status_with_a_name_changes_neither(api, world):
    # given
    before = snapshot()

    # when
    response = api("owner_a").patch(brand_url(world.brand_a), {"name": "Renamed", "registry_status": "ACTIVE"},
                                    format="json")

    # then
    assert response.status_code == 403
    assert snapshot() == before


def test_ops_set_the_registry_status(api, world):
    # when
    response = api("ops").patch(brand_url(world.brand_a), {"registry_status": "SUSPENDED"}, format="json")

    # then
    assert response.status_code == 200
    assert response.json()["registry_status"] == "SUSPENDED"
    world.brand_a.refresh_from_db()
    assert world.brand_a.registry_status == RegistryStatus.SUSPENDED
    assert world.brand_a.registry_checked_at is not None
    event = AuditEvent.objects.get(action="brand.registry_status_changed")
    assert (event.actor, event.brand_id, event.after["registry_status"]) == ("ops", world.brand_a.pk, "SUSPENDED")


def test_ops_cannot_set_an_unknown_registry_status(api, world):
    # given
    before = snapshot()

    # when
    response = api("ops").patch(brand_url(world.brand_a), {"registry_status": "GREAT"}, format="json")

    # then
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "registry_status"
    assert snapshot() == before


@pytest.mark.parametrize("body", [{"name": "Ops name"}, {"dual_control": True},
                                  {"registry_status": "SUSPENDED", "name": "Ops name"}, {}])
def test_ops_change_nothing_but_the_registry_status(api, world, body):
    # given
    before = snapshot()

    # when
    response = api("ops").patch(brand_url(world.brand_a), body, format="json")

    # then
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("body, field", [
    ({"name": 5}, "name"), ({"name": None}, "name"), ({"name": ""}, "name"), ({"name": {"x": 1}}, "name"),
    ({"dual_control": "yes"}, "dual_control"), ({"dual_control": 1}, "dual_control"),
    ({"dual_control": None}, "dual_control"), ({"spapi_account": 123}, "spapi_account"),
    ({"registry_status": 1}, "registry_status"),
])
def test_update_refuses_wrong_json_types(api, world, body, field):
    # given
    before = snapshot()

    # when
    response = api("owner_a").patch(brand_url(world.brand_a), body, format="json")

    # then
    assert response.status_code == 400
    assert [e.get("field") for e in response.json()["errors"]] == [field]
    assert snapshot() == before


@pytest.mark.parametrize("body", ['["name", "x"]', '"x"', "42", "null", "true"])
def test_update_refuses_json_that_is_not_an_object(api, world, body):
    # given
    before = snapshot()

    # when
    response = api("owner_a").generic("PATCH", brand_url(world.brand_a), body, content_type="application/json")

    # then
    assert response.status_code == 400
    assert snapshot() == before


@pytest.mark.parametrize("body", ['{"name": ', "name=x", "{'name': 'x'}", '{"name": "x"} trailing'])
def test_a_body_that_is_not_json_is_invalid_json(api, world, body):
    # given
    before = snapshot()

    # when
    response = api("owner_a").generic("PATCH", brand_url(world.brand_a), body, content_type="application/json")

    # then
    assert response.status_code == 400
    assert error_codes(response) == ["INVALID_JSON"]
    assert snapshot() == before


@pytest.mark.parametrize("method", ["put", "delete"])
def test_brands_are_neither_replaced_nor_deleted(api, world, method):
    # when
    response = getattr(api("owner_a"), method)(brand_url(world.brand_a), {"name": "X"}, format="json")

    # then
    assert response.status_code == 405
    assert Brand.objects.filter(pk=world.brand_a.pk, name="Alpha").exists()


# -- members ------------------------------------------------------------------------------------

def test_owner_adds_a_member(api, world):
    # when
    response = api("owner_a").post(brand_url(world.brand_a, "/members"), {"username": "newcomer", "role": "viewer"},
                                   format="json")

    # then
    assert response.status_code == 201
    assert response.json() == {"username": "newcomer", "role": "viewer"}
    assert api("newcomer").get(brand_url(world.brand_a)).status_code == 200
    assert AuditEvent.objects.filter(action="membership.added", brand_id=world.brand_a.pk).exists()


def test_owner_changes_a_members_role(api, world):
    # when
    response = api("owner_a").post(brand_url(world.brand_a, "/members"), {"username": "viewer_a", "role": "manager"},
                                   format="json")

    # then
    assert response.status_code == 201
    assert BrandMembership.objects.get(brand=world.brand_a, user=world.viewer_a).role == "manager"


@pytest.mark.parametrize("body, status, code", [
    ({"username": "ghost", "role": "viewer"}, 400, "UNKNOWN_USER"),
    ({"username": "newcomer", "role": "king"}, 400, "INVALID_ROLE"),
    ({"username": "newcomer", "role": "OWNER"}, 400, "INVALID_ROLE"),
    ({"username": "newcomer"}, 400, "REQUIRED"),
    ({"role": "viewer"}, 400, "REQUIRED"),
    ({"username": 5, "role": "viewer"}, 400, "INVALID"),
    ({"username": "owner_a", "role": "viewer"}, 409, "LAST_OWNER"),
])
def test_add_member_refuses_bad_input(api, world, body, status, code):
    # given
    before = snapshot()

    # when
    response = api("owner_a").post(brand_url(world.brand_a, "/members"), body, format="json")

    # then
    assert response.status_code == status
    assert error_codes(response) == [code]
    assert snapshot() == before


# -- ASIN import --------------------------------------------------------------------------------

def test_json_import_creates_and_updates(api, world):
    # given
    items = [
        {"asin": "B0NEW00001", "gcid": "GCNEW00000000001", "title": "Lamp", "category": "Home",
         "marketplaces": ["US", "DE"]},
        {"asin": "b0new00002", "gcid": None, "marketplaces": ["uk"]},
        {"asin": "B0ALPHA001", "gcid": "GC00000000000000", "title": "Red kettle v2", "category": "Home & Kitchen",
         "marketplaces": ["US"]},
    ]

    # when
    response = api("manager_a").post(brand_url(world.brand_a, "/asins"), items, format="json")

    # then
    assert response.status_code == 201
    body = response.json()
    assert {"created", "updated", "errors"} <= set(body)
    assert sorted(body["created"]) == ["B0NEW00001", "B0NEW00002"]
    assert body["updated"] == ["B0ALPHA001"]
    assert body["errors"] == []
    lamp = Asin.objects.get(brand=world.brand_a, asin="B0NEW00001")
    assert (lamp.gcid, lamp.title, lamp.category) == ("GCNEW00000000001", "Lamp", "Home")
    assert sorted(lamp.presences.values_list("marketplace_id", "status")) == [
        ("DE", "UNVERIFIED"), ("US", "UNVERIFIED")]
    unregistered = Asin.objects.get(brand=world.brand_a, asin="B0NEW00002")
    assert unregistered.gcid is None
    assert list(unregistered.presences.values_list("marketplace_id", flat=True)) == ["UK"]
    assert Asin.objects.get(asin="B0ALPHA001").title == "Red kettle v2"
    assert AuditEvent.objects.filter(brand_id=world.brand_a.pk, object_type="asin").count() == 3


def test_csv_import(api, world):
    # given
    text = CSV_HEADER + "B0CSV00001,GCCSV00000000001,Pan,Kitchen,US;DE\nB0CSV00002,,Pot,Kitchen,US\n"

    # when
    response = post_csv(api("owner_a"), world.brand_a, text)

    # then
    assert response.status_code == 201
    assert sorted(response.json()["created"]) == ["B0CSV00001", "B0CSV00002"]
    assert response.json()["errors"] == []
    assert Asin.objects.get(asin="B0CSV00002").gcid is None
    pan = Asin.objects.get(asin="B0CSV00001")
    assert sorted(pan.presences.values_list("marketplace_id", flat=True)) == ["DE", "US"]


def _large_csv(n: int, bad_line: int | None = None) -> str:
    lines = [f"B2{i:08d},,Bulk item {i},Kitchen,US" for i in range(n)]
    if bad_line:
        lines[bad_line - 2] = "NOT-AN-ASIN,,Bad,Kitchen,US"
    return CSV_HEADER + "\n".join(lines) + "\n"


def test_a_large_csv_import_answers_202_and_its_job_holds_the_result(api, world, django_capture_on_commit_callbacks):
    # given: more lines than a request imports itself
    client = api("owner_a")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = post_csv(client, world.brand_a, _large_csv(1001))

    # then: a job, which the owner polls; its result is what a small import answers
    assert response.status_code == 202
    job = client.get(f"/api/v1/jobs/{response.json()['job_id']}").json()
    assert job["kind"] == "asin_import" and job["status"] == "SUCCESS"
    assert len(job["result"]["created"]) == 1001 and job["result"]["errors"] == []
    assert Asin.objects.filter(brand=world.brand_a, asin__startswith="B2").count() == 1001
    assert AuditEvent.objects.filter(action="asin.created", brand_id=world.brand_a.pk).count() == 1001


def test_a_large_csv_import_with_a_bad_line_imports_nothing_and_the_job_says_where(
        api, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_csv(api("owner_a"), world.brand_a, _large_csv(1200, bad_line=700))

    assert response.status_code == 202
    job = api("owner_a").get(f"/api/v1/jobs/{response.json()['job_id']}").json()
    assert job["status"] == "FAILURE"
    assert [(e["line"], e["field"]) for e in job["result"]["errors"]] == [(700, "asin")]
    assert not Asin.objects.filter(asin__startswith="B2").exists()


@pytest.mark.parametrize("role", ["viewer_a", "owner_b", "partner_s"])
def test_a_large_csv_import_is_refused_before_anything_is_queued(api, world, role):
    from spapi_client.models import SyncRun

    response = post_csv(api(role), world.brand_a, _large_csv(1001))

    assert response.status_code in (403, 404)
    assert not SyncRun.objects.exists()


def test_csv_import_accepts_a_bom_crlf_and_any_column_order(api, world):
    # given
    text = "\ufeffmarketplaces,asin,title,gcid,category\r\nUS,B0CSV00001,Pan,,Kitchen\r\n"

    # when
    response = post_csv(api("owner_a"), world.brand_a, text)

    # then
    assert response.status_code == 201
    assert response.json()["created"] == ["B0CSV00001"]


def test_csv_import_reports_every_bad_line_with_its_line_number_and_writes_nothing(api, world):
    # given
    text = (CSV_HEADER
            + "B0CSV00001,,Good,Kitchen,US\n"        # line 2
            + "BAD,,Bad asin,Kitchen,US\n"            # line 3
            + "B0CSV00003,SHORT,Bad gcid,Kitchen,US\n"  # line 4
            + "B0CSV00004,,No marketplace,Kitchen,\n"   # line 5
            + "B0CSV00005,,Unknown,Kitchen,US;XX\n")    # line 6
    before = snapshot()

    # when
    response = post_csv(api("owner_a"), world.brand_a, text)

    # then
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["line"], e["field"], e["code"]) for e in errors] == [
        (3, "asin", "INVALID_ASIN"), (4, "gcid", "INVALID_GCID"), (5, "marketplaces", "REQUIRED"),
        (6, "marketplaces", "INVALID_MARKETPLACE"),
    ]
    assert all(e["detail"] for e in errors)
    assert errors[-1]["marketplace"] == "XX" and "XX" in errors[-1]["detail"]
    assert snapshot() == before


def test_partial_import_takes_the_good_lines_and_lists_the_bad(api, world):
    # given
    text = CSV_HEADER + "B0CSV00001,,Good,Kitchen,US\nBAD,,Bad asin,Kitchen,US\nB0CSV00003,,Good too,Kitchen,DE\n"

    # when
    response = post_csv(api("owner_a"), world.brand_a, text, "?partial=true")

    # then
    assert response.status_code == 201
    body = response.json()
    assert sorted(body["created"]) == ["B0CSV00001", "B0CSV00003"]
    assert [(e["line"], e["field"], e["code"]) for e in body["errors"]] == [(3, "asin", "INVALID_ASIN")]
    assert set(Asin.objects.filter(brand=world.brand_a).values_list("asin", flat=True)) == {
        "B0ALPHA001", "B0ALPHA002", "B0CSV00001", "B0CSV00003"}


def test_json_import_errors_name_the_item_index(api, world):
    # given
    items = [
        {"asin": "B0NEW00001", "marketplaces": ["US"]},
        {"asin": "B0NEW00002", "marketplaces": ["NARNIA"]},
        "not an object",
        {"asin": 12, "marketplaces": ["US"]},
        {"asin": "B0NEW00005", "title": 7, "marketplaces": ["US"]},
        {"asin": "B0NEW00001", "marketplaces": ["US"]},
    ]
    before = snapshot()

    # when
    response = api("owner_a").post(brand_url(world.brand_a, "/asins"), items, format="json")

    # then
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["line"], e.get("field"), e["code"]) for e in errors] == [
        (2, "marketplaces", "INVALID_MARKETPLACE"), (3, None, "INVALID_JSON"), (4, "asin", "INVALID_ASIN"),
        (5, "title", "INVALID_JSON"), (6, "asin", "DUPLICATE_ASIN"),
    ]
    assert errors[0]["marketplace"] == "NARNIA" and "NARNIA" in errors[0]["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("text", [
    "foo,bar\n1,2\n", "asin,gcid,title,category\nB0CSV00001,,x,y\n",
    "asin,gcid,title,category,marketplaces,price\n", "asin,asin,gcid,title,category,marketplaces\n",
])
def test_csv_with_a_bad_header_is_invalid_csv(api, world, text):
    # given
    before = snapshot()

    # when
    response = post_csv(api("owner_a"), world.brand_a, text)

    # then
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["code"], error["line"]) == ("INVALID_CSV", 1)
    assert snapshot() == before


@pytest.mark.parametrize("text", ["", "\ufeff", "\n\n"])
def test_an_empty_csv_is_refused(api, world, text):
    # when
    response = post_csv(api("owner_a"), world.brand_a, text)

    # then
    assert response.status_code == 400
    assert error_codes(response) == ["INVALID_CSV"]


def test_csv_that_is_not_utf8_is_invalid_csv(api, world):
    # given
    before = snapshot()

    # when
    response = api("owner_a").generic("POST", brand_url(world.brand_a, "/asins"),
                                      (CSV_HEADER + "B0CSV00001,,Caf\xe9,x,US\n").encode("latin-1"),
                                      content_type="text/csv")

    # then
    assert response.status_code == 400
    assert error_codes(response) == ["INVALID_CSV"]
    assert snapshot() == before


def test_a_csv_line_with_the_wrong_number_of_cells(api, world):
    # when
    response = post_csv(api("owner_a"), world.brand_a, CSV_HEADER + "B0CSV00001,,x\n")

    # then
    assert response.status_code == 400
    assert [(e["code"], e["line"]) for e in response.json()["errors"]] == [("INVALID_CSV", 2)]


@pytest.mark.parametrize("body", ['{"asin": "B0NEW00001", "marketplaces": ["US"]}', "null", '"B0NEW00001"', "[]", "{}"])
def test_json_import_needs_a_non_empty_list(api, world, body):
    # given
    before = snapshot()

    # when
    response = api("owner_a").generic("POST", brand_url(world.brand_a, "/asins"), body, content_type="application/json")

    # then
    assert response.status_code == 400
    assert error_codes(response)[0] in {"INVALID_JSON", "REQUIRED"}
    assert snapshot() == before


def test_an_import_body_that_is_not_json_is_invalid_json(api, world):
    # when
    response = api("owner_a").generic("POST", brand_url(world.brand_a, "/asins"), '[{"asin": "B0',
                                      content_type="application/json")

    # then
    assert response.status_code == 400
    assert error_codes(response) == ["INVALID_JSON"]


@pytest.mark.parametrize("content_type", ["text/csv", "application/json"])
def test_an_import_larger_than_the_upload_limit_is_413(api, world, settings, content_type):
    # given
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    if content_type == "text/csv":
        body = (CSV_HEADER + "".join(f"B0{n:08d},,{'t' * 80},c,US\n" for n in range(1000))).encode()
    else:
        items = [{"asin": f"B0{n:08d}", "title": "t" * 80, "marketplaces": ["US"]} for n in range(1000)]
        body = json.dumps(items).encode()
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    before = snapshot()

    # when
    response = api("owner_a").generic("POST", brand_url(world.brand_a, "/asins"), body, content_type=content_type)

    # then
    assert response.status_code == 413
    assert snapshot() == before


def test_an_import_in_another_media_type_is_415(api, world):
    # when
    response = api("owner_a").generic("POST", brand_url(world.brand_a, "/asins"), "B0NEW00001",
                                      content_type="text/plain")

    # then
    assert response.status_code == 415


# -- ASIN list ----------------------------------------------------------------------------------

def test_asin_list_fields_and_counts(api, world):
    # given
    hold_grant(world.asin_a1, world.seller_s, marketplace="DE")  # same seller, other marketplace
    hold_grant(world.asin_a1, SellerFactory(participates_in=["US"]))

    # when
    response = api("viewer_a").get(brand_url(world.brand_a, "/asins"))

    # then
    assert response.status_code == 200
    body = response.json()
    assert {"results", "next"} <= set(body)
    kettle, teapot = body["results"]
    assert set(kettle) == ASIN_FIELDS
    assert (kettle["asin"], kettle["title"], kettle["gcid"]) == ("B0ALPHA001", "Red kettle", world.asin_a1.gcid)
    assert kettle["category"] == "Home & Kitchen"
    assert [m["code"] for m in kettle["marketplaces"]] == ["DE", "US"]
    assert all({"code", "verified_at"} <= set(m) for m in kettle["marketplaces"])
    assert all(m["verified_at"] for m in kettle["marketplaces"])
    assert (kettle["sellers_used"], kettle["sellers_limit"]) == (2, 10)
    assert (teapot["asin"], teapot["sellers_used"]) == ("B0ALPHA002", 0)


def test_asin_list_shows_unverified_marketplaces_without_a_time(api, world):
    # given
    api("owner_a").post(brand_url(world.brand_a, "/asins"), [{"asin": "B0NEW00001", "marketplaces": ["FR"]}],
                        format="json")

    # when
    results = api("owner_a").get(brand_url(world.brand_a, "/asins") + "?q=B0NEW").json()["results"]

    # then
    [row] = results
    assert row["gcid"] is None
    assert [(m["code"], m["verified_at"]) for m in row["marketplaces"]] == [("FR", None)]


@pytest.mark.parametrize("q, asins", [
    ("kettle", ["B0ALPHA001"]), ("KETTLE", ["B0ALPHA001"]), ("alpha002", ["B0ALPHA002"]),
    ("B0ALPHA", ["B0ALPHA001", "B0ALPHA002"]), ("mug", []), ("B0BRAVO001", []), ("", ["B0ALPHA001", "B0ALPHA002"]),
])
def test_asin_list_filter_q(api, world, q, asins):
    # when
    response = api("owner_a").get(brand_url(world.brand_a, "/asins"), {"q": q})

    # then
    assert response.status_code == 200
    assert [row["asin"] for row in response.json()["results"]] == asins


@pytest.mark.parametrize("params, asins", [
    ({"marketplace": "DE"}, ["B0ALPHA001"]), ({"marketplace": "us"}, ["B0ALPHA001", "B0ALPHA002"]),
    ({"marketplace": "JP"}, []), ({"marketplace": "NOT-A-CODE"}, []),
    ({"verified": "true"}, ["B0ALPHA001", "B0ALPHA002"]), ({"verified": "false"}, ["B0NEW00001"]),
])
def test_asin_list_filters_by_marketplace_and_verification(api, world, params, asins):
    # given: an ASIN imported (not yet verified) in US and DE
    api("owner_a").post(brand_url(world.brand_a, "/asins"), [{"asin": "B0NEW00001", "marketplaces": ["US", "DE"]}],
                        format="json")
    if "marketplace" in params:
        asins = sorted({*asins, "B0NEW00001"}) if params["marketplace"].upper() in {"US", "DE"} else asins

    # when
    response = api("owner_a").get(brand_url(world.brand_a, "/asins"), params)

    # then
    assert response.status_code == 200
    assert [row["asin"] for row in response.json()["results"]] == asins


def test_asin_list_is_paginated(api, world):
    # given
    for n in range(3, 8):
        AsinFactory(brand=world.brand_a, asin=f"B0ALPHA00{n}")
    client = api("owner_a")

    # when
    pages, url = [], brand_url(world.brand_a, "/asins") + "?page_size=3"
    while url:
        body = client.get(url).json()
        pages.append([row["asin"] for row in body["results"]])
        url = body["next"]

    # then
    assert [len(page) for page in pages] == [3, 3, 1]
    assert sum(pages, []) == [f"B0ALPHA00{n}" for n in range(1, 8)]


# -- the role matrix ----------------------------------------------------------------------------

def _brand(world, which: str):
    return world.brand_a if which == "A" else world.brand_b


# (method, suffix, body) per endpoint; the expected status per role, on brand A.
ENDPOINTS = {
    "detail": ("get", "", None),
    "rename": ("patch", "", {"name": "Renamed"}),
    "empty_patch": ("patch", "", {}),
    "registry_status": ("patch", "", {"registry_status": "SUSPENDED"}),
    "add_member": ("post", "/members", {"username": "newcomer", "role": "viewer"}),
    "import": ("post", "/asins", [{"asin": "B0NEW00001", "marketplaces": ["US"]}]),
    "asins": ("get", "/asins", None),
}
EXPECTED = {
    #                  anonymous newcomer owner_a manager_a viewer_a owner_b partner_s partner_t ops
    "detail":          (401, 404, 200, 200, 200, 404, 404, 404, 200),
    "rename":          (401, 404, 200, 403, 403, 404, 404, 404, 403),
    "empty_patch":     (401, 404, 200, 403, 403, 404, 404, 404, 403),
    "registry_status": (401, 404, 403, 403, 403, 404, 404, 404, 200),
    "add_member":      (401, 404, 201, 403, 403, 404, 404, 404, 403),
    "import":          (401, 404, 201, 201, 403, 404, 404, 404, 403),
    "asins":           (401, 404, 200, 200, 200, 404, 404, 404, 200),
}
MATRIX = [
    pytest.param(endpoint, role, status, id=f"{endpoint}-{role}")
    for endpoint, statuses in EXPECTED.items() for role, status in zip(ROLES, statuses, strict=True)
]


@pytest.mark.parametrize("endpoint, role, expected", MATRIX)
def test_role_matrix_on_brand_a(api, world, endpoint, role, expected):
    # given
    method, suffix, body = ENDPOINTS[endpoint]
    before = snapshot()

    # when
    response = getattr(api(role), method)(brand_url(world.brand_a, suffix), body, format="json")

    # then
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["errors"][0]["code"]
        assert snapshot() == before  # a refusal writes nothing


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("role", ["owner_a", "manager_a", "viewer_a", "partner_s", "newcomer"])
def test_nobody_reaches_another_brand(api, world, endpoint, role):
    # given
    method, suffix, body = ENDPOINTS[endpoint]
    before = snapshot()

    # when
    response = getattr(api(role), method)(brand_url(world.brand_b, suffix), body, format="json")

    # then
    assert response.status_code == 404
    assert error_codes(response) == ["NOT_FOUND"]
    assert snapshot() == before


@pytest.mark.parametrize("role, expected", [("anonymous", 401), *[(r, 201) for r in ROLES[1:-1]], ("ops", 403)])
def test_role_matrix_create_brand(api, world, role, expected):
    # given
    body = {"name": "New", "registry_number": "NEW-" + role.replace("_", "-")}

    # when
    response = api(role).post("/api/v1/brands", body, format="json")

    # then
    assert response.status_code == expected


@pytest.mark.parametrize("role, expected", [("anonymous", 401), *[(r, 200) for r in ROLES[1:]]])
def test_role_matrix_list_brands(api, world, role, expected):
    # when
    response = api(role).get("/api/v1/brands")

    # then
    assert response.status_code == expected


# -- NUL characters (PostgreSQL cannot store or compare them) -----------------------------------

@pytest.mark.parametrize("param", ["q", "marketplace"])
def test_a_nul_in_a_query_parameter_is_400(api, world, param):
    # when
    response = api("owner_a").get(brand_url(world.brand_a, "/asins"), {param: "a\x00b"})

    # then
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == param


@pytest.mark.parametrize("path", ["1_0", "\u0663", "+1", " 1", "1 "])
def test_brand_ids_are_ascii_digits_only(api, world, path):
    # when
    response = api("ops").get(f"/api/v1/brands/{path}")

    # then
    assert response.status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"name": "Al\x00pha"}, "name"),
    ({"spapi_account": "A\x00"}, "spapi_account"),
])
def test_a_nul_in_a_json_field_is_400(api, world, body, field):
    # given
    before = snapshot()

    # when
    response = api("owner_a").patch(brand_url(world.brand_a), body, format="json")

    # then
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert snapshot() == before


def test_a_nul_in_a_member_name_is_400(api, world):
    # when
    response = api("owner_a").post(brand_url(world.brand_a, "/members"), {"username": "new\x00comer", "role": "viewer"},
                                   format="json")

    # then
    assert response.status_code == 400


@pytest.mark.parametrize("field", ["title", "category", "gcid"])
def test_a_nul_in_an_imported_line_is_refused_not_a_500(api, world, field):
    # given
    item = {"asin": "B0NEW00001", "marketplaces": ["US"], field: "Lamp\x00"}
    before = snapshot()

    # when
    response = api("owner_a").post(brand_url(world.brand_a, "/asins"), [item], format="json")

    # then
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["line"], error["field"]) == (1, field)
    assert snapshot() == before
