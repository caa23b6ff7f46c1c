"""Ops' audit log page: who may see it, its filters, keyset paging, the CSV export, and query
counts that do not grow with the log."""
from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.export import EXPORT_COLUMNS, csv_lines
from audit.models import AuditEvent
from tests.web import ops_helpers
from tests.web.ops_helpers import DAY2, DAY3, OPS_URLS, bulk_events, newest_first

audit_log, fresh_cache = ops_helpers.audit_log, ops_helpers.fresh_cache  # fixtures

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[int]:
    return [e.id for e in response.context["page"].rows]


def body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


# -- access ----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", OPS_URLS)
@pytest.mark.parametrize("role", ["owner_a", "partner_s", "newcomer", "viewer_a"])
def test_everyone_but_ops_is_refused(client_for, role, url):
    response = client_for(role).get(url)
    assert response.status_code == 403
    assert "Not allowed" in body(response)


@pytest.mark.parametrize("url", OPS_URLS)
def test_anonymous_visitors_are_sent_to_log_in(client_for, url):
    response = client_for("anonymous").get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", OPS_URLS)
def test_ops_staff_and_members_of_the_ops_group_see_the_pages(client_for, world, url):
    assert client_for("ops").get(url).status_code == 200
    world.newcomer.groups.add(Group.objects.get_or_create(name="ops")[0])
    assert client_for("newcomer").get(url).status_code == 200


def test_ops_root_leads_to_the_audit_log(client_for):
    response = client_for("ops").get("/ops/")
    assert response.status_code == 302 and response["Location"] == "/ops/audit/"


def test_the_page_shows_each_events_facts(client_for, world, audit_log):
    # given: the newest DAY2 event (a revocation with before/after)
    revoked = audit_log.day2[-1]
    # when
    response = client_for("ops").get("/ops/audit/", {"brand": world.brand_b.pk})
    # then
    html = body(response)
    row = html[html.index(f'id="event-{revoked.id}"'):]
    row = row[:row.index('<tr id="event-', 1)]
    for text in ["2026-01-12 15:30:00", "owner_b", "API", "Authorization revoked", "grant.revoked",
                 str(revoked.object_id), "Bravo", "ASELLERT0001", "counterfeit", "req-brav",
                 "<details", "1 change", "ACTIVE", "REVOKED"]:
        assert text in row, text
    assert response.context["page"].rows[0].id == revoked.id


# -- filters ---------------------------------------------------------------------------------

def _expect(**filters) -> list[int]:
    return newest_first(AuditEvent.objects.filter(**filters))


@pytest.mark.parametrize(("params", "expected"), [
    (lambda w: {"brand": w.brand_a.pk}, lambda w: _expect(brand_id=w.brand_a.pk)),
    (lambda w: {"seller": "ASELLERS0001"}, lambda w: _expect(seller_id="ASELLERS0001")),
    (lambda w: {"seller": "asellers0001 "}, lambda w: _expect(seller_id="ASELLERS0001")),
    (lambda w: {"actor": "owner_b"}, lambda w: _expect(actor="owner_b")),
    (lambda w: {"actor": "sellers.sync"}, lambda w: _expect(actor="sellers.sync")),
    (lambda w: {"action": "membership.added"}, lambda w: _expect(action="membership.added")),
    (lambda w: {"object_type": "seller"}, lambda w: _expect(object_type="seller")),
    (lambda w: {"object_type": "grant", "object_id": "1007"}, lambda w: _expect(object_type="grant", object_id="1007")),
    (lambda w: {"date_from": "2026-01-12"}, lambda w: _expect(at__gte=DAY2.replace(hour=0, minute=0))),
    (lambda w: {"date_to": "2026-01-12"}, lambda w: _expect(at__lt=DAY3.replace(hour=0, minute=0, second=0))),
    (lambda w: {"date_from": "2026-01-12", "date_to": "2026-01-12"}, lambda w: _expect(at=DAY2)),
    (lambda w: {"date_from": "2026-01-14", "date_to": "2026-01-14"}, lambda w: _expect(at=DAY3)),  # 23:59:59 is in
    (lambda w: {"brand": w.brand_a.pk, "action": "grant.created", "actor": "owner_a"},
     lambda w: _expect(brand_id=w.brand_a.pk, action="grant.created")),
    (lambda w: {"brand": w.brand_b.pk, "action": "membership.added"}, lambda w: []),
])
def test_each_filter_narrows_the_log(client_for, world, audit_log, params, expected):
    # when
    response = client_for("ops").get("/ops/audit/", params(world))
    # then
    assert response.status_code == 200
    wanted = expected(world)
    assert len(wanted) < AuditEvent.objects.count()
    assert rows_of(response) == wanted[:50]


