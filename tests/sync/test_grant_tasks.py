"""The periodic grant tasks: expiry, the daily expiring-soon notice, and the seller sync fan-out."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import AuditEvent
from authorizations import notifications
from authorizations.models import GrantStatus
from authorizations.tasks import expire_grants, expiring_notice_run_id, send_expiring_notices
from sellers.models import SellerConnection
from sellers.tasks import sync_all_sellers
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from tests.factories import SellerFactory, SellerMembershipFactory, UserFactory

from .conftest import hold_grant


def days(n: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=n)


# -- expire_grants -------------------------------------------------------------------------------

def test_expire_grants_writes_expired_with_events_and_records_a_run(world):
    # given two live grants past their term, one still inside it, one already revoked
    past_active = hold_grant(world.healthy, world.asins["B0ACME0001"], valid_until=days(-1))
    past_suspended = hold_grant(world.healthy, world.asins["B0ACME0002"], status=GrantStatus.SUSPENDED,
                                valid_until=days(-0.1))
    current = hold_grant(world.healthy, world.asins["B0ACME0004"], valid_until=days(3))
    revoked = hold_grant(world.infringer, world.asins["B0ACME0001"], status=GrantStatus.REVOKED, valid_until=days(-2))

    # when
    result = expire_grants.apply().get()

    # then
    assert result["expired"] == 2
    for grant, status in [(past_active, GrantStatus.EXPIRED), (past_suspended, GrantStatus.EXPIRED),
                          (current, GrantStatus.ACTIVE), (revoked, GrantStatus.REVOKED)]:
        grant.refresh_from_db()
        assert grant.status == status
    events = AuditEvent.objects.filter(action="grant.expired")
    assert sorted(int(e.object_id) for e in events) == sorted([past_active.pk, past_suspended.pk])
    assert {(e.actor, e.source) for e in events} == {("authorizations.tasks.expire_grants", "worker")}
    run = SyncRun.objects.get(pk=result["job_id"])
    assert run.kind == SyncKind.GRANTS_EXPIRY and run.status == SyncStatus.SUCCESS
    assert run.result == {"expired": 2} and run.counts == {"expired": 2}

    # and again: nothing left to expire, no new event
    assert expire_grants.apply().get()["expired"] == 0
    assert AuditEvent.objects.filter(action="grant.expired").count() == 2


# -- send_expiring_notices -------------------------------------------------------------------------

@pytest.fixture
def expiring(world):
    """Acme: 2 of the healthy seller's grants end within 14 days, 1 in 30 days; a SUSPENDED one
    ends soon (not flagged). Bravo: 1 of the infringer's grants ends in 5 days."""
    return {
        "a1": hold_grant(world.healthy, world.asins["B0ACME0001"], valid_until=days(2)),
        "a2": hold_grant(world.healthy, world.asins["B0ACME0002"], valid_until=days(13)),
        "later": hold_grant(world.healthy, world.asins["B0ACME0004"], valid_until=days(30)),
        "suspended": hold_grant(world.infringer, world.asins["B0ACME0001"], status=GrantStatus.SUSPENDED,
                                valid_until=days(3)),
        "b3": hold_grant(world.infringer, world.asins["B0ACME0003"], valid_until=days(5)),
    }


def _by_recipient():
    found = {}
    for message in mail.outbox:
        (to,) = message.to
        found.setdefault(to.split("@")[0], []).append(message)
    return found


def test_one_notice_per_recipient_listing_their_expiring_grants(world, expiring):
    result = send_expiring_notices.apply().get()

    mails = _by_recipient()
    # Acme's owner and manager (not its viewer); the healthy seller's two partners; Bravo's owner,
    # who is also the infringer's partner — one e-mail each
    assert sorted(mails) == ["manager_a", "owner_a", "owner_b", "partner_h", "partner_h2", "partner_i"]
    assert all(len(messages) == 1 for messages in mails.values())
    owner_a = mails["owner_a"][0]
    assert owner_a.subject.endswith("2 authorization(s) expiring within 14 days")
    assert f"[grant {expiring['a1'].pk}]" in owner_a.body and f"[grant {expiring['a2'].pk}]" in owner_a.body
    assert f"[grant {expiring['later'].pk}]" not in owner_a.body
    assert f"[grant {expiring['suspended'].pk}]" not in owner_a.body
    owner_b = mails["owner_b"][0].body
    assert "Brand Bravo" in owner_b and "Your seller account Gadget Bazaar" in owner_b
    assert mails["owner_b"][0].subject.endswith("2 authorization(s) expiring within 14 days")  # same grant, two roles
    # the run records who was mailed today
    run = SyncRun.objects.get(pk=result["job_id"])
    assert run.pk == expiring_notice_run_id(timezone.now().date())
    assert run.kind == SyncKind.EXPIRING_NOTICE and run.status == SyncStatus.SUCCESS
    assert run.counts == {"recipients": 6, "grants": 3, "sent": 6, "already_sent": 0, "failed": 0}
    assert len(run.result["sent_to"]) == 6


