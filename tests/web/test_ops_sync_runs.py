"""Ops' sync-run pages: the list (filters, paging, throttling, errors, worker activity) and a run's
detail with its progress bar polled while it runs."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from spapi_client.models import SyncKind, SyncRun, SyncStatus
from spapi_client.runs import run_finish, run_progress, run_start
from tests.web import ops_helpers
from tests.web.ops_helpers import make_run

fresh_cache = ops_helpers.fresh_cache  # fixture

pytestmark = pytest.mark.django_db
URL = "/ops/sync-runs/"


def html_of(response) -> str:
    return response.content.decode()


@pytest.fixture
def runs(world):
    """Four runs, newest first: a brand sync running, a seller sync throttled then failed, a
    finished seller health sync, a pending catalog verification."""
    return {
        "pending": make_run(SyncKind.BRAND_CATALOG, SyncStatus.PENDING, brand=world.brand_b, minutes_ago=30),
        "health": make_run(SyncKind.SELLER_HEALTH, SyncStatus.SUCCESS, seller=world.seller_t, minutes_ago=20,
                           counts={"calls": 3, "throttled": 0, "retries": 0}, result={"health_score": 97}),
        "failed": make_run(SyncKind.SELLER, SyncStatus.FAILURE, seller=world.seller_s, minutes_ago=10,
                           counts={"calls": 12, "throttled": 7, "retries": 4, "rate_wait_seconds": 3.5,
                                   "participations_calls": 2},
                           error="SP-API getMarketplaceParticipations: 429 QuotaExceeded after 5 attempts"),
        "running": make_run(SyncKind.BRAND, SyncStatus.RUNNING, brand=world.brand_a, seller=world.seller_s,
                            minutes_ago=1, done=4, total=10, counts={"calls": 8}, requested_by=world.owner_a),
    }


def test_the_list_shows_each_run_newest_first(client_for, runs):
    response = client_for("ops").get(URL)
    assert response.status_code == 200
    assert [r.pk for r in response.context["page"].rows] == [runs[k].pk for k in ("running", "failed", "health",
                                                                                     "pending")]
    html = html_of(response)
    for text in ["Brand sync (catalog and offers)", "Running", "Alpha", "asked by owner_a",
                 '<progress max="10" value="4"', "Seller sync (participations, health, listing restrictions)",
                 "Failed", "ASELLERS0001", "429 QuotaExceeded", "Succeeded", "Pending", "Bravo", "Catalog verification"]:
        assert text in html, text
    # throttling: the failed run's 7 responses 429 stand out
    failed_row = html[html.index(f"/ops/sync-runs/{runs['failed'].pk}/"):]
    failed_row = failed_row[:failed_row.index("</tr>")]
    assert '<span class="badge warn">7</span>' in failed_row and ">12<" in failed_row and ">4<" in failed_row


@pytest.mark.parametrize(("params", "expected"), [
    ({"status": "FAILURE"}, ["failed"]),
    ({"status": "RUNNING"}, ["running"]),
    ({"kind": "seller.health"}, ["health"]),
    ({"kind": "brand.catalog", "status": "PENDING"}, ["pending"]),
    ({"kind": "brand.catalog", "status": "SUCCESS"}, []),
])
def test_filters_narrow_the_runs(client_for, runs, params, expected):
    response = client_for("ops").get(URL, params)
    assert response.status_code == 200
    assert [r.pk for r in response.context["page"].rows] == [runs[k].pk for k in expected]
    if not expected:
        assert "No sync run matches these filters." in html_of(response)


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "EXPLODED"}, "status"), ({"kind": "nope"}, "kind"), ({"before": "not-a-uuid"}, "before"),
    ({"before": str(uuid.uuid4()), "after": str(uuid.uuid4())}, "__all__"),
])
def test_malformed_filters_are_explained(client_for, runs, params, field):
    response = client_for("ops").get(URL, params)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert "Check the filters:" in html_of(response)


def test_an_htmx_filter_gets_the_table_only(client_for, runs):
    html = html_of(client_for("ops").get(URL, {"status": "FAILURE"}, HTTP_HX_REQUEST="true"))
    assert "<html" not in html and "429 QuotaExceeded" in html and "Catalog verification" not in html


def test_runs_page_by_keyset_both_ways(client_for, world):
    for i in range(120):
        make_run(SyncKind.GRANTS_EXPIRY, SyncStatus.SUCCESS, minutes_ago=i, counts={"expired": i})
    ops = client_for("ops")
    everything = list(SyncRun.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    first = ops.get(URL).context["page"]
    assert [r.pk for r in first.rows] == everything[:50] and first.newer is None
    second = ops.get(URL, {"before": first.older}).context["page"]
    assert [r.pk for r in second.rows] == everything[50:100]
    third = ops.get(URL, {"before": second.older}).context["page"]
    assert [r.pk for r in third.rows] == everything[100:] and third.older is None
    assert [r.pk for r in ops.get(URL, {"after": third.newer}).context["page"].rows] == everything[50:100]


def test_the_list_costs_the_same_queries_for_10_or_300_runs(client_for, world):
    ops = client_for("ops")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert ops.get(URL).status_code == 200
        return len(ctx.captured_queries)

    for i in range(10):
        make_run(SyncKind.SELLER, SyncStatus.SUCCESS, seller=world.seller_s, brand=world.brand_a, minutes_ago=i,
                 requested_by=world.owner_a)
    small = queries()
    for i in range(290):
        make_run(SyncKind.SELLER, SyncStatus.FAILURE, seller=world.seller_t, brand=world.brand_b, minutes_ago=i,
                 requested_by=world.owner_b, error="x")
    assert queries() == small <= 12


# -- worker activity -------------------------------------------------------------------------

def test_without_runs_the_page_says_nothing_ran_yet(client_for, world):
    html = html_of(client_for("ops").get(URL))
    assert "No run has started yet." in html and "No sync has run yet." in html


def test_last_worker_activity_is_the_newest_finish_or_start(client_for, runs):
    activity = client_for("ops").get(URL).context["activity"]
    assert activity.last_activity == runs["running"].started_at  # started after the last one finished
    assert (activity.running, activity.pending) == (1, 1)
    assert not activity.queue_looks_stuck


def test_a_queue_nobody_consumes_is_flagged(client_for, world):
    make_run(SyncKind.SELLER, SyncStatus.SUCCESS, seller=world.seller_s, minutes_ago=90)
    make_run(SyncKind.SELLER, SyncStatus.PENDING, seller=world.seller_t, minutes_ago=40)
    response = client_for("ops").get(URL)
    assert response.context["activity"].queue_looks_stuck
    assert "check that a Celery worker is up" in html_of(response)


# -- a run's page ----------------------------------------------------------------------------

def test_a_finished_runs_page_shows_everything_and_does_not_poll(client_for, runs):
    run = runs["failed"]
    html = html_of(client_for("ops").get(f"{URL}{run.pk}/"))
    for text in [str(run.pk), "Seller sync (participations, health, listing restrictions)", "Failed",
                 "Throttled (HTTP 429)", "Retries", "SP-API calls", "Waited for the rate limit (s)",
                 "SP-API calls (participations)", "429 QuotaExceeded after 5 attempts", "ASELLERS0001", "Shop S"]:
        assert text in html, text
    assert "hx-trigger" not in html
    assert "<progress" not in html  # finished without a total: no bar to fill


def test_a_running_runs_progress_is_polled_until_it_finishes(client_for, world):
    # given: a run that has done 4 of 10 batches
    run = run_start(str(make_run(SyncKind.BRAND, SyncStatus.PENDING, brand=world.brand_a).pk), "task-9")
    run_progress(run, done=4, total=10)
    ops = client_for("ops")
    url = f"{URL}{run.pk}/"
    # when / then: the page polls every 2 s
    html = html_of(ops.get(url))
    assert '<progress max="10" value="4"' in html and "4 of 10" in html
    assert f'hx-get="{url}" hx-trigger="every 2s" hx-swap="outerHTML"' in html
    poll = html_of(ops.get(url, HTTP_HX_REQUEST="true"))
    assert poll.startswith('<section id="run-status"') and "<html" not in poll and "every 2s" in poll
    # the run moves on, then finishes: the last poll carries no trigger
    run_progress(run, done=9)
    assert '<progress max="10" value="9"' in html_of(ops.get(url, HTTP_HX_REQUEST="true"))
    run_finish(run, result={"verified": 10}, counts={"calls": 10, "throttled": 2})
    last = html_of(ops.get(url, HTTP_HX_REQUEST="true"))
    assert "hx-trigger" not in last and "Succeeded" in last and '<progress max="10" value="10"' in last
    assert "&quot;verified&quot;: 10" in last


def test_a_pending_run_waits_for_a_worker(client_for, runs):
    html = html_of(client_for("ops").get(f"{URL}{runs['pending'].pk}/"))
    assert "waiting for a worker" in html and "every 2s" in html
    assert "<progress aria-label" in html  # indeterminate


def test_a_run_lists_its_parts(client_for, world):
    parent = make_run(SyncKind.SELLER, SyncStatus.SUCCESS, seller=world.seller_s)
    child = make_run(SyncKind.SELLER_HEALTH, SyncStatus.SUCCESS, seller=world.seller_s, parent=parent)
    html = html_of(client_for("ops").get(f"{URL}{parent.pk}/"))
    assert "Parts of this run" in html and f"{URL}{child.pk}/" in html
    assert f"{URL}{parent.pk}/" in html_of(client_for("ops").get(f"{URL}{child.pk}/"))


def test_an_unknown_run_is_404(client_for, world):
    assert client_for("ops").get(f"{URL}{uuid.uuid4()}/").status_code == 404
    assert client_for("ops").get(f"{URL}not-a-uuid/").status_code == 404


@pytest.mark.parametrize("role", ["owner_a", "partner_s", "newcomer"])
def test_a_runs_page_is_for_ops_only_even_for_whoever_asked_for_it(client_for, runs, role):
    assert client_for(role).get(f"{URL}{runs['running'].pk}/").status_code == 403


def test_anonymous_is_sent_to_log_in_from_a_run(client_for, runs):
    response = client_for("anonymous").get(f"{URL}{runs['running'].pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_durations_read_naturally():
    from audit.web.sync import format_duration

    assert format_duration(dt.timedelta(seconds=3.24)) == "3.2 s"
    assert format_duration(dt.timedelta(seconds=125)) == "2 min 5 s"
    assert format_duration(dt.timedelta(hours=2, minutes=10, seconds=3)) == "2 h 10 min"
    assert format_duration(None) == ""


def test_a_worker_heartbeat_is_preferred_when_there_is_one(client_for, runs):
    from config.celery import worker_heartbeat_record

    beat = timezone.now() - dt.timedelta(seconds=42)
    worker_heartbeat_record(beat)
    response = client_for("ops").get(URL)
    assert response.context["activity"].heartbeat == beat
    assert "when a worker last finished a task (its heartbeat)" in html_of(response)


def test_without_a_heartbeat_the_newest_run_stands_for_the_workers(client_for, runs):
    html = html_of(client_for("ops").get(URL))
    assert "no worker heartbeat is recorded" in html
