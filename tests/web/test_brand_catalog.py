"""The ASIN catalog page (search, filters, sorting, paging, htmx) and the CSV import (small
imports in the request; large ones as a background job with a progress bar)."""
from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from brands import import_jobs
from brands.models import Asin, AsinMarketplace, PresenceStatus
from spapi_client.models import SyncKind, SyncRun, SyncRunInput, SyncStatus
from tests.factories import AsinFactory, ensure_marketplaces, marketplace

from .brand_helpers import body, grant, make_asins, sellers, url

pytestmark = pytest.mark.django_db

HEADER = "asin,gcid,title,category,marketplaces"


@pytest.fixture(autouse=True)
def _marketplaces(db):
    """Every marketplace row (the data migration's): a transactional test elsewhere may have
    flushed them."""
    ensure_marketplaces()
HTMX = {"HTTP_HX_REQUEST": "true"}


def _main(html: str) -> str:
    return html[html.index('<div id="asin-results"'):]


def _codes(html: str) -> list[str]:
    import re

    return re.findall(r'<td data-label="ASIN" class="mono">([A-Z0-9]{10})</td>', html)


# -- the catalog ----------------------------------------------------------------------------------

@pytest.fixture
def catalog(world):
    """Brand A: the world's two ASINs, 60 catalog items (C000000000…), one unverified in JP, one
    ASIN at its limit."""
    items = make_asins(world.brand_a, 60)
    AsinFactory(brand=world.brand_a, asin="B0JAPAN001", title="Matcha whisk", gcid=None, marketplaces=[])
    AsinMarketplace.objects.create(asin=Asin.objects.get(asin="B0JAPAN001"), marketplace=marketplace("JP"),
                                   status=PresenceStatus.UNVERIFIED)
    for shop in sellers(10):
        grant(items[5], shop)
    return items


def test_the_catalog_lists_50_asins_a_page_with_their_usage(client_for, world, catalog):
    response = client_for("viewer_a").get(url("asins", world.brand_a))
    html = body(response)
    assert "63 ASINs · showing 1–50" in html
    codes = _codes(html)
    assert len(codes) == 50 and codes == sorted(codes)
    assert "Page 1 of 2" in html
    # C000000005 is at its limit: highlighted, its bar full
    row = html[html.index("C000000005"):]
    row = row[:row.index("</tr>")]
    assert "10 / 10" in row
    second = body(client_for("viewer_a").get(url("asins", world.brand_a, "page=2")))
    assert len(_codes(second)) == 13


@pytest.mark.parametrize(("query", "expected"), [
    ("q=B0ALPHA", ["B0ALPHA001", "B0ALPHA002"]),
    ("q=alpha001", ["B0ALPHA001"]),
    ("q=teapot", ["B0ALPHA002"]),
    ("q=Catalog+item+59", ["C000000059"]),
    ("marketplace=JP", ["B0JAPAN001"]),
    ("presence=UNVERIFIED", ["B0JAPAN001"]),
    ("marketplace=DE&presence=VERIFIED&q=B0", ["B0ALPHA001"]),
    ("registered=no&q=B0", ["B0JAPAN001"]),
    ("at_limit=on", ["C000000005"]),
])
def test_search_and_filters(client_for, world, catalog, query, expected):
    html = body(client_for("owner_a").get(url("asins", world.brand_a, query)))
    assert _codes(html) == expected


def test_invalid_filters_are_ignored(client_for, world, catalog):
    html = body(client_for("owner_a").get(url("asins", world.brand_a, "marketplace=XX&presence=NOPE&sort=;drop")))
    assert "63 ASINs" in html


def test_no_match_says_so_and_offers_to_clear(client_for, world, catalog):
    html = body(client_for("owner_a").get(url("asins", world.brand_a, "q=nothing-like-this")))
    assert "No ASIN matches these filters." in html and "Clear the filters" in html


def test_an_empty_catalog_invites_an_import(client_for, world):
    from tests.factories import BrandFactory, BrandMembershipFactory

    empty = BrandFactory(name="Empty")
    BrandMembershipFactory(brand=empty, user=world.owner_b)
    html = body(client_for("owner_b").get(url("asins", empty)))
    assert "The catalog is empty." in html and url("asins_import", empty) in html
    assert "B0BRAVO001" not in html and "B0ALPHA001" not in html


