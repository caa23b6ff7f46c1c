"""Reliability: what the seller sync does when Amazon (the fake) misbehaves.

Transient trouble (429 bursts, HTML 500s, time-outs) is retried — first by the client within the
call, then by the task — and counted on the run. Final trouble (malformed JSON, a report that
ends FATAL, a malformed report, a refused token) fails the run with a readable error, and the
failing step changes nothing.
"""
from __future__ import annotations

import pytest
from django.core import mail

from audit.models import AuditEvent
from authorizations.models import GrantStatus, ListingRestrictionCheck
from sellers.models import Seller
from spapi_client.models import SyncStatus

from .conftest import FATAL, HEALTHY, connected_seller, hold_grant, refresh_token, run_sync


def _facts(seller: Seller) -> tuple:
    seller = Seller.objects.get(pk=seller.pk)
    return (sorted(seller.participations.values_list("marketplace_id", "is_participating")), seller.health_score,
            seller.health_checked_at, seller.infringement_count, seller.account_status, seller.home_marketplace_id)


@pytest.fixture
def healthy(world):
    hold_grant(world.healthy, world.asins["B0ACME0001"], marketplace="US")
    hold_grant(world.healthy, world.asins["B0ACME0002"], marketplace="US")
    return world.healthy


# -- transient: retried, counted, then success ---------------------------------------------------

def test_a_429_burst_is_retried_within_the_call_and_counted(healthy, fake, django_capture_on_commit_callbacks):
    fake.inject_fault("getListingsRestrictions", "429", count=3)

    run = run_sync(healthy, django_capture_on_commit_callbacks)

    assert run.status == SyncStatus.SUCCESS, run.error
    assert run.attempts == 1
    assert run.counts["throttled"] == 3 and run.counts["retries"] == 3
    assert fake.stats()["getListingsRestrictions"]["faulted"] == 3
    assert ListingRestrictionCheck.objects.filter(seller=healthy).count() == 2


def test_a_longer_429_burst_is_retried_by_the_task(healthy, fake, django_capture_on_commit_callbacks):
    # given more 429s than the client's 4 attempts per call: the first task attempt gives up
    fake.inject_fault("getMarketplaceParticipations", "429empty", count=6)

    run = run_sync(healthy, django_capture_on_commit_callbacks)

    # then the task's retry (eager here: at once) carried on and succeeded; counts add up
    assert run.status == SyncStatus.SUCCESS, run.error
    assert run.attempts == 2
    assert run.counts["throttled"] == 6
    assert run.counts["failures"] == 1  # one call failed for good in the first attempt
    assert run.error == ""


@pytest.mark.parametrize("operation, kind", [
    ("getReport", "html500"),
    ("createReport", "503"),
    ("getReportDocument", "500"),
    ("documentDownload", "html500"),
    ("lwa", "html500"),
])
def test_server_errors_are_retried(healthy, fake, django_capture_on_commit_callbacks, operation, kind):
    fake.inject_fault(operation, kind, count=2)

    run = run_sync(healthy, django_capture_on_commit_callbacks)

    assert run.status == SyncStatus.SUCCESS, run.error
    assert run.counts["retries"] >= 2
    assert Seller.objects.get(pk=healthy.pk).health_score == 100


def test_time_outs_are_retried(healthy, fake, settings, django_capture_on_commit_callbacks):
    settings.SPAPI_TIMEOUT = 0.3
    fake.inject_fault("getListingsRestrictions", "timeout", count=2, delay=0.6)

    run = run_sync(healthy, django_capture_on_commit_callbacks)

    assert run.status == SyncStatus.SUCCESS, run.error
    assert run.counts["retries"] == 2
    assert ListingRestrictionCheck.objects.filter(seller=healthy).count() == 2


def test_transient_trouble_that_lasts_fails_the_run_after_the_task_retries(
        healthy, fake, django_capture_on_commit_callbacks):
    # given getReport answers 503 to every call
    fake.inject_fault("getReport", "503", count=1000)
    before = _facts(healthy)

    run = run_sync(healthy, django_capture_on_commit_callbacks)

    # then 3 task attempts (SYNC_TASK_MAX_RETRIES=2) of 4 calls each, then FAILURE, readable
    assert run.status == SyncStatus.FAILURE
    assert run.attempts == 3
    assert run.error.startswith("health (NA): getReport: HTTP 503")
    assert "still failing after 3 attempts" in run.error
    assert fake.stats()["getReport"]["faulted"] == 3 * 4
    # the retries polled the report they had ordered instead of ordering new ones
    assert fake.stats()["createReport"]["served"] == 1
    # health untouched; the participations step (before it) had nothing to change
    assert _facts(healthy) == before


def test_a_report_still_in_progress_is_polled_again_by_the_next_attempt(
        healthy, fake, scenario, settings, django_capture_on_commit_callbacks):
    # given a report that needs 3 polls, and attempts that may wait for one poll only
    scenario(lambda world_: world_["sellers"][HEALTHY]["report"].update(polls=3))
    settings.SPAPI_REPORT_MAX_WAIT = 0

    run = run_sync(healthy, django_capture_on_commit_callbacks)

    # then attempts 1 and 2 left it pending (transient), attempt 3 found it DONE: one report only
    assert run.status == SyncStatus.SUCCESS, run.error
    assert run.attempts == 3 and run.counts["report_polls"] == 3
    assert fake.stats()["createReport"]["served"] == 1
    assert "pending_reports" not in run.result


