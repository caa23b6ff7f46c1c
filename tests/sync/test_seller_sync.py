"""The seller sync end to end, against the fake SP-API over HTTP."""
from __future__ import annotations

from django.core import mail
from django.db import connection

from audit.models import AuditEvent
from authorizations.amazon import amazon_restrictions
from authorizations.models import GrantStatus, ListingRestrictionCheck
from sellers.models import Seller
from sellers.tasks import sync_seller
from spapi_client.models import SyncKind, SyncStatus

from .conftest import HEALTHY, hold_grant, run_sync


def _marketplaces(seller: Seller) -> list[str]:
    return sorted(seller.participations.filter(is_participating=True).values_list("marketplace_id", flat=True))


def test_a_healthy_seller_is_synced_end_to_end(world, fake, django_capture_on_commit_callbacks):
    # given the healthy seller holds grants; Amazon gates it on B0ACME0002 in the US only
    seller = world.healthy
    a1, a2, a4 = world.asins["B0ACME0001"], world.asins["B0ACME0002"], world.asins["B0ACME0004"]
    hold_grant(seller, a1, marketplace="US")
    hold_grant(seller, a1, marketplace="CA")
    hold_grant(seller, a2, marketplace="US")
    hold_grant(seller, a4, marketplace="CA")  # not in the CA catalog: ASIN_NOT_FOUND
    hold_grant(seller, world.asins["B0ACME0003"], marketplace="UK", status=GrantStatus.REVOKED)  # not live: not asked
    Seller.objects.filter(pk=seller.pk).update(health_score=None, health_checked_at=None)
    seller.participations.filter(marketplace_id="CA").delete()  # CA is news to us

    # when
    run = run_sync(seller, django_capture_on_commit_callbacks)

    # then the run succeeded, with its progress and counts
    assert run.kind == SyncKind.SELLER and run.status == SyncStatus.SUCCESS, run.error
    assert run.attempts == 1 and run.error == ""
    assert run.progress_total == 2 + 4 and run.progress_done == run.progress_total
    assert run.counts["calls"] >= 1 + 1 + 3 + 1 + 4  # participations, createReport, 3 polls, document, 4 restrictions
    assert run.counts["throttled"] == 0 and run.counts["retries"] == 0
    assert run.counts["restrictions_checked"] == 4 and run.counts["restrictions_changed"] == 4
    assert run.counts["grants_suspended"] == 0
    assert run.result["marketplaces"] == ["CA", "US"] and run.result["health_score"] == 100

    # participations (MX is not participating) and health from the scenario's report
    seller.refresh_from_db()
    assert _marketplaces(seller) == ["CA", "US"]
    assert seller.health_score == 100 and seller.infringement_count == 0 and seller.account_status == "NORMAL"
    assert seller.health_checked_at is not None and seller.last_synced_at is not None

    # Amazon's restrictions, stored per (ASIN, marketplace)
    checks = {(c.asin, c.marketplace_id): c.restrictions for c in ListingRestrictionCheck.objects.filter(seller=seller)}
    assert checks[("B0ACME0001", "US")] == [] and checks[("B0ACME0001", "CA")] == []
    [gated] = checks[("B0ACME0002", "US")]
    assert gated["reason_code"] == "APPROVAL_REQUIRED"
    assert gated["links"][0]["resource"].startswith("https://sellercentral.amazon.com/")
    assert [r["reason_code"] for r in checks[("B0ACME0004", "CA")]] == ["ASIN_NOT_FOUND"]
    assert ("B0ACME0003", "UK") not in checks
    assert amazon_restrictions(seller, "B0ACME0002", "US")["restrictions"][0]["reason_code"] == "APPROVAL_REQUIRED"

    # one audit event per change, by the task, from the worker
    actions = list(AuditEvent.objects.filter(seller_id=HEALTHY).order_by("id").values_list("action", "actor", "source"))
    assert [a for a, *_ in actions] == ["seller.participations_updated", "seller.health_updated",
                                        "seller.restrictions_updated"]
    assert {(actor, source) for _a, actor, source in actions} == {("sellers.tasks.sync_seller", "worker")}

    # what the fake served: one report, polled until DONE, no throttling
    stats = fake.stats()
    assert stats["createReport"]["served"] == 1 and stats["getReport"]["served"] == 3
    assert sum(s["throttled"] for s in stats.values()) == 0
    assert mail.outbox == []  # a healthy seller alerts nobody


