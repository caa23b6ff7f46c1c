"""The audit log over the API (API.md "Audit"): who sees which events, filters, cursor pages,
the CSV export and chain verification."""
from __future__ import annotations

import csv
import datetime as dt
import io
from types import SimpleNamespace

import pytest
from django.db import transaction

from audit.context import Actor
from audit.models import AuditEvent
from audit.services import event, record_many
from tests.api.conftest import ROLES, error_codes
from tests.audit.conftest import tamper  # noqa: F401 (fixture: edit events behind the triggers)

EVENT_FIELDS = {"id", "at", "actor", "source", "action", "object_type", "object_id", "brand", "seller_id",
                "before", "after", "reason", "request_id"}
T0 = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.timezone.utc)
URL = "/api/v1/audit-events"


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def log(world) -> SimpleNamespace:
    """Eight events, one a minute, across brand A, brand B and the two sellers:

    0 brand.created A (owner_a)         4 seller.health_updated S (task, no brand)
    1 brand.created B (owner_b)         5 grant.revoked A/S (manager_a)
    2 grant.created A/S (owner_a)       6 connection.created T (partner_t, no brand)
    3 grant.created B/T (owner_b)       7 brand.updated A (owner_a)
    """
    a, b = world.brand_a.pk, world.brand_b.pk
    script = [
        (Actor.for_user(world.owner_a, source="api"),
         event("brand.created", object_type="brand", object_id=a, brand_id=a, after={"name": "Alpha"})),
        (Actor.for_user(world.owner_b, source="api"),
         event("brand.created", object_type="brand", object_id=b, brand_id=b, after={"name": "Bravo"})),
        (Actor.for_user(world.owner_a, source="web"),
         event("grant.created", object_type="grant", object_id=world.grant_s.pk, brand_id=a, seller_id="ASELLERS0001",
               after={"status": "ACTIVE"})),
        (Actor.for_user(world.owner_b, source="api"),
         event("grant.created", object_type="grant", object_id=world.grant_t.pk, brand_id=b, seller_id="ASELLERT0001",
               after={"status": "ACTIVE"})),
        (Actor.task("sellers.sync_health"),
         event("seller.health_updated", object_type="seller", object_id="ASELLERS0001", seller_id="ASELLERS0001",
               before={"health_score": 99}, after={"health_score": 98})),
        (Actor.for_user(world.manager_a, source="api"),
         event("grant.revoked", object_type="grant", object_id=world.grant_s.pk, brand_id=a, seller_id="ASELLERS0001",
               before={"status": "ACTIVE"}, after={"status": "REVOKED"}, reason="=HYPERLINK(\"x\")")),
        (Actor.for_user(world.partner_t, source="web"),
         event("connection.created", object_type="connection", object_id="ASELLERT0001", seller_id="ASELLERT0001")),
        (Actor.for_user(world.owner_a, source="api"),
         event("brand.updated", object_type="brand", object_id=a, brand_id=a, before={"name": "Alpha"},
               after={"name": "Alpha Prime"})),
    ]
    ids = []
    for minute, (actor, spec) in enumerate(script):
        with transaction.atomic():
            ids.append(record_many(actor, [spec], at=at(minute))[0].pk)
    return SimpleNamespace(ids=ids, newest_first=list(reversed(ids)))


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def picks(log, *indexes: int) -> list[int]:
    """The ids of these events of the log, newest first."""
    return [log.ids[i] for i in sorted(indexes, reverse=True)]


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


# -- list, visibility ---------------------------------------------------------------------------

def test_ops_see_every_event_newest_first(api, log):
    # when
    response = api("ops").get(URL)

    # then
    assert ids_of(response) == log.newest_first
    first = response.json()["results"][0]
    assert set(first) == EVENT_FIELDS
    assert (first["action"], first["actor"], first["source"], first["object_type"]) == (
        "brand.updated", "owner_a", "api", "brand")
    assert first["at"] == "2026-01-10T12:07:00Z"
    assert (first["before"], first["after"]) == ({"name": "Alpha"}, {"name": "Alpha Prime"})


@pytest.mark.parametrize("role, indexes", [
    ("owner_a", (0, 2, 5, 7)), ("manager_a", (0, 2, 5, 7)), ("viewer_a", (0, 2, 5, 7)), ("owner_b", (1, 3)),
    ("partner_s", ()), ("partner_t", ()), ("newcomer", ()), ("ops", tuple(range(8))),
])
def test_each_role_sees_only_its_brands_events(api, log, role, indexes):
    # when
    response = api(role).get(URL)

    # then
    assert ids_of(response) == picks(log, *indexes)


def test_anonymous_is_401(api, log):
    # when
    response = api(None).get(URL)

    # then
    assert response.status_code == 401


