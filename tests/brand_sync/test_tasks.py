"""The sync_brand task under faults and re-delivery, and the periodic sync_all_brands."""
from __future__ import annotations

import pytest
from celery.exceptions import Retry

from audit.models import AuditEvent
from authorizations.models import UnauthorizedOffer
from brands.models import AsinMarketplace, PresenceStatus, RegistryStatus
from brands.tasks import sync_all_brands, sync_brand
from sellers.models import SellerConnection
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from spapi_client.runs import run_create
from tests.factories import BrandFactory

from .conftest import inject, run_sync, served

pytestmark = pytest.mark.django_db


def nothing_changed(brand) -> bool:
    return (
        not AsinMarketplace.objects.filter(asin__brand=brand).exclude(status=PresenceStatus.UNVERIFIED).exists()
        and not UnauthorizedOffer.objects.exists()
        and not AuditEvent.objects.filter(action__regex=r"^(asin|finding)\.").exists()
    )


@pytest.mark.parametrize("kind", ["429", "429empty"])
def test_a_429_burst_is_retried_and_the_run_succeeds(world, fake, kind):
    # given: three throttled answers in a row on the first catalog call
    inject(fake, "searchCatalogItems", kind, count=3)

    # when
    run = run_sync(world.acme)

    # then
    assert run.status == SyncStatus.SUCCESS, run.error
    # the three injected 429s were retried inside one delivery (on a loaded machine the fake's
    # real bucket may add the odd 429 of its own: at least, never fewer)
    assert run.counts["throttled"] >= 3 and run.counts["retries"] >= 3 and run.attempts == 1
    stats = served(fake, "searchCatalogItems")
    assert (stats["served"], stats["faulted"]) == (3, 3)
    assert run.counts["verified"] == 6 and run.counts["findings_opened"] == 4


def test_server_errors_beyond_the_retries_fail_the_run_and_change_nothing(world, fake, settings):
    # given: HTML 500s for longer than the client's attempts and the task's retries
    settings.SYNC_TASK_MAX_RETRIES = 1
    inject(fake, "searchCatalogItems", "html500", count=100)

    # when
    run = run_sync(world.acme)

    # then: two deliveries of four attempts each, then a recorded failure
    assert run.status == SyncStatus.FAILURE
    assert run.attempts == 2
    assert run.error.startswith("Catalog verification failed after 4 attempt(s): SPAPI_SERVER_ERROR")
    assert run.error.endswith("(still failing after 2 deliveries)")
    assert served(fake, "searchCatalogItems")["faulted"] == 8
    assert run.counts["failures"] == 1 and run.finished_at is not None
    assert nothing_changed(world.acme)
    world.acme.refresh_from_db()
    assert world.acme.last_synced_at is None


def test_a_worker_retries_transient_failures_later_with_backoff(world, fake, monkeypatch):
    # given: 503s for all of the client's attempts; a worker (not eager) delivery
    inject(fake, "searchCatalogItems", "503", count=4)
    asked = []

    def retry(countdown=None, **options):
        asked.append(countdown)
        return Retry("retry", when=countdown)

    monkeypatch.setattr(sync_brand, "retry", retry)
    run = run_create(kind=SyncKind.BRAND, brand=world.acme)

    # when
    sync_brand.push_request(id="task-1", retries=0, is_eager=False)
    try:
        with pytest.raises(Retry):
            sync_brand.run(str(run.pk))
    finally:
        sync_brand.pop_request()

    # then: a retry asked for in 30-60 s (SYNC_TASK_RETRY_BACKOFF 60 s, jittered); the run waits, saying why
    (countdown,) = asked
    assert 30 <= countdown <= 60
    run.refresh_from_db()
    assert run.status == SyncStatus.PENDING
    assert "SPAPI_SERVER_ERROR" in run.error and "retrying in" in run.error
    assert nothing_changed(world.acme)

    # when: the retry is delivered, Amazon answering again
    run = run_sync(world.acme, run=run)
    # then
    assert (run.status, run.attempts, run.error) == (SyncStatus.SUCCESS, 2, "")