def test_the_filters_cover_what_each_group_of_events_should(world, audit_log):
    """The expectations above are not vacuous: each names the events the fixture wrote."""
    assert len(_expect(brand_id=world.brand_a.pk)) == 45
    assert len(_expect(seller_id="ASELLERS0001")) == 59
    assert len(_expect(at=DAY3)) == 19
    assert len(_expect(object_type="grant", object_id="1007")) == 1


def test_an_empty_result_says_so_and_offers_to_clear(client_for, world, audit_log):
    response = client_for("ops").get("/ops/audit/", {"brand": world.brand_b.pk, "action": "membership.added"})
    html = body(response)
    assert "No events match these filters." in html
    assert "Clear the filters" in html


def test_the_action_select_lists_known_and_recorded_actions(client_for, world, audit_log):
    # given: an action no code of ours knows, written by hand
    from audit.context import Actor
    from audit.services import event
    from tests.web.ops_helpers import write
    write(Actor.command("tests"), [event("custom.thing_done", object_type="custom", object_id=1)], at=DAY3)
    # when
    response = client_for("ops").get("/ops/audit/")
    # then
    choices = dict(response.context["form"].fields["action"].choices)
    assert choices["grant.revoked"] == "Authorization revoked (grant.revoked)"
    assert choices["user.ops_granted"]  # known even before it happens
    assert choices["custom.thing_done"] == "custom.thing_done"
    assert client_for("ops").get("/ops/audit/", {"action": "custom.thing_done"}).context["page"].rows[0].action \
        == "custom.thing_done"


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"date_from": "2026-13-45"}, "date_from", "Enter a date as YYYY-MM-DD."),
    ({"date_to": "yesterday"}, "date_to", "Enter a date as YYYY-MM-DD."),
    ({"date_from": "2026-01-12", "date_to": "2026-01-10"}, "date_to", "is before the start date"),
    ({"brand": "abc"}, "brand", "Select a valid choice"),
    ({"brand": "999999"}, "brand", "Select a valid choice"),
    ({"brand": "99999999999999999999999"}, "brand", "Select a valid choice"),
    ({"seller": "not a seller!"}, "seller", "is not a seller ID"),
    ({"action": "grant.exploded"}, "action", "Select a valid choice"),
    ({"object_id": "1007"}, "object_type", "Choose the type of the object"),
    ({"before": "abc"}, "before", "Enter a whole number."),
    ({"before": "-5"}, "before", "greater than or equal to 1"),
    ({"after": "1e30"}, "after", "Enter a whole number."),
    ({"before": "99999999999999999999"}, "before", "less than or equal to"),
    ({"before": "3", "after": "4"}, "__all__", "This page link is malformed"),
])
def test_malformed_filters_get_a_clear_error_not_a_500(client_for, audit_log, params, field, message):
    # when
    response = client_for("ops").get("/ops/audit/", params)
    # then
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert message in body(response).replace("&quot;", '"')
    assert "Check the filters:" in body(response)