def test_events_are_cursor_paginated(api, log):
    # given
    client = api("ops")

    # when
    pages, url = [], URL + "?page_size=3"
    while url:
        response = client.get(url)
        body = response.json()
        assert {"results", "next"} <= set(body)
        assert "count" not in body  # no COUNT(*) over millions of events
        pages.append(ids_of(response))
        url = body["next"]

    # then
    assert [len(p) for p in pages] == [3, 3, 2]
    assert sum(pages, []) == log.newest_first


def test_a_cursor_keeps_its_place_when_new_events_arrive(api, world, log):
    # given
    client = api("ops")
    first = client.get(URL + "?page_size=3").json()
    with transaction.atomic():
        record_many(Actor.for_user(world.owner_a), [event("brand.updated", object_type="brand",
                                                         object_id=world.brand_a.pk, brand_id=world.brand_a.pk)])

    # when
    second = client.get(first["next"])

    # then
    assert ids_of(second) == log.newest_first[3:6]


def test_a_malformed_cursor_is_refused_not_a_500(api, log):
    # when
    response = api("ops").get(URL + "?cursor=not-a-cursor")

    # then
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "INVALID_CURSOR"


# -- filters ------------------------------------------------------------------------------------

@pytest.mark.parametrize("role, params, indexes", [
    ("ops", {"brand": "A"}, (0, 2, 5, 7)),
    ("ops", {"brand": "B"}, (1, 3)),
    ("ops", {"seller_id": "ASELLERS0001"}, (2, 4, 5)),
    ("ops", {"actor": "owner_a"}, (0, 2, 7)),
    ("ops", {"actor": "sellers.sync_health"}, (4,)),
    ("ops", {"action": "grant.created"}, (2, 3)),
    ("ops", {"object_type": "brand"}, (0, 1, 7)),
    ("ops", {"object_type": "grant", "object_id": "GRANT_S"}, (2, 5)),
    ("ops", {"since": "2026-01-10T12:02:00Z"}, (2, 3, 4, 5, 6, 7)),
    ("ops", {"until": "2026-01-10T12:02:00Z"}, (0, 1)),
    ("ops", {"since": "2026-01-10T12:02:00Z", "until": "2026-01-10T12:05:00Z"}, (2, 3, 4)),
    ("ops", {"since": "2026-01-10T13:02:00+01:00"}, (2, 3, 4, 5, 6, 7)),
    ("ops", {"since": "2026-01-11"}, ()),
    ("ops", {"brand": "A", "action": "grant.revoked", "seller_id": "ASELLERS0001"}, (5,)),
    ("owner_a", {"brand": "B"}, ()),
    ("owner_a", {"seller_id": "ASELLERT0001"}, ()),
    ("owner_a", {"seller_id": "ASELLERS0001"}, (2, 5)),
    ("owner_b", {"action": "grant.created"}, (3,)),
    ("partner_s", {"seller_id": "ASELLERS0001"}, ()),
])
def test_filters(api, world, log, role, params, indexes):
    # given
    names = {"A": str(world.brand_a.pk), "B": str(world.brand_b.pk), "GRANT_S": str(world.grant_s.pk)}
    query = {key: names.get(value, value) for key, value in params.items()}

    # when
    response = api(role).get(URL, query)

    # then
    assert ids_of(response) == picks(log, *indexes)


@pytest.mark.parametrize("params, field, code", [
    ({"since": "yesterday"}, "since", "INVALID_DATE"),
    ({"until": "2026-13-01T00:00:00Z"}, "until", "INVALID_DATE"),
    ({"since": "2026-01-10T25:00:00"}, "since", "INVALID_DATE"),
    ({"until": "0000-00-00"}, "until", "INVALID_DATE"),
    ({"brand": "abc"}, "brand", None),
    ({"brand": "1.5"}, "brand", None),
    ({"brand": "99999999999999999999"}, "brand", None),
    ({"brand": "-1"}, "brand", None),
])
def test_malformed_filters_are_400_naming_the_field(api, log, params, field, code):
    # when
    response = api("ops").get(URL, params)

    # then
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == field
    if code:
        assert error["code"] == code
        assert params[field][:10] in error["detail"]


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_extreme_dates_are_never_a_500(api, log, since):
    # when
    response = api("ops").get(URL, {"since": since})

    # then
    assert response.status_code in {200, 400}


# -- events written through the API -------------------------------------------------------------