def test_notices_are_not_sent_twice_the_same_day(world, expiring):
    send_expiring_notices.apply().get()
    sent = len(mail.outbox)

    again = send_expiring_notices.apply().get()

    assert len(mail.outbox) == sent
    assert again["status"].startswith("already sent")
    assert SyncRun.objects.filter(kind=SyncKind.EXPIRING_NOTICE).count() == 1


def test_a_day_that_failed_half_way_mails_only_those_not_yet_mailed(world, expiring, settings, monkeypatch):
    # given the mail server refuses the message to partner_h today (and the task gives up at once)
    settings.SYNC_TASK_MAX_RETRIES = 0
    real_send = notifications.send_one

    def flaky(message):
        if message.to == ["partner_h@example.com"]:
            raise ConnectionRefusedError("smtp down")
        return real_send(message)

    monkeypatch.setattr(notifications, "send_one", flaky)
    first = send_expiring_notices.apply().get()
    assert first["status"] == SyncStatus.FAILURE and first["sent"] == 5 and first["failed"] == 1
    run = SyncRun.objects.get(pk=first["job_id"])
    assert run.error == "1 of 6 message(s) could not be sent: internal error (ConnectionRefusedError)"
    mail.outbox.clear()

    # when the mail server is back and the task runs again the same day
    monkeypatch.setattr(notifications, "send_one", real_send)
    second = send_expiring_notices.apply().get()

    # then only partner_h is mailed now
    assert [m.to for m in mail.outbox] == [["partner_h@example.com"]]
    assert second["status"] == SyncStatus.SUCCESS and second["already_sent"] == 5 and second["sent"] == 1


def test_nothing_expiring_means_no_mail(world):
    hold_grant(world.healthy, world.asins["B0ACME0001"], valid_until=days(40))

    result = send_expiring_notices.apply().get()

    assert mail.outbox == [] and result["recipients"] == 0


def test_users_without_an_address_are_skipped(world, expiring):
    world.partner_h.email = ""
    world.partner_h.save(update_fields=["email"])

    send_expiring_notices.apply().get()

    assert "partner_h" not in _by_recipient()


# -- sync_all_sellers ----------------------------------------------------------------------------

def test_sync_all_sellers_queues_one_run_per_connected_seller(world, django_capture_on_commit_callbacks):
    # given a seller without a connection and one whose connection was revoked
    SellerFactory(seller_id="A7NOTCONNECT07", connected=False)
    revoked = SellerFactory(seller_id="A7REVOKEDCON07")
    SellerConnection.objects.filter(seller=revoked).update(revoked_at=timezone.now())
    # and the healthy seller already has a run waiting
    from sellers.sync import seller_sync_enqueue

    waiting, _ = seller_sync_enqueue(seller=world.healthy)

    # when (the queued runs are not executed: their on-commit sends are captured, not run)
    with django_capture_on_commit_callbacks(execute=False) as sends:
        result = sync_all_sellers.apply().get()

    # then one new run for the infringer only
    assert result == {"queued": 1, "skipped": 1}
    assert len(sends) == 1
    runs = SyncRun.objects.filter(kind=SyncKind.SELLER).exclude(pk=waiting.pk)
    assert [r.seller.seller_id for r in runs] == [world.infringer.seller_id]
    assert runs[0].status == SyncStatus.PENDING and runs[0].requested_by is None


def test_sync_all_sellers_runs_every_sync(world, fake, django_capture_on_commit_callbacks):
    partner = UserFactory(username="partner_f")
    from .conftest import FATAL, connected_seller

    fatal = connected_seller(FATAL)
    SellerMembershipFactory(user=partner, seller=fatal)

    with django_capture_on_commit_callbacks(execute=True):
        result = sync_all_sellers.apply().get()

    assert result["queued"] == 3
    statuses = dict(SyncRun.objects.filter(kind=SyncKind.SELLER).values_list("seller__seller_id", "status"))
    assert statuses == {"A2HEALTHYSELL01": "SUCCESS", "A3INFRINGER0002": "SUCCESS", "A1FATALREPORT03": "FAILURE"}