@pytest.mark.parametrize(("sort", "first"), [
    ("sort=-sellers", "C000000005"), ("sort=-asin", "C000000059"), ("sort=title", "B0ALPHA002"),
])
def test_columns_sort(client_for, world, catalog, sort, first):
    html = body(client_for("owner_a").get(url("asins", world.brand_a, sort)))
    assert _codes(html)[0] == first
    assert 'aria-sort=' in html


def test_sort_and_page_links_keep_the_filters(client_for, world, catalog):
    html = body(client_for("owner_a").get(url("asins", world.brand_a, "q=C0&sort=-asin")))
    assert 'href="?q=C0&amp;sort=-asin&amp;page=2"' in html
    assert 'href="?q=C0&amp;sort=asin"' in html  # the ASIN header flips the order, keeping q
    assert 'name="sort" value="-asin" form="asin-filters"' in html  # the filter form keeps the sort


def test_the_filter_form_updates_the_table_in_place(client_for, world, catalog):
    page = body(client_for("owner_a").get(url("asins", world.brand_a)))
    form = page[page.index('<form method="get" id="asin-filters"'):page.index("</form>", page.index('id="asin-filters"'))]
    for attribute in ('hx-get="/brands/', 'hx-target="#asin-results"', 'hx-push-url="true"', 'action="/brands/',
                      'type="submit"'):
        assert attribute in form
    fragment = client_for("owner_a").get(url("asins", world.brand_a, "q=teapot"), **HTMX)
    html = body(fragment)
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="asin-results"')
    assert _codes(html) == ["B0ALPHA002"]
    assert "HX-Request" in fragment["Vary"]


@pytest.mark.parametrize("header", ["HTTP_HX_BOOSTED", "HTTP_HX_HISTORY_RESTORE_REQUEST"])
def test_boosted_links_and_history_restores_get_the_whole_page(client_for, world, catalog, header):
    html = body(client_for("owner_a").get(url("asins", world.brand_a, "page=2"), **HTMX, **{header: "true"}))
    assert "<html" in html and 'id="asin-filters"' in html


def _ten_thousand(world):
    """10,000 ASINs in two marketplaces; seller k (of 12) holds live grants on items [3k, 3k + 60),
    so items 27..65 are held by 10 to 12 sellers: at their limit."""
    from django.utils import timezone

    from authorizations.models import Grant, GrantStatus

    items = make_asins(world.brand_a, 10_000)
    now = timezone.now()
    Grant.objects.bulk_create([
        Grant(brand=world.brand_a, seller=shop, asin=item, marketplace_id="US", status=GrantStatus.ACTIVE,
              valid_from=now, status_changed_at=now)
        for k, shop in enumerate(sellers(12)) for item in items[3 * k:3 * k + 60]
    ])
    return items


QUERIES = ["", "page=120", "sort=-sellers", "at_limit=on", "q=item+99", "marketplace=DE&presence=VERIFIED&sort=-created",
           "registered=yes&sort=title&page=3", "at_limit=on&sort=-sellers&q=C0000000"]


def test_the_catalog_stays_bounded_and_right_at_10000_asins(client_for, world, django_assert_max_num_queries):
    items = _ten_thousand(world)
    client = client_for("owner_a")
    for query in QUERIES:
        with django_assert_max_num_queries(15):
            response = client.get(url("asins", world.brand_a, query))
        assert response.status_code == 200, query
        assert 0 < len(_codes(body(response))) <= 50, query
    html = body(client.get(url("asins", world.brand_a, "at_limit=on")))
    full = [i.asin for n, i in enumerate(items) if sum(1 for k in range(12) if 3 * k <= n < 3 * k + 60) >= 10]
    assert full == [f"C{n:09d}" for n in range(27, 66)]
    assert _codes(html) == full and "39 ASINs" in html
    busiest = _codes(body(client.get(url("asins", world.brand_a, "sort=-sellers"))))
    assert busiest[:12] == [f"C{n:09d}" for n in range(59, 47, -1)]  # 12 sellers each; ties by ASIN, descending
    assert len(_codes(body(client.get(url("asins", world.brand_a, "page=200"))))) == 50  # page 200 of 201: still 50
    assert "10,002 ASINs · showing 1–50" in body(client.get(url("asins", world.brand_a)))


# -- CSV import: small ----------------------------------------------------------------------------

GOOD = f"{HEADER}\nB0NEWNEW01,GC00000000000001,Copper kettle,Home & Kitchen,US;DE\nB0ALPHA002,,Blue teapot v2,,US;UK\n"
BAD = (f"{HEADER}\nB0NEWNEW01,,Fine,,US\nnot-an-asin,,Bad,,US\nB0NEWNEW02,SHORT,Bad gcid,,US\n"
       "B0NEWNEW03,,Bad market,,US;XX\n")