def test_an_api_change_is_logged_with_its_request_id(api, world):
    # given
    response = api("owner_a").patch(f"/api/v1/brands/{world.brand_a.pk}", {"name": "Alpha Prime"}, format="json",
                                    HTTP_X_REQUEST_ID="req-123")

    # when
    [row] = api("owner_a").get(URL, {"action": "brand.updated"}).json()["results"]

    # then
    assert response["X-Request-ID"] == "req-123"
    assert (row["actor"], row["source"], row["request_id"]) == ("owner_a", "api", "req-123")
    assert (row["brand"], row["object_type"], row["object_id"]) == (world.brand_a.pk, "brand", str(world.brand_a.pk))
    assert (row["before"], row["after"]) == ({"name": "Alpha"}, {"name": "Alpha Prime"})


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_log_is_read_only(api, log, method):
    # when
    listed = getattr(api("ops"), method)(URL, {"action": "x"}, format="json")
    one = getattr(api("ops"), method)(f"{URL}/{log.ids[0]}", {"action": "x"}, format="json")

    # then
    assert listed.status_code == 405
    assert one.status_code in {404, 405}
    assert AuditEvent.objects.count() == 8


# -- CSV export ---------------------------------------------------------------------------------

def test_csv_export_streams_the_filtered_set_with_a_header(api, log):
    # when
    response = api("ops").get(URL, {"format": "csv"})

    # then
    assert response.streaming
    assert "attachment" in response["Content-Disposition"]
    header, *rows = read_csv(response)
    assert header[:3] == ["id", "at", "actor"]
    assert {"action", "object_type", "object_id", "brand_id", "seller_id", "before", "after", "reason",
            "request_id"} <= set(header)
    assert [int(row[0]) for row in rows] == log.newest_first


def test_client_addresses_in_the_export_are_for_ops_only(api, log):
    # when ops and a brand owner export
    ops_header = read_csv(api("ops").get(URL, {"format": "csv"}))[0]
    owner_header = read_csv(api("owner_a").get(URL, {"format": "csv"}))[0]
    # then only ops get the ip column
    assert "ip" in ops_header
    assert "ip" not in owner_header


def test_csv_export_is_not_paginated(api, log):
    # when
    rows = read_csv(api("ops").get(URL, {"format": "csv", "page_size": 2}))[1:]

    # then
    assert len(rows) == 8


@pytest.mark.parametrize("role, params, indexes", [
    ("owner_a", {}, (0, 2, 5, 7)),
    ("owner_a", {"brand": "B"}, ()),
    ("partner_s", {}, ()),
    ("ops", {"action": "grant.created"}, (2, 3)),
    ("ops", {"since": "2026-01-10T12:06:00Z"}, (6, 7)),
])
def test_csv_export_holds_what_the_caller_may_see(api, world, log, role, params, indexes):
    # given
    query = {"format": "csv", **{k: str(world.brand_b.pk) if v == "B" else v for k, v in params.items()}}

    # when
    header, *rows = read_csv(api(role).get(URL, query))

    # then
    assert header[0] == "id"
    assert [int(row[0]) for row in rows] == picks(log, *indexes)


def test_csv_export_neutralises_spreadsheet_formulas(api, log):
    # when
    header, *rows = read_csv(api("ops").get(URL, {"format": "csv", "action": "grant.revoked"}))

    # then
    [row] = rows
    assert row[header.index("reason")] == "'=HYPERLINK(\"x\")"


def test_a_refused_csv_export_answers_in_json(api, log):
    # when
    response = api("ops").get(URL, {"format": "csv", "since": "not a date"})

    # then
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert error_codes(response) == ["INVALID_DATE"]


def test_csv_export_needs_credentials(api, log):
    # when
    response = api(None).get(URL, {"format": "csv"})

    # then
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")


# -- verify -------------------------------------------------------------------------------------

def test_ops_verify_an_intact_chain(api, log):
    # when
    response = api("ops").get(URL + "/verify")

    # then
    assert response.status_code == 200
    assert response.json() == {"ok": True, "checked": 8, "first_bad_event": None}


def test_verify_names_the_first_edited_event(api, log, tamper):  # noqa: F811
    # given
    tamper(("UPDATE audit_auditevent SET reason = %s WHERE id = %s", ["edited", log.ids[5]]))

    # when
    response = api("ops").get(URL + "/verify")

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["first_bad_event"]) == (False, log.ids[5])


@pytest.mark.parametrize("role, expected", [("anonymous", 401), *[(r, 403) for r in ROLES[1:-1]], ("ops", 200)])
def test_role_matrix_verify(api, log, role, expected):
    # when
    response = api(role).get(URL + "/verify")

    # then
    assert response.status_code == expected
    if expected == 403:
        assert error_codes(response) == ["FORBIDDEN"]


@pytest.mark.parametrize("role, expected", [("anonymous", 401), *[(r, 200) for r in ROLES[1:]]])
def test_role_matrix_list(api, log, role, expected):
    # when
    response = api(role).get(URL)

    # then
    assert response.status_code == expected


def test_csv_export_by_accept_header(api, log):
    # when
    response = api("ops").get(URL, HTTP_ACCEPT="text/csv")

    # then
    header, *rows = read_csv(response)
    assert len(rows) == 8