def test_a_report_that_stays_in_progress_fails_the_run_in_the_end(
        healthy, scenario, settings, django_capture_on_commit_callbacks):
    scenario(lambda world_: world_["sellers"][HEALTHY]["report"].update(polls=10))
    settings.SPAPI_REPORT_MAX_WAIT = 0

    run = run_sync(healthy, django_capture_on_commit_callbacks)

    assert run.status == SyncStatus.FAILURE and run.attempts == 3
    assert run.error == ("health (NA): the account health report for NA is still IN_PROGRESS "
                         "(still failing after 3 attempts)")


# -- final: the run fails, the step changes nothing -----------------------------------------------

def test_malformed_json_fails_the_run_and_changes_nothing(world, fake, django_capture_on_commit_callbacks):
    seller = world.healthy
    seller.participations.filter(marketplace_id="CA").delete()  # Amazon would add CA back
    before, events = _facts(seller), AuditEvent.objects.count()
    fake.inject_fault("getMarketplaceParticipations", "malformed", count=1)

    run = run_sync(seller, django_capture_on_commit_callbacks)

    assert run.status == SyncStatus.FAILURE and run.attempts == 1  # final: not retried
    assert run.error.startswith("participations: getMarketplaceParticipations: HTTP 200 with non-JSON")
    assert _facts(seller) == before
    assert AuditEvent.objects.count() == events
    assert fake.stats()["createReport"]["served"] == 0  # the run stopped there


def test_a_report_that_ends_fatal_fails_the_run_and_changes_nothing(world, fake, django_capture_on_commit_callbacks):
    # given a seller whose health report Amazon ends FATAL, holding an ACTIVE grant
    seller = connected_seller(FATAL, participates_in=["US"])
    grant = hold_grant(seller, world.asins["B0ACME0001"], marketplace="US")
    before, events = _facts(seller), AuditEvent.objects.count()

    run = run_sync(seller, django_capture_on_commit_callbacks)

    assert run.status == SyncStatus.FAILURE and run.attempts == 1
    assert run.error == "health (NA): Amazon ended the account health report for NA FATAL"
    assert run.counts["calls"] >= 3 and run.progress_done < run.progress_total
    assert _facts(seller) == before
    grant.refresh_from_db()
    assert grant.status == GrantStatus.ACTIVE
    assert AuditEvent.objects.count() == events
    assert not ListingRestrictionCheck.objects.filter(seller=seller).exists()
    assert fake.stats()["getReportDocument"]["served"] == 0


def test_a_malformed_health_report_fails_the_run_and_changes_nothing(
        healthy, scenario, django_capture_on_commit_callbacks):
    def broken_report(world_):
        world_["sellers"][HEALTHY]["health_report"] = {"performanceMetrics": "not an array"}

    scenario(broken_report)
    before, events = _facts(healthy), AuditEvent.objects.count()

    run = run_sync(healthy, django_capture_on_commit_callbacks)

    assert run.status == SyncStatus.FAILURE and run.attempts == 1
    assert run.error.startswith("health: INVALID_HEALTH_REPORT: performanceMetrics must be an array")
    assert _facts(healthy) == before
    assert AuditEvent.objects.count() == events
    assert mail.outbox == []


def test_a_revoked_authorization_fails_the_run_without_leaking_the_token(
        healthy, fake, django_capture_on_commit_callbacks):
    fake.revoke(HEALTHY)

    run = run_sync(healthy, django_capture_on_commit_callbacks)

    assert run.status == SyncStatus.FAILURE and run.attempts == 1
    assert run.error.startswith("participations: lwa: HTTP 400: invalid_grant")
    token = refresh_token(HEALTHY)
    assert token not in run.error and token not in str(run.counts) and token not in str(run.result)


def test_a_refused_call_is_final(healthy, fake, django_capture_on_commit_callbacks):
    fake.inject_fault("getListingsRestrictions", "403", count=1)

    run = run_sync(healthy, django_capture_on_commit_callbacks)

    assert run.status == SyncStatus.FAILURE and run.attempts == 1
    assert run.error.startswith("restrictions: getListingsRestrictions: HTTP 403: Unauthorized")
    # the restrictions step applies its answers all at once or not at all
    assert not ListingRestrictionCheck.objects.filter(seller=healthy).exists()


def test_a_seller_without_a_connection_fails_the_run(world, django_capture_on_commit_callbacks):
    from sellers.models import SellerConnection

    SellerConnection.objects.filter(seller=world.healthy).update(refresh_token_encrypted="")

    run = run_sync(world.healthy, django_capture_on_commit_callbacks)

    assert run.status == SyncStatus.FAILURE
    assert run.error == f"setup: seller {HEALTHY} has no live SP-API connection"
