"""POST /api/v1/brands/{id}/sync and GET /api/v1/brands/{id}/findings (JSON and the CSV
evidence list), with their role checks."""
from __future__ import annotations

import csv
import io

import pytest

from authorizations.models import UnauthorizedOffer
from spapi_client.models import SyncKind, SyncRun, SyncStatus

from .conftest import SUSPENDED, UNAUTHORIZED, run_sync

pytestmark = pytest.mark.django_db


def sync_url(brand) -> str:
    return f"/api/v1/brands/{brand.pk}/sync"


def findings_url(brand) -> str:
    return f"/api/v1/brands/{brand.pk}/findings"


# -- POST /brands/{id}/sync --------------------------------------------------------------------------

def test_the_sync_endpoint_queues_a_run_that_succeeds(world, api, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api("owner_a").post(sync_url(world.acme))

    # then
    assert response.status_code == 202, response.content
    assert set(response.json()) == {"job_id"}
    run = SyncRun.objects.get(pk=response.json()["job_id"])
    assert (run.kind, run.brand_id, run.requested_by_id, run.status) == (
        SyncKind.BRAND, world.acme.pk, world.owner_a.pk, SyncStatus.SUCCESS)
    assert run.task_id and run.attempts == 1
    assert run.counts["verified"] == 6 and run.counts["findings_opened"] == 4
    world.acme.refresh_from_db()
    assert world.acme.last_synced_at is not None


def test_a_sync_under_way_is_answered_with_its_job(world, api):
    # given: a run queued (its task not yet run: the transaction has not committed)
    first = api("owner_a").post(sync_url(world.acme))
    # when
    second = api("manager_a").post(sync_url(world.acme))
    # then
    assert first.status_code == second.status_code == 202
    assert first.json()["job_id"] == second.json()["job_id"]
    assert SyncRun.objects.filter(brand=world.acme).count() == 1


@pytest.mark.parametrize(("role", "expected"), [
    ("owner_a", 202), ("manager_a", 202), ("viewer_a", 403), ("owner_b", 404), ("partner", 404), ("ops", 403),
    ("anonymous", 401),
])
def test_who_may_sync_a_brand(world, api, role, expected):
    response = api(role).post(sync_url(world.acme))
    assert response.status_code == expected, response.content
    assert SyncRun.objects.count() == (1 if expected == 202 else 0)


def test_syncing_an_unknown_or_malformed_brand_is_404(world, api):
    assert api("owner_a").post("/api/v1/brands/999999/sync").status_code == 404
    assert api("owner_a").post("/api/v1/brands/abc/sync").status_code == 404


def test_a_brand_without_spapi_account_gets_a_job_that_fails_saying_so(world, api, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api("owner_b").post(sync_url(world.bravo))

    # then
    assert response.status_code == 202
    run = SyncRun.objects.get(pk=response.json()["job_id"])
    assert run.status == SyncStatus.FAILURE
    assert "the brand has no sp-api account" in run.error.lower()
    assert run.attempts == 1  # final: not retried
    world.bravo.refresh_from_db()
    assert world.bravo.last_synced_at is None


# -- GET /brands/{id}/findings -----------------------------------------------------------------------

@pytest.fixture
def scanned(world):
    run = run_sync(world.acme)
    assert run.status == SyncStatus.SUCCESS, run.error
    return world


def test_findings_list(scanned, api):
    response = api("owner_a").get(findings_url(scanned.acme))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4 and "next" in body
    row = next(r for r in body["results"] if r["seller_id"] == SUSPENDED)
    assert {k: row[k] for k in ("asin", "marketplace", "seller_id", "seller_name", "price", "currency",
                                "is_buy_box_winner", "resolved_at")} == {
        "asin": "B0ACME0002", "marketplace": "US", "seller_id": SUSPENDED, "seller_name": "Suspended Shop",
        "price": "30.00", "currency": "USD", "is_buy_box_winner": True, "resolved_at": None}
    assert row["first_seen_at"] and row["last_seen_at"]


@pytest.mark.parametrize(("query", "expected"), [
    ("marketplace=UK", 2), ("marketplace=uk", 2), ("marketplace=DE", 0), ("asin=B0ACME0001", 3),
    ("asin=B0ACME0001&marketplace=US", 1), (f"seller_id={UNAUTHORIZED}", 2), ("resolved=false", 3),
    ("resolved=true", 1), ("page_size=1", 4),
])
def test_findings_filters(scanned, api, query, expected):
    # given: one finding resolved
    finding = UnauthorizedOffer.objects.get(offering_seller_id=SUSPENDED)
    finding.resolved_at, finding.resolution = finding.last_seen_at, "DISAPPEARED"
    finding.save(update_fields=["resolved_at", "resolution"])

    response = api("viewer_a").get(f"{findings_url(scanned.acme)}?{query}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == expected
    if query == "page_size=1":
        assert len(body["results"]) == 1 and body["next"]


@pytest.mark.parametrize(("query", "code"), [
    ("marketplace=XX", "INVALID_MARKETPLACE"), ("marketplace=USA", "INVALID_MARKETPLACE"),
    ("asin=B0SHORT", "INVALID_ASIN"), ("seller_id=a-b", "INVALID_SELLER_ID"), ("resolved=maybe", "INVALID"),
    ("asin=%00", "INVALID"),
])
def test_bad_filters_are_400_naming_the_field(scanned, api, query, code):
    response = api("owner_a").get(f"{findings_url(scanned.acme)}?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == code


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))


def test_findings_csv_is_the_evidence_list(scanned, api):
    response = api("owner_a").get(f"{findings_url(scanned.acme)}?format=csv&marketplace=US")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"findings-brand-{scanned.acme.pk}.csv" in response["Content-Disposition"]
    header, *rows = read_csv(response)
    assert header == ["asin", "marketplace", "seller_id", "seller_name", "price", "currency", "is_buy_box_winner",
                      "first_seen_at", "last_seen_at", "resolved_at", "brand"]
    assert sorted((r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[9], r[10]) for r in rows) == [
        ("B0ACME0001", "US", UNAUTHORIZED, "", "17.49", "USD", "false", "", "Acme"),
        ("B0ACME0002", "US", SUSPENDED, "Suspended Shop", "30.00", "USD", "true", "", "Acme"),
    ]
    assert all("T" in r[7] and "T" in r[8] for r in rows)  # ISO-8601 times


def test_findings_csv_errors_come_back_as_json(scanned, api):
    response = api("owner_a").get(f"{findings_url(scanned.acme)}?format=csv&asin=nope")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert api("owner_b").get(f"{findings_url(scanned.acme)}?format=csv").status_code == 404


@pytest.mark.parametrize(("role", "expected"), [
    ("owner_a", 200), ("manager_a", 200), ("viewer_a", 200), ("owner_b", 404), ("partner", 404), ("ops", 200),
    ("anonymous", 401),
])
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_who_may_read_findings(scanned, api, role, expected, fmt):
    response = api(role).get(f"{findings_url(scanned.acme)}?format={fmt}")
    assert response.status_code == expected
    if expected == 200 and fmt == "csv":
        assert len(read_csv(response)) == 1 + 4


def test_the_schema_documents_both_endpoints(world, api):
    response = api("owner_a").get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "202" in paths["/api/v1/brands/{brand_id}/sync"]["post"]["responses"]
    findings = paths["/api/v1/brands/{brand_id}/findings"]["get"]
    assert {p["name"] for p in findings["parameters"]} >= {"marketplace", "asin", "resolved", "format"}
    assert set(findings["responses"]["200"]["content"]) >= {"application/json", "text/csv"}