def test_a_second_sync_changes_nothing_and_records_no_change(world, django_capture_on_commit_callbacks):
    seller = world.healthy
    hold_grant(seller, world.asins["B0ACME0002"], marketplace="US")
    run_sync(seller, django_capture_on_commit_callbacks)
    before = AuditEvent.objects.count()

    run = run_sync(seller, django_capture_on_commit_callbacks)

    assert run.status == SyncStatus.SUCCESS and run.counts["restrictions_changed"] == 0
    # the health reading is always recorded (its time changes); nothing else is
    assert list(AuditEvent.objects.order_by("id")[before:].values_list("action", flat=True)) == ["seller.health_updated"]


def test_an_unhealthy_seller_is_suspended_and_everyone_concerned_gets_one_email(
        world, fake, django_capture_on_commit_callbacks):
    # given the infringer (report: late shipments BAD, 2 IP complaints) holds ACTIVE grants on two brands
    seller = world.infringer
    grants = [
        hold_grant(seller, world.asins["B0ACME0001"], marketplace="US"),
        hold_grant(seller, world.asins["B0ACME0002"], marketplace="US"),
        hold_grant(seller, world.asins["B0ACME0003"], marketplace="US"),
    ]
    pending = hold_grant(seller, world.asins["B0ACME0004"], marketplace="US", status=GrantStatus.PENDING_APPROVAL)

    # when
    run = run_sync(seller, django_capture_on_commit_callbacks)

    # then the facts come from the report: the US entry decides (late shipments -15, IP complaints
    # -10, rating WARNED -10 = 65; UK is clean) and is counted once although both regions were asked
    assert run.status == SyncStatus.SUCCESS, run.error
    seller.refresh_from_db()
    assert _marketplaces(seller) == ["DE", "UK", "US"]
    assert seller.health_score == 65 and seller.infringement_count == 2 and seller.account_status == "AT_RISK"
    # one report per SP-API region (NA: US; EU: UK, DE)
    assert fake.stats()["createReport"]["served"] == 2

    # every ACTIVE grant is suspended; the pending one is left alone
    for grant in grants:
        grant.refresh_from_db()
        assert grant.status == GrantStatus.SUSPENDED and grant.status_reason_code == "SELLER_HEALTH_BELOW_MIN"
    pending.refresh_from_db()
    assert pending.status == GrantStatus.PENDING_APPROVAL
    assert run.counts["grants_suspended"] == 3
    assert sorted(run.result["failing"]) == ["SELLER_HAS_INFRINGEMENTS", "SELLER_HEALTH_BELOW_MIN"]
    assert AuditEvent.objects.filter(action="grant.suspended", actor="sellers.tasks.sync_seller").count() == 3

    # one e-mail per person: the partner; Acme's owner and manager (not its viewer); Bravo's
    # owner, who is also a partner of the seller, gets a single e-mail covering both roles
    by_recipient = {}
    for message in mail.outbox:
        (to,) = message.to
        by_recipient.setdefault(to, []).append(message)
    assert sorted(by_recipient) == ["manager_a@example.com", "owner_a@example.com", "owner_b@example.com",
                                    "partner_i@example.com"]
    assert all(len(messages) == 1 for messages in by_recipient.values())
    owner_b_mail = by_recipient["owner_b@example.com"][0].body
    assert "As a partner of this seller account" in owner_b_mail and "Brand Bravo" in owner_b_mail
    acme_mail = by_recipient["owner_a@example.com"][0].body
    assert "B0ACME0001" in acme_mail and "B0ACME0002" in acme_mail and "B0ACME0003" not in acme_mail
    assert {m[0].subject for m in by_recipient.values()} == {
        "[Seller authorizations] 3 authorization(s) of Gadget Bazaar (A3INFRINGER0002) suspended"}

    # and a second sync that finds the same state suspends nothing more and mails nobody again
    mail.outbox.clear()
    run = run_sync(seller, django_capture_on_commit_callbacks)
    assert run.status == SyncStatus.SUCCESS and run.counts["grants_suspended"] == 0
    assert mail.outbox == []