def test_a_filter_error_in_an_htmx_request_is_shown_in_the_swapped_part(client_for, audit_log):
    response = client_for("ops").get("/ops/audit/", {"date_from": "nope"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps 2xx only
    html = body(response)
    assert "<html" not in html and "Enter a date as YYYY-MM-DD." in html


def test_extreme_dates_are_valid_and_do_not_overflow(client_for, audit_log):
    response = client_for("ops").get("/ops/audit/", {"date_from": "0001-01-01", "date_to": "9999-12-31"})
    assert response.status_code == 200
    assert len(response.context["page"].rows) == 50


def test_a_cursor_naming_a_missing_event_shows_the_newest_with_a_note(client_for, audit_log):
    response = client_for("ops").get("/ops/audit/", {"before": 10**12})
    assert response.status_code == 200
    assert rows_of(response) == newest_first()[:50]
    assert "no longer exists" in body(response)


def test_an_htmx_filter_request_gets_only_the_results(client_for, world, audit_log):
    response = client_for("ops").get("/ops/audit/", {"brand": world.brand_a.pk}, HTTP_HX_REQUEST="true")
    html = body(response)
    assert "<html" not in html and "<table" in html
    assert f"/ops/audit/export.csv?brand={world.brand_a.pk}" in html  # the export follows the filters


# -- keyset paging ---------------------------------------------------------------------------

def test_paging_walks_the_whole_log_older_and_back_newer(client_for, audit_log):
    ops = client_for("ops")
    everything = newest_first()
    assert len(everything) > 100  # three pages
    # page 1: no newer page, an older one
    first = ops.get("/ops/audit/")
    assert rows_of(first) == everything[:50]
    assert first.context["page"].newer is None and first.context["page"].older == everything[49]
    # page 2
    second = ops.get("/ops/audit/", {"before": everything[49]})
    assert rows_of(second) == everything[50:100]
    assert second.context["page"].newer == everything[50] and second.context["page"].older == everything[99]
    # page 3: the rest, no older page
    third = ops.get("/ops/audit/", {"before": everything[99]})
    assert rows_of(third) == everything[100:]
    assert third.context["page"].older is None and third.context["page"].newer == everything[100]
    # back: newer than page 3's first row is page 2, newer than page 2's is page 1
    assert rows_of(ops.get("/ops/audit/", {"after": everything[100]})) == everything[50:100]
    back_to_first = ops.get("/ops/audit/", {"after": everything[50]})
    assert rows_of(back_to_first) == everything[:50]
    assert back_to_first.context["page"].newer is None


def test_paging_at_the_exact_page_boundary(client_for, world, audit_log):
    """Bravo has exactly 51 events: 50 on the first page, 1 on the second, nothing after."""
    ops = client_for("ops")
    bravo = newest_first(AuditEvent.objects.filter(brand_id=world.brand_b.pk))
    assert len(bravo) == 51
    first = ops.get("/ops/audit/", {"brand": world.brand_b.pk})
    assert rows_of(first) == bravo[:50] and first.context["page"].older == bravo[49]
    last = ops.get("/ops/audit/", {"brand": world.brand_b.pk, "before": bravo[49]})
    assert rows_of(last) == bravo[50:] and last.context["page"].older is None
    assert last.context["page"].newer == bravo[50]
    # exactly 50 older than the first: a full page and no older link
    full = ops.get("/ops/audit/", {"brand": world.brand_b.pk, "before": bravo[0]})
    assert rows_of(full) == bravo[1:] and full.context["page"].older is None
    assert full.context["page"].newer == bravo[1]


def test_events_of_the_same_moment_are_ordered_by_id_across_pages(client_for, world, audit_log):
    """All 51 Bravo events share one time: the id breaks the tie, none is skipped or repeated."""
    ops = client_for("ops")
    first = rows_of(ops.get("/ops/audit/", {"brand": world.brand_b.pk}))
    second = rows_of(ops.get("/ops/audit/", {"brand": world.brand_b.pk, "before": first[-1]}))
    assert first + second == sorted(first + second, reverse=True)
    assert set(first + second) == {e.id for e in audit_log.day2}


def test_paging_links_keep_the_filters(client_for, world, audit_log):
    html = body(client_for("ops").get("/ops/audit/", {"brand": world.brand_b.pk}))
    bravo = newest_first(AuditEvent.objects.filter(brand_id=world.brand_b.pk))
    assert f"/ops/audit/?brand={world.brand_b.pk}&amp;before={bravo[49]}" in html


# -- CSV export ------------------------------------------------------------------------------

def test_the_export_streams_every_filtered_event_with_the_shared_row_code(client_for, world, audit_log):
    # when: more events than one page
    response = client_for("ops").get("/ops/audit/export.csv", {"seller": "ASELLERS0001"})
    # then
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-events-')
    text = body(response)
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    expected = newest_first(AuditEvent.objects.filter(seller_id="ASELLERS0001"))
    assert len(expected) == 59
    assert [int(r[0]) for r in rows[1:]] == expected
    assert {r[EXPORT_COLUMNS.index("seller_id")] for r in rows[1:]} == {"ASELLERS0001"}
    # the same lines as manage.py audit_export writes for these events
    assert text == "".join(csv_lines(AuditEvent.objects.filter(seller_id="ASELLERS0001").order_by("-at", "-id")))


def test_the_export_ignores_the_page_cursor(client_for, audit_log):
    everything = newest_first()
    text = body(client_for("ops").get("/ops/audit/export.csv", {"before": everything[49]}))
    assert len(text.strip().splitlines()) == len(everything) + 1


def test_a_malformed_export_filter_shows_the_page_with_the_error(client_for, audit_log):
    response = client_for("ops").get("/ops/audit/export.csv", {"date_from": "2026-02-30"})
    assert response.status_code == 400
    assert "Enter a date as YYYY-MM-DD." in body(response)


# -- query counts on a large log ------------------------------------------------------------

def _queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
        assert response.status_code == 200
        body(response)  # a stream runs its queries while it is read
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_the_log(client_for, world):
    """The same number of queries on 300 events and on 100,000, for the first page, a deep page,
    a newer page, filters, and the export (read in chunks of one query)."""
    ops = client_for("ops")
    bulk_events(300, brand_id=world.brand_a.pk)
    ids = newest_first()

    def shapes(ids):
        return [
            ("/ops/audit/", {}),
            ("/ops/audit/", {"before": ids[len(ids) // 2]}),
            ("/ops/audit/", {"after": ids[len(ids) // 2]}),
            ("/ops/audit/", {"brand": world.brand_a.pk, "action": "grant.revoked", "before": ids[100]}),
            ("/ops/audit/", {"seller": "ASELLERS0001", "actor": "user7", "date_from": "2000-01-01"}),
            ("/ops/audit/", {"object_type": "grant", "object_id": "77"}),
        ]

    small = [_queries(ops, url, params) for url, params in shapes(ids)]
    bulk_events(100_000, brand_id=world.brand_a.pk)
    ids = newest_first()
    assert len(ids) == 100_300
    large = [_queries(ops, url, params) for url, params in shapes(ids)]
    assert large == small
    assert max(large) <= 14
    # a deep page is a page: 50 rows, links both ways
    deep = ops.get("/ops/audit/", {"before": ids[60_000]})
    assert rows_of(deep) == ids[60_001:60_051]
    assert deep.context["page"].newer and deep.context["page"].older


def test_no_query_counts_the_whole_log(client_for, world, audit_log):
    with CaptureQueriesContext(connection) as ctx:
        client_for("ops").get("/ops/audit/", {"before": newest_first()[60]})
    sql = " ".join(q["sql"].upper() for q in ctx.captured_queries)
    assert "COUNT(" not in sql and "OFFSET" not in sql


def test_htmx_filtering_pushes_a_tidy_address(client_for, world, audit_log):
    ops = client_for("ops")
    empty = {name: "" for name in ("seller", "actor", "action", "object_type", "object_id", "date_from", "date_to")}
    response = ops.get("/ops/audit/", {"brand": world.brand_b.pk, **empty}, HTTP_HX_REQUEST="true")
    assert response["HX-Push-Url"] == f"/ops/audit/?brand={world.brand_b.pk}"
    older = response.context["page"].older
    paged = ops.get("/ops/audit/", {"brand": world.brand_b.pk, "before": older}, HTTP_HX_REQUEST="true")
    assert paged["HX-Push-Url"] == f"/ops/audit/?brand={world.brand_b.pk}&before={older}"
    assert ops.get("/ops/audit/", empty, HTTP_HX_REQUEST="true")["HX-Push-Url"] == "/ops/audit/"
    assert "HX-Push-Url" not in ops.get("/ops/audit/", {"brand": world.brand_b.pk})  # a plain page load