@pytest.mark.parametrize(("operation", "phase"), [("searchCatalogItems", "Catalog verification"),
                                                   ("getItemOffersBatch", "Offers monitoring")])
def test_malformed_json_is_final(world, fake, operation, phase):
    # given
    inject(fake, operation, "malformed", count=1)

    # when
    run = run_sync(world.acme)

    # then: not retried; the error says where and what
    assert run.status == SyncStatus.FAILURE
    assert run.attempts == 1
    assert run.error.startswith(f"{phase} failed") and "SPAPI_MALFORMED_RESPONSE" in run.error
    assert not UnauthorizedOffer.objects.exists() and not AuditEvent.objects.filter(action__startswith="finding.")
    if operation == "searchCatalogItems":
        assert nothing_changed(world.acme)
    else:  # the catalog phase before it stays applied
        assert AsinMarketplace.objects.filter(status=PresenceStatus.VERIFIED).count() == 6


def test_a_brand_without_spapi_account_fails_clearly(world):
    run = run_sync(world.bravo)
    assert run.status == SyncStatus.FAILURE and run.attempts == 1
    assert run.error.lower().startswith("the brand has no sp-api account")


def test_a_disconnected_spapi_account_fails_clearly(world):
    SellerConnection.objects.filter(seller=world.account).update(refresh_token_encrypted="")
    run = run_sync(world.acme)
    assert run.status == SyncStatus.FAILURE
    assert "SP-API account A5BRANDOWNER005 is not connected" in run.error
    assert nothing_changed(world.acme)


def test_a_revoked_authorization_at_amazon_fails_without_retrying(world, fake):
    fake.revoke("A5BRANDOWNER005")
    run = run_sync(world.acme)
    assert run.status == SyncStatus.FAILURE and run.attempts == 1
    assert "SPAPI_AUTH_ERROR" in run.error
    assert nothing_changed(world.acme)


def test_a_redelivered_task_does_not_duplicate_findings_or_events(world):
    # given: a run done
    run = run_sync(world.acme)
    findings, events = UnauthorizedOffer.objects.count(), AuditEvent.objects.count()
    assert findings == 4

    # when: the message is delivered again after the run finished
    assert sync_brand.apply(args=[str(run.pk)]).get() is None
    # then: nothing ran
    assert (UnauthorizedOffer.objects.count(), AuditEvent.objects.count()) == (findings, events)

    # when: the worker died after the work but before finishing the run (acks_late re-delivery)
    SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.RUNNING, finished_at=None)
    run = run_sync(world.acme, run=run)

    # then: the work is done again, without a second finding or event
    assert run.status == SyncStatus.SUCCESS and run.attempts == 2
    assert (run.counts["findings_opened"], run.counts["catalog_changed"]) == (0, 0)
    assert (UnauthorizedOffer.objects.count(), AuditEvent.objects.count()) == (findings, events)


def test_a_run_delivered_too_often_is_given_up(world):
    run = run_create(kind=SyncKind.BRAND, brand=world.acme)
    SyncRun.objects.filter(pk=run.pk).update(attempts=50)
    run = run_sync(world.acme, run=run)
    assert run.status == SyncStatus.FAILURE and "Given up" in run.error
    assert nothing_changed(world.acme)


def test_sync_all_brands_queues_one_run_per_active_brand_with_an_account(world, django_capture_on_commit_callbacks):
    # given: a pending brand with an account (not synced), and Bravo without one
    BrandFactory(name="Pending", registry_status=RegistryStatus.PENDING, spapi_account=world.account)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        queued = sync_all_brands.apply().get()

    # then
    assert queued == 1
    (run,) = SyncRun.objects.all()
    assert (run.brand_id, run.kind, run.status) == (world.acme.pk, SyncKind.BRAND, SyncStatus.SUCCESS)

    # when: again, while a run is still pending
    SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.PENDING)
    assert sync_all_brands.apply().get() == 0