def test_health_below_the_minimum_alone_suspends(world, scenario, django_capture_on_commit_callbacks):
    # given a report whose only fault is a BAD late-shipment rate (score 85, no infringement)
    def late_shipments_only(world_):
        metrics = world_["sellers"][HEALTHY]["health_report"]["performanceMetrics"][0]
        metrics["lateShipmentRate"]["status"] = "BAD"

    scenario(late_shipments_only)
    seller = world.healthy
    grant = hold_grant(seller, world.asins["B0ACME0001"], marketplace="US")

    run = run_sync(seller, django_capture_on_commit_callbacks)

    assert run.status == SyncStatus.SUCCESS, run.error
    seller.refresh_from_db()
    grant.refresh_from_db()
    assert seller.health_score == 85 and seller.infringement_count == 0
    assert grant.status == GrantStatus.SUSPENDED
    assert sorted(m.to[0] for m in mail.outbox) == ["manager_a@example.com", "owner_a@example.com",
                                                   "partner_h2@example.com", "partner_h@example.com"]


def test_a_redelivered_task_does_nothing_twice(world, fake, django_capture_on_commit_callbacks):
    seller = world.infringer
    hold_grant(seller, world.asins["B0ACME0001"], marketplace="US")
    run = run_sync(seller, django_capture_on_commit_callbacks)
    assert run.status == SyncStatus.SUCCESS
    events, served, sent = AuditEvent.objects.count(), fake.stats(), len(mail.outbox)

    # when the broker delivers the same message again (acks_late after a worker crash)
    with django_capture_on_commit_callbacks(execute=True):
        result = sync_seller.apply(args=[str(run.pk)]).get()

    assert result is None
    run.refresh_from_db()
    assert run.status == SyncStatus.SUCCESS and run.attempts == 1
    assert AuditEvent.objects.count() == events
    assert fake.stats() == served
    assert len(mail.outbox) == sent


def test_an_unknown_run_id_is_ignored(db):
    assert sync_seller.apply(args=["00000000-0000-0000-0000-000000000000"]).get() is None


def test_no_sp_api_call_happens_inside_a_database_transaction(world, monkeypatch, django_capture_on_commit_callbacks):
    # given a seller with a grant, and a spy on every SP-API call and document download that
    # notes how many atomic blocks are open (the test's own transaction is the baseline)
    from spapi_client import operations

    seller = world.infringer
    hold_grant(seller, world.asins["B0ACME0001"], marketplace="US")
    depths: list[tuple[str, int]] = []
    real_call, real_fetch = operations.call, operations.fetch_document

    def spy_call(conn, operation, *args, **kwargs):
        depths.append((operation, len(connection.atomic_blocks)))
        return real_call(conn, operation, *args, **kwargs)

    def spy_fetch(url, **kwargs):
        depths.append(("download", len(connection.atomic_blocks)))
        return real_fetch(url, **kwargs)

    monkeypatch.setattr(operations, "call", spy_call)
    monkeypatch.setattr(operations, "fetch_document", spy_fetch)
    baseline = len(connection.atomic_blocks)

    # when the sync runs
    run = run_sync(seller, django_capture_on_commit_callbacks)

    # then every call was made with no transaction of ours open
    assert run.status == SyncStatus.SUCCESS, run.error
    assert {op for op, _ in depths} >= {"getMarketplaceParticipations", "createReport", "getReport",
                                         "getReportDocument", "download", "getListingsRestrictions"}
    assert [op for op, depth in depths if depth != baseline] == []
