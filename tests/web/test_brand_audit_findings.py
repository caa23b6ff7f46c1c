"""A brand's audit trail (filters, keyset paging) and its unauthorized-offer findings (filters,
sorting, paging, the streamed CSV evidence export — the same rows as the API's)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from audit import services as audit
from audit.context import Actor
from authorizations.api.findings import CSV_COLUMNS
from tests.factories import AsinFactory

from .brand_helpers import body, finding, url

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _record(brand, specs, *, actor_name="owner_a", at=None, user=None):
    with transaction.atomic():
        return audit.record_many(Actor(user=user, name=actor_name, source="web"), specs, at=at)


def _event(brand, action="grant.revoked", n=0, **kw):
    return audit.event(action, object_type=action.split(".")[0], object_id=n, brand_id=brand.pk,
                       before=kw.get("before"), after=kw.get("after"), reason=kw.get("reason", ""))


def _object_ids(html: str) -> list[int]:
    return [int(m) for m in re.findall(r'<span class="muted mono small">[a-z_.]+ · [a-z]+ ([0-9]+)', html)]


# -- audit trail ----------------------------------------------------------------------------------

def test_the_trail_shows_who_when_what_changed_and_why(client_for, world):
    _record(world.brand_a, [_event(world.brand_a, "grant.revoked", 7, before={"status": "ACTIVE"},
                                   after={"status": "REVOKED", "valid_until": "2026-01-02T03:04:05+00:00"},
                                   reason="Counterfeit units returned")], user=world.owner_a)
    _record(world.brand_b, [_event(world.brand_b, "grant.revoked", 8, reason="Bravo secret")])
    html = body(client_for("viewer_a").get(url("audit", world.brand_a)))
    assert "Authorization revoked" in html and "grant.revoked · grant 7" in html
    assert "<del>ACTIVE</del> → <ins>REVOKED</ins>" in html
    assert "<ins>2026-01-02 03:04</ins>" in html  # times shown as times
    assert "Counterfeit units returned" in html and "owner_a" in html
    assert "Bravo secret" not in html and "grant 8" not in html


def test_the_trail_is_newest_first_with_keyset_pages(client_for, world, django_assert_max_num_queries):
    start = timezone.now() - dt.timedelta(days=1)
    for n in range(120):
        _record(world.brand_a, [_event(world.brand_a, "grant.created", n)], at=start + dt.timedelta(minutes=n))
    client = client_for("owner_a")
    with django_assert_max_num_queries(15):
        first = body(client.get(url("audit", world.brand_a)))
    assert _object_ids(first) == list(range(119, 69, -1))
    older = re.search(r'href="[^"?]*\?before=([0-9]+)" rel="next"', first).group(1)
    assert "rel=\"prev\"" not in first
    with django_assert_max_num_queries(15):
        second = body(client.get(url("audit", world.brand_a, f"before={older}")))
    assert _object_ids(second) == list(range(69, 19, -1))
    newer = re.search(r'href="[^"?]*\?after=([0-9]+)" rel="prev"', second).group(1)
    third_link = re.search(r'href="[^"?]*\?before=([0-9]+)" rel="next"', second).group(1)
    assert _object_ids(body(client.get(url("audit", world.brand_a, f"before={third_link}")))) == list(range(19, -1, -1))
    assert _object_ids(body(client.get(url("audit", world.brand_a, f"after={newer}")))) == list(range(119, 69, -1))


def test_the_trail_filters_by_action_who_and_time(client_for, world):
    now = timezone.now()
    _record(world.brand_a, [_event(world.brand_a, "membership.added", 1)], at=now - dt.timedelta(days=10),
            actor_name="owner_a")
    _record(world.brand_a, [_event(world.brand_a, "membership.removed", 2)], at=now - dt.timedelta(days=5),
            actor_name="manager_a")
    _record(world.brand_a, [_event(world.brand_a, "grant.created", 3)], at=now - dt.timedelta(days=1),
            actor_name="owner_a")
    client = client_for("owner_a")

    def shown(query):
        return _object_ids(body(client.get(url("audit", world.brand_a, query))))

    assert shown("action=membership.*") == [2, 1]
    assert shown("action=membership.removed") == [2]
    assert shown("actor=owner_a&action=") == [3, 1]
    day = (now - dt.timedelta(days=5)).date().isoformat()
    assert shown(f"date_from={day}&date_to={day}") == [2]
    assert shown(f"date_from={day}") == [3, 2]
    assert shown("action=not-an-action") == [3, 2, 1]  # an unknown choice filters nothing (and says so)
    html = body(client.get(url("audit", world.brand_a, f"date_from={day}&date_to=2000-01-01")))
    assert "The end date is before the start date." in html
    assert "No event matches these filters." in body(client.get(url("audit", world.brand_a, "action=finding.*")))


def test_the_trail_filter_form_swaps_the_table_in_place(client_for, world):
    _record(world.brand_a, [_event(world.brand_a, "grant.created", 1)])
    page = body(client_for("owner_a").get(url("audit", world.brand_a)))
    assert 'hx-target="#audit-results"' in page and 'hx-push-url="true"' in page
    fragment = body(client_for("owner_a").get(url("audit", world.brand_a, "action=grant.*"), **HTMX))
    assert fragment.lstrip().startswith('<div id="audit-results"') and "<html" not in fragment


def test_a_large_trail_stays_bounded(client_for, world, django_assert_max_num_queries):
    for batch in range(6):
        _record(world.brand_a, [_event(world.brand_a, "grant.created", batch * 500 + n) for n in range(500)])
    client = client_for("owner_a")
    first = body(client.get(url("audit", world.brand_a)))
    older = re.search(r'before=([0-9]+)', first).group(1)
    for query in ("", f"before={older}", "action=grant.*", "actor=owner_a&date_from=2020-01-01"):
        with django_assert_max_num_queries(15):
            assert client.get(url("audit", world.brand_a, query)).status_code == 200


# -- findings -------------------------------------------------------------------------------------

@pytest.fixture
def findings(world):
    mug = AsinFactory(brand=world.brand_a, asin="B0ALPHA003", title="Green mug", marketplaces=["US", "DE"])
    rows = [
        finding(world.brand_a, world.asin_a1, "AOFFER000001", name="Grey Market Co", price="12.50", first_days_ago=3),
        finding(world.brand_a, world.asin_a1, "AOFFER000002", market="DE", price="9.00", first_days_ago=5),
        finding(world.brand_a, mug, "AOFFER000001", name="Grey Market Co", price="30.00", first_days_ago=8),
        finding(world.brand_a, mug, "AOFFER000003", price="5.00", first_days_ago=30, resolved_days_ago=2),
        finding(world.brand_b, world.asin_b1, "AOFFERBRAVO1", name="Bravo pirate"),
    ]
    return rows


def _finding_rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<td data-label="ASIN"><span class="mono">([A-Z0-9]{10})</span>.*?'
                      r'<span class="mono muted small">([A-Z0-9]+)</span>', html, flags=re.DOTALL)


def test_open_findings_are_shown_by_default(client_for, world, findings):
    html = body(client_for("viewer_a").get(url("findings", world.brand_a)))
    assert "3 findings" in html
    assert sorted(_finding_rows(html)) == [("B0ALPHA001", "AOFFER000001"), ("B0ALPHA001", "AOFFER000002"),
                                           ("B0ALPHA003", "AOFFER000001")]
    assert "Bravo pirate" not in html and "AOFFERBRAVO1" not in html
    options = html[html.index('name="seller"'):html.index("</select>", html.index('name="seller"'))]
    assert "Grey Market Co (AOFFER000001)" in options and "AOFFER000003" in options  # every seller of the brand


@pytest.mark.parametrize(("query", "expected"), [
    ("status=resolved", [("B0ALPHA003", "AOFFER000003")]),
    ("status=all&sort=price", [("B0ALPHA003", "AOFFER000003"), ("B0ALPHA001", "AOFFER000002"),
                               ("B0ALPHA001", "AOFFER000001"), ("B0ALPHA003", "AOFFER000001")]),
    ("marketplace=DE", [("B0ALPHA001", "AOFFER000002")]),
    ("seller=AOFFER000001&sort=-price", [("B0ALPHA003", "AOFFER000001"), ("B0ALPHA001", "AOFFER000001")]),
    ("asin=b0alpha003&status=all&sort=first_seen", [("B0ALPHA003", "AOFFER000003"), ("B0ALPHA003", "AOFFER000001")]),
    ("seller=AOFFERBRAVO1", [("B0ALPHA001", "AOFFER000001"), ("B0ALPHA001", "AOFFER000002"),
                             ("B0ALPHA003", "AOFFER000001")]),  # not a seller of this brand: ignored
])
def test_findings_filter_and_sort(client_for, world, findings, query, expected):
    rows = _finding_rows(body(client_for("owner_a").get(url("findings", world.brand_a, query + "&sort=asin"
                                                            if "sort=" not in query else query))))
    assert rows == expected


def test_findings_page_by_50(client_for, world, django_assert_max_num_queries):
    for n in range(75):
        finding(world.brand_a, world.asin_a1, f"AOFFER{n:06d}")
    client = client_for("owner_a")
    with django_assert_max_num_queries(15):
        html = body(client.get(url("findings", world.brand_a)))
    assert len(_finding_rows(html)) == 50 and "Page 1 of 2" in html
    assert len(_finding_rows(body(client.get(url("findings", world.brand_a, "page=2"))))) == 25


def test_no_open_finding_says_so(client_for, world):
    html = body(client_for("owner_a").get(url("findings", world.brand_a)))
    assert "No unauthorized offer is open." in html


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response))))


def test_the_evidence_export_streams_the_apis_rows(client_for, world, findings):
    response = client_for("viewer_a").get(url("findings_export", world.brand_a))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith(f'attachment; filename="findings-brand-{world.brand_a.pk}-open-')
    page_rows = _csv(response)
    assert page_rows[0] == CSV_COLUMNS
    api = APIClient()
    api.force_authenticate(world.viewer_a)
    api_rows = _csv(api.get(f"/api/v1/brands/{world.brand_a.pk}/findings?format=csv&resolved=false"))
    assert page_rows == api_rows
    assert len(page_rows) == 4 and all(row[-1] == "Alpha" for row in page_rows[1:])


def test_the_export_follows_the_page_filters(client_for, world, findings):
    rows = _csv(client_for("owner_a").get(url("findings_export", world.brand_a, "status=all&marketplace=US")))
    assert sorted((r[0], r[2]) for r in rows[1:]) == [("B0ALPHA001", "AOFFER000001"), ("B0ALPHA003", "AOFFER000001"),
                                                      ("B0ALPHA003", "AOFFER000003")]
    page = body(client_for("owner_a").get(url("findings", world.brand_a, "status=all&marketplace=US&page=1")))
    assert f'{url("findings_export", world.brand_a)}?status=all&amp;marketplace=US"' in page


def test_the_findings_filter_form_swaps_the_table_in_place(client_for, world, findings):
    fragment = body(client_for("owner_a").get(url("findings", world.brand_a, "marketplace=DE"), **HTMX))
    assert fragment.lstrip().startswith('<div id="finding-results"') and "<html" not in fragment
    assert _finding_rows(fragment) == [("B0ALPHA001", "AOFFER000002")]
    assert "marketplace=DE" in fragment  # the export link follows the filters