def test_a_pasted_import_writes_the_catalog_and_says_what_changed(client_for, world):
    response = client_for("manager_a").post(url("asins_import", world.brand_a), {"csv_text": GOOD})
    assert response.status_code == 200
    html = body(response)
    assert "Import finished." in html and "ASINs added: 1 · updated: 1 · already up to date: 0" in html
    assert "B0NEWNEW01" in html
    kettle = Asin.objects.get(brand=world.brand_a, asin="B0NEWNEW01")
    assert (kettle.gcid, kettle.title) == ("GC00000000000001", "Copper kettle")
    assert set(kettle.presences.values_list("marketplace_id", flat=True)) == {"US", "DE"}
    assert Asin.objects.get(brand=world.brand_a, asin="B0ALPHA002").title == "Blue teapot v2"
    events = AuditEvent.objects.filter(brand_id=world.brand_a.pk, action__in=["asin.created", "asin.updated"])
    assert {(e.action, e.actor, e.source) for e in events} == {("asin.created", "manager_a", "web"),
                                                               ("asin.updated", "manager_a", "web")}


def test_bad_lines_are_listed_and_nothing_is_written(client_for, world):
    before = Asin.objects.count(), AuditEvent.objects.count()
    response = client_for("owner_a").post(url("asins_import", world.brand_a), {"csv_text": BAD})
    assert response.status_code == 400
    html = body(response)
    assert "3 problems found." in html and "Nothing was imported" in html
    table = html[html.index('class="data stack-narrow import-errors"'):]
    rows = table.split("<tr>")[2:]
    assert [r.split('class="num">')[1].split("<")[0] for r in rows] == ["3", "4", "5"]
    assert "INVALID_ASIN" in rows[0] and "INVALID_GCID" in rows[1] and "INVALID_MARKETPLACE" in rows[2]
    assert "“XX” is not a marketplace code." in rows[2]
    assert (Asin.objects.count(), AuditEvent.objects.count()) == before
    assert "B0NEWNEW03,,Bad market,,US;XX" in html  # the pasted text is kept to be fixed


def test_a_partial_import_writes_the_good_lines_and_lists_the_others(client_for, world):
    response = client_for("owner_a").post(url("asins_import", world.brand_a), {"csv_text": BAD, "partial": "on"})
    assert response.status_code == 200
    html = body(response)
    assert "ASINs added: 1 ·" in html and "3 problems found." in html and "These lines were left out." in html
    assert Asin.objects.filter(brand=world.brand_a, asin__startswith="B0NEWNEW").count() == 1


def test_an_uploaded_file_is_imported(client_for, world):
    upload = SimpleUploadedFile("catalog.csv", ("\ufeff" + GOOD).encode("utf-8"), content_type="text/csv")
    response = client_for("owner_a").post(url("asins_import", world.brand_a), {"csv_file": upload})
    assert response.status_code == 200 and "ASINs added: 1 ·" in body(response)


def test_a_file_that_is_not_utf8_is_refused_next_to_the_field(client_for, world):
    upload = SimpleUploadedFile("catalog.csv", f"{HEADER}\nB0NEWNEW01,,Café,,US\n".encode("latin-1"))
    response = client_for("owner_a").post(url("asins_import", world.brand_a), {"csv_file": upload})
    assert response.status_code == 400
    html = body(response)
    assert "The file is not UTF-8 text" in html[html.index('for="id_csv_file"'):html.index('for="id_csv_text"')]
    assert not Asin.objects.filter(asin="B0NEWNEW01").exists()


@pytest.mark.parametrize(("data", "message"), [
    ({}, "Choose a CSV file or paste its lines."),
    ({"csv_text": "   \n"}, "Choose a CSV file or paste its lines."),
    ({"csv_text": GOOD, "csv_file": "file"}, "Upload a file or paste lines, not both."),
])
def test_the_form_needs_exactly_one_source(client_for, world, data, message):
    if data.get("csv_file") == "file":
        data["csv_file"] = SimpleUploadedFile("a.csv", GOOD.encode())
    response = client_for("owner_a").post(url("asins_import", world.brand_a), data)
    assert response.status_code == 400 and message in body(response)


