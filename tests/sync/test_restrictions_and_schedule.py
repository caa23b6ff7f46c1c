"""restrictions_apply (the service), the django-celery-beat schedule, and the SyncRun admin."""
from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django_celery_beat.models import PeriodicTask

from audit.context import Actor
from audit.models import AuditEvent
from authorizations.models import ListingRestrictionCheck
from config.errors import InvalidInput
from sellers.sync import RestrictionResult, restrictions_apply
from spapi_client.models import SyncKind, SyncStatus
from spapi_client.runs import run_create, run_fail

ACTOR = Actor.task("sellers.tasks.sync_seller", "t-1")
GATED = [{"reason_code": "APPROVAL_REQUIRED", "message": "Approval needed.",
          "links": [{"resource": "https://sellercentral.amazon.com/x", "verb": "GET", "title": "Ask", "type": "text/html"}]}]


def _events():
    return list(AuditEvent.objects.filter(action="seller.restrictions_updated").order_by("id"))


def test_restrictions_are_upserted_with_one_event_only_when_something_changed(world):
    seller = world.healthy
    # when first stored
    changed = restrictions_apply(actor=ACTOR, seller=seller, results=[
        RestrictionResult("B0ACME0001", "US", []), RestrictionResult("B0ACME0002", "US", GATED)])
    # then two rows, one event naming both pairs
    assert changed == 2
    [event] = _events()
    assert event.seller_id == seller.seller_id and event.actor == "sellers.tasks.sync_seller"
    assert event.before == {"B0ACME0001/US": None, "B0ACME0002/US": None}
    assert event.after["B0ACME0002/US"][0]["reason_code"] == "APPROVAL_REQUIRED"
    first_checked = ListingRestrictionCheck.objects.get(seller=seller, asin="B0ACME0002").checked_at

    # when Amazon says the same again: rows refreshed, no event
    assert restrictions_apply(actor=ACTOR, seller=seller, results=[("B0ACME0002", "US", GATED)]) == 0
    assert len(_events()) == 1
    assert ListingRestrictionCheck.objects.get(seller=seller, asin="B0ACME0002").checked_at > first_checked

    # when the gate is lifted: the row is updated in place, one event with before/after
    assert restrictions_apply(actor=ACTOR, seller=seller, results=[("B0ACME0002", "US", [])]) == 1
    assert ListingRestrictionCheck.objects.filter(seller=seller).count() == 2
    latest = _events()[-1]
    assert latest.before == {"B0ACME0002/US": GATED} and latest.after == {"B0ACME0002/US": []}


def test_restrictions_refuse_bad_input_and_store_nothing(world):
    with pytest.raises(InvalidInput) as bad_marketplace:
        restrictions_apply(actor=ACTOR, seller=world.healthy, results=[("B0ACME0001", "US", []), ("B0ACME0001", "XX", [])])
    assert bad_marketplace.value.code == "INVALID_MARKETPLACE"
    with pytest.raises(InvalidInput) as bad_asin:
        restrictions_apply(actor=ACTOR, seller=world.healthy, results=[("B0-BAD", "US", [])])
    assert bad_asin.value.code == "INVALID_ASIN"
    assert not ListingRestrictionCheck.objects.exists() and _events() == []
    assert restrictions_apply(actor=ACTOR, seller=world.healthy, results=[]) == 0


# -- the beat schedule ---------------------------------------------------------------------------

def test_the_migration_creates_the_periodic_tasks_once(db):
    migration = importlib.import_module("spapi_client.migrations.0002_periodic_tasks")
    PeriodicTask.objects.all().delete()  # (a transactional test elsewhere may have flushed them)

    migration.create_periodic_tasks(django_apps, None)
    migration.create_periodic_tasks(django_apps, None)  # again: nothing doubled, edits kept

    tasks = {t.task: t for t in PeriodicTask.objects.select_related("interval", "crontab")}
    assert set(tasks) == {"sellers.tasks.sync_all_sellers", "brands.sync_all_brands", "authorizations.tasks.expire_grants",
                          "authorizations.tasks.send_expiring_notices", "sellers.tasks.purge_connect_states"}
    assert (tasks["sellers.tasks.sync_all_sellers"].interval.every,
            tasks["sellers.tasks.sync_all_sellers"].interval.period) == (24, "hours")
    assert (tasks["authorizations.tasks.expire_grants"].interval.every,
            tasks["authorizations.tasks.expire_grants"].interval.period) == (15, "minutes")
    notice = tasks["authorizations.tasks.send_expiring_notices"].crontab
    assert (notice.minute, notice.hour, notice.day_of_week, str(notice.timezone)) == ("0", "7", "*", "UTC")
    assert all(t.enabled for t in tasks.values())

    migration.remove_periodic_tasks(django_apps, None)
    assert not PeriodicTask.objects.exists()


def test_every_scheduled_task_is_registered_with_celery(db):
    from config.celery import app

    migration = importlib.import_module("spapi_client.migrations.0002_periodic_tasks")
    app.loader.import_default_modules()
    assert {task for _name, task, *_rest in migration.PERIODIC_TASKS} <= set(app.tasks)


# -- the admin -----------------------------------------------------------------------------------

def test_sync_runs_are_listed_read_only_in_the_admin(admin_client, world):
    run_create(kind=SyncKind.SELLER, seller=world.healthy)
    failed = run_fail(run_create(kind=SyncKind.GRANTS_EXPIRY), error="boom")

    listing = admin_client.get("/admin/spapi_client/syncrun/")
    filtered = admin_client.get("/admin/spapi_client/syncrun/", {"status__exact": SyncStatus.FAILURE, "kind__exact": "grants.expiry"})
    detail = admin_client.get(f"/admin/spapi_client/syncrun/{failed.pk}/change/")

    assert listing.status_code == 200 and world.healthy.seller_id in listing.content.decode()
    assert filtered.status_code == 200 and "boom" in filtered.content.decode()
    assert detail.status_code == 200
    assert admin_client.get("/admin/spapi_client/syncrun/add/").status_code == 403
    assert admin_client.post(f"/admin/spapi_client/syncrun/{failed.pk}/delete/").status_code == 403