def test_a_file_above_the_limit_is_refused_without_reading_it_all(client_for, world, monkeypatch):
    from brands.web import views

    monkeypatch.setattr(views, "IMPORT_MAX_BYTES", 1024)
    upload = SimpleUploadedFile("big.csv", (GOOD + "B0NEWNEW09,,x,,US\n" * 200).encode())
    response = client_for("owner_a").post(url("asins_import", world.brand_a), {"csv_file": upload})
    assert response.status_code == 413
    html = body(response)
    assert "The file is larger than 1.0\xa0KB. Split it into smaller files." in html
    assert not Asin.objects.filter(asin="B0NEWNEW01").exists()


def test_the_form_refuses_a_file_above_5_mb(world):
    from brands.web.forms import AsinImportForm

    upload = SimpleUploadedFile("big.csv", b"x" * (6 * 1024 * 1024))
    form = AsinImportForm({}, {"csv_file": upload})
    assert not form.is_valid()
    assert "the limit is 5.0\xa0MB" in form.errors["csv_file"][0]


def test_pasted_text_above_the_body_cap_is_refused_clearly(client_for, world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    response = client_for("owner_a").post(url("asins_import", world.brand_a),
                                          {"csv_text": GOOD + "B0NEWNEW09,,x,,US\n" * 300})
    assert response.status_code == 413
    assert "The pasted text is larger than" in body(response)
    assert not Asin.objects.filter(asin="B0NEWNEW01").exists()


def test_the_import_page_needs_a_csrf_token(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner_a)
    assert client.post(url("asins_import", world.brand_a), {"csv_text": GOOD}).status_code == 403
    assert not Asin.objects.filter(asin="B0NEWNEW01").exists()


def test_viewers_see_the_format_but_no_form(client_for, world):
    html = body(client_for("viewer_a").get(url("asins_import", world.brand_a)))
    assert "Only owners and managers of the brand can import ASINs." in html
    assert 'name="csv_text"' not in html and "asin,gcid,title,category,marketplaces" in html


# -- CSV import: large, as a background job --------------------------------------------------------

def _large(n: int = 1500, *, bad_lines: dict[int, str] | None = None) -> str:
    lines = [HEADER] + [f"B1{i:08d},,Bulk item {i},Home & Kitchen,US" for i in range(n)]
    for line_number, text in (bad_lines or {}).items():
        lines[line_number - 1] = text
    return "\n".join(lines) + "\n"


def test_a_large_import_runs_as_a_job_and_shows_its_result(client_for, world, django_capture_on_commit_callbacks):
    client = client_for("owner_a")
    with django_capture_on_commit_callbacks(execute=True):  # Celery is eager: the job runs at commit
        response = client.post(url("asins_import", world.brand_a), {"csv_text": _large(1500)})
    run = SyncRun.objects.get(kind=SyncKind.ASIN_IMPORT)
    assert response.status_code == 302
    assert response["Location"] == url("asins_import", world.brand_a, f"job={run.pk}")
    assert (run.status, run.brand_id, run.requested_by, run.progress_done, run.progress_total) == (
        SyncStatus.SUCCESS, world.brand_a.pk, world.owner_a, 1500, 1500)
    assert len(run.result["created"]) == 1500 and run.result["errors"] == []
    assert not SyncRunInput.objects.exists()  # the CSV is not kept once the job is done
    assert Asin.objects.filter(brand=world.brand_a, asin__startswith="B1").count() == 1500
    event = AuditEvent.objects.filter(action="asin.created", brand_id=world.brand_a.pk).first()
    assert (event.actor, event.source) == ("owner_a", "worker")

    page = client.get(response["Location"])
    html = body(page)
    assert "Import finished." in html and "ASINs added: 1,500 ·" in html
    assert 'hx-trigger="every 1s"' not in html  # finished: no more polling
    assert '<progress max="1" value="1">' in html
    listing = body(client.get(url("asins_import", world.brand_a)))
    assert "Recent background imports" in listing and f"?job={run.pk}" in listing


def test_a_large_import_with_bad_lines_fails_listing_them(client_for, world, django_capture_on_commit_callbacks):
    client = client_for("manager_a")
    text = _large(1200, bad_lines={7: "BAD,,x,,US", 900: "B100000001,,dup,,US"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("asins_import", world.brand_a), {"csv_text": text})
    run = SyncRun.objects.get(kind=SyncKind.ASIN_IMPORT)
    assert run.status == SyncStatus.FAILURE
    assert [(e["line"], e["code"]) for e in run.result["errors"]] == [(7, "INVALID_ASIN"), (900, "DUPLICATE_ASIN")]
    assert not Asin.objects.filter(asin__startswith="B1").exists()
    html = body(client.get(response["Location"]))
    assert "2 problems found." in html and "Nothing was imported" in html
    assert "INVALID_ASIN" in html and "DUPLICATE_ASIN" in html and "Import again" in html


def test_a_running_job_shows_a_progress_bar_polled_every_second(client_for, world):
    run = SyncRun.objects.create(kind=SyncKind.ASIN_IMPORT, brand=world.brand_a, requested_by=world.owner_a,
                                 status=SyncStatus.RUNNING, progress_total=5000)
    import_jobs.import_progress_reporter(run)(2000, 5000)  # what the task reports from inside its transaction
    client = client_for("viewer_a")
    html = body(client.get(url("asins_import", world.brand_a, f"job={run.pk}")))
    assert 'hx-trigger="every 1s"' in html and f'hx-get="{url("asins_import", world.brand_a)}?job={run.pk}"' in html
    assert '<progress max="5000" value="2000">' in html and "2,000 of 5,000 lines written (40%)" in html
    fragment = body(client.get(url("asins_import", world.brand_a, f"job={run.pk}"), **HTMX))
    assert fragment.lstrip().startswith('<section id="import-job"')
    cache.clear()
    # without the live figure (another cache), the run's own
    assert '<progress max="5000" value="0">' in body(client.get(url("asins_import", world.brand_a, f"job={run.pk}")))


def test_a_queued_job_says_it_waits_for_a_worker(client_for, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for("owner_a").post(url("asins_import", world.brand_a), {"csv_text": _large(1001)})
    run = SyncRun.objects.get()
    assert run.status == SyncStatus.PENDING and SyncRunInput.objects.get(run=run).text.startswith(HEADER)
    html = body(client_for("owner_a").get(response["Location"]))
    assert "Waiting for a worker to start the import" in html and 'hx-trigger="every 1s"' in html


def test_exactly_1000_lines_import_in_the_request(client_for, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("owner_a").post(url("asins_import", world.brand_a), {"csv_text": _large(1000)})
    assert response.status_code == 200 and "ASINs added: 1,000 ·" in body(response)
    assert not SyncRun.objects.exists()


def test_a_viewer_cannot_start_a_job(client_for, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("viewer_a").post(url("asins_import", world.brand_a), {"csv_text": _large(1500)})
    assert response.status_code == 403
    assert not SyncRun.objects.exists() and not SyncRunInput.objects.exists()


@pytest.mark.parametrize("job", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_job_is_404(client_for, world, job):
    assert client_for("owner_a").get(url("asins_import", world.brand_a, f"job={job}")).status_code == 404


def test_another_brands_job_is_404(client_for, world):
    run = SyncRun.objects.create(kind=SyncKind.ASIN_IMPORT, brand=world.brand_b, requested_by=world.owner_b)
    assert client_for("owner_a").get(url("asins_import", world.brand_a, f"job={run.pk}")).status_code == 404
    assert client_for("owner_a").get(url("asins_import", world.brand_b, f"job={run.pk}")).status_code == 404
    sync = SyncRun.objects.create(kind=SyncKind.BRAND, brand=world.brand_a)
    assert client_for("owner_a").get(url("asins_import", world.brand_a, f"job={sync.pk}")).status_code == 404


def test_the_service_reports_progress_batch_by_batch(world):
    from audit.context import Actor
    from brands import services

    calls = []
    result = services.asins_import(actor=Actor.for_user(world.owner_a), brand=world.brand_a,
                                   csv_text=_large(4500), progress=lambda done, total: calls.append((done, total)))
    assert len(result.created) == 4500
    assert calls == [(0, 4500), (2000, 4500), (4000, 4500), (4500, 4500)]


def test_the_job_is_all_or_nothing_and_runs_once(world, django_capture_on_commit_callbacks):
    from audit.context import Actor
    from brands.tasks import import_asins

    with django_capture_on_commit_callbacks(execute=False):
        run = import_jobs.import_job_start(actor=Actor.for_user(world.owner_a), brand=world.brand_a,
                                           csv_text=_large(1100))
    import_asins.apply(args=[str(run.pk)])
    run.refresh_from_db()
    assert run.status == SyncStatus.SUCCESS and run.attempts == 1
    import_asins.apply(args=[str(run.pk)])  # a re-delivery of a finished run does nothing
    run.refresh_from_db()
    assert run.attempts == 1
