"""Offers monitoring end to end: getItemOffersBatch over HTTP on the brand's SP-API account,
findings opened, refreshed and resolved, and their audit trail."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditEvent
from authorizations.findings import offers_apply
from authorizations.models import FindingResolution, GrantStatus, UnauthorizedOffer
from spapi_client.models import SyncKind, SyncStatus
from spapi_client.operations import Offer
from tests.factories import SellerFactory

from .conftest import (
    AUTHORIZED, BRAND_ACCOUNT, SUSPENDED, UNAUTHORIZED, US, hold_grant, run_sync, served, set_offers,
)

pytestmark = pytest.mark.django_db


def open_findings() -> dict[tuple[str, str, str], UnauthorizedOffer]:
    return {(f.asin.asin, f.marketplace_id, f.offering_seller_id): f
            for f in UnauthorizedOffer.objects.filter(resolved_at__isnull=True).select_related("asin")}


def test_a_full_sync_finds_unauthorized_sellers_with_price_and_buy_box(world, fake):
    # when: catalog, then offers
    run = run_sync(world.acme)

    # then
    assert run.status == SyncStatus.SUCCESS, run.error
    assert (run.progress_done, run.progress_total) == (6, 6)  # DE, UK, US twice
    assert (run.counts["catalog_calls"], run.counts["offers_calls"]) == (3, 3)
    assert served(fake, "getItemOffersBatch")["served"] == 3
    findings = open_findings()
    assert set(findings) == {
        ("B0ACME0001", "US", UNAUTHORIZED),
        ("B0ACME0001", "UK", UNAUTHORIZED),
        ("B0ACME0001", "UK", AUTHORIZED),  # its UK grant's term has ended
        ("B0ACME0002", "US", SUSPENDED),  # a suspended grant does not authorize an offer
    }
    us = findings[("B0ACME0001", "US", UNAUTHORIZED)]
    assert (us.price, us.currency, us.is_buy_box_winner, us.seller_name) == (Decimal("17.49"), "USD", False, "")
    assert us.first_seen_at == us.last_seen_at and us.brand_id == world.acme.pk
    uk = findings[("B0ACME0001", "UK", UNAUTHORIZED)]
    assert (uk.price, uk.currency, uk.is_buy_box_winner) == (Decimal("15.00"), "GBP", True)
    known = findings[("B0ACME0002", "US", SUSPENDED)]
    assert (known.seller_name, known.is_buy_box_winner) == ("Suspended Shop", True)
    assert run.counts["findings_opened"] == 4
    # the seller with an active grant in term, and the brand's own account, are never findings
    assert not UnauthorizedOffer.objects.filter(offering_seller_id=BRAND_ACCOUNT).exists()
    assert not UnauthorizedOffer.objects.filter(offering_seller_id=AUTHORIZED, marketplace_id="US").exists()
    # one finding.opened per finding, on the brand's stream
    opened = AuditEvent.objects.filter(action="finding.opened")
    assert opened.count() == 4
    event = opened.get(object_id=str(us.pk))
    assert (event.stream, event.seller_id, event.after["asin"], event.after["price"]) == (
        f"brand:{world.acme.pk}", UNAUTHORIZED, "B0ACME0001", "17.49")


def test_the_same_scan_again_refreshes_the_finding(world):
    # given
    run_sync(world.acme)
    first = open_findings()[("B0ACME0001", "US", UNAUTHORIZED)]

    # when
    run = run_sync(world.acme, SyncKind.BRAND_OFFERS)

    # then: still one finding, seen again later
    assert run.status == SyncStatus.SUCCESS
    assert UnauthorizedOffer.objects.filter(offering_seller_id=UNAUTHORIZED, marketplace_id="US").count() == 1
    again = UnauthorizedOffer.objects.get(pk=first.pk)
    assert again.first_seen_at == first.first_seen_at and again.last_seen_at > first.last_seen_at
    assert (run.counts["findings_opened"], run.counts["findings_refreshed"]) == (0, 4)
    assert AuditEvent.objects.filter(action="finding.opened").count() == 4


def test_a_seller_that_stops_offering_is_resolved_disappeared(world, fake):
    # given
    run_sync(world.acme)
    finding = open_findings()[("B0ACME0001", "US", UNAUTHORIZED)]
    set_offers(fake, "B0ACME0001", US, [{"seller_id": AUTHORIZED, "price": 19.99, "currency": "USD", "buy_box": True}])

    # when
    run = run_sync(world.acme, SyncKind.BRAND_OFFERS)

    # then
    finding.refresh_from_db()
    assert (finding.resolution, finding.resolved_at is not None) == (FindingResolution.DISAPPEARED, True)
    assert run.counts["findings_resolved_disappeared"] == 1
    assert ("B0ACME0001", "UK", UNAUTHORIZED) in open_findings()  # still offering in the UK
    event = AuditEvent.objects.get(action="finding.resolved", object_id=str(finding.pk))
    assert (event.after["resolution"], event.seller_id) == ("DISAPPEARED", UNAUTHORIZED)

    # when: it comes back
    set_offers(fake, "B0ACME0001", US, [{"seller_id": UNAUTHORIZED, "price": 16.0, "currency": "USD"}])
    run_sync(world.acme, SyncKind.BRAND_OFFERS)

    # then: a new finding (the evidence of the first stays as it was)
    assert UnauthorizedOffer.objects.filter(offering_seller_id=UNAUTHORIZED, marketplace_id="US").count() == 2
    assert open_findings()[("B0ACME0001", "US", UNAUTHORIZED)].price == Decimal("16.00")


def test_a_seller_granted_since_is_resolved_granted(world):
    # given
    run_sync(world.acme)
    finding = open_findings()[("B0ACME0001", "UK", UNAUTHORIZED)]
    seller = SellerFactory(seller_id=UNAUTHORIZED, name="Late Partner", participates_in=["UK"])
    hold_grant(world.asins["B0ACME0001"], seller, "UK")

    # when
    run = run_sync(world.acme, SyncKind.BRAND_OFFERS)

    # then
    finding.refresh_from_db()
    assert finding.resolution == FindingResolution.GRANTED
    assert run.counts["findings_resolved_granted"] == 1
    assert ("B0ACME0001", "UK", UNAUTHORIZED) not in open_findings()
    # the US finding, now with the seller's name: it holds no grant there
    assert open_findings()[("B0ACME0001", "US", UNAUTHORIZED)].seller_name == "Late Partner"


def test_a_seller_with_an_active_grant_never_becomes_a_finding(world):
    # given: the suspended seller's grant is reinstated before any scan
    world.grants.suspended_us.status = GrantStatus.ACTIVE
    world.grants.suspended_us.save(update_fields=["status"])

    # when
    run_sync(world.acme)
    run_sync(world.acme, SyncKind.BRAND_OFFERS)

    # then
    assert not UnauthorizedOffer.objects.filter(offering_seller_id=SUSPENDED).exists()
    assert not UnauthorizedOffer.objects.filter(offering_seller_id=AUTHORIZED, marketplace_id="US").exists()


def offer(seller_id: str, price: str, *, buy_box: bool = False) -> Offer:
    return Offer(seller_id=seller_id, is_buy_box_winner=buy_box, price=Decimal(price), currency="USD", condition="new")


def test_offers_apply_is_idempotent_and_never_goes_back_in_time(world):
    actor = Actor.task("test")
    now = timezone.now()
    batch = {"B0ACME0005": [offer("A7SELLERSEVEN7", "9.00"), offer("A7SELLERSEVEN7", "8.50", buy_box=True)]}

    # when: the same batch twice (a re-delivered task)
    offers_apply(actor=actor, brand=world.acme, marketplace="US", offers_by_asin=batch, asked=["B0ACME0005"],
                 seen_at=now)
    counts = offers_apply(actor=actor, brand=world.acme, marketplace="US", offers_by_asin=batch,
                          asked=["B0ACME0005"], seen_at=now)

    # then: one finding (its buy-box offer), one event
    (finding,) = UnauthorizedOffer.objects.filter(offering_seller_id="A7SELLERSEVEN7")
    assert (finding.price, finding.is_buy_box_winner) == (Decimal("8.50"), True)
    assert (counts["findings_opened"], counts["findings_refreshed"]) == (0, 1)
    assert AuditEvent.objects.filter(action="finding.opened").count() == 1

    # when: an older scan arrives late, saying the seller is gone
    offers_apply(actor=actor, brand=world.acme, marketplace="US", offers_by_asin={"B0ACME0005": []},
                 asked=["B0ACME0005"], seen_at=now - dt.timedelta(minutes=5))
    # then: a newer scan saw it: nothing resolved, nothing moved back
    finding.refresh_from_db()
    assert (finding.resolved_at, finding.last_seen_at) == (None, now)

    # when: an ASIN Amazon did not answer (refused inside the batch)
    counts = offers_apply(actor=actor, brand=world.acme, marketplace="US", offers_by_asin={}, asked=["B0ACME0005"],
                          seen_at=now + dt.timedelta(minutes=5))
    # then: no information, no change
    finding.refresh_from_db()
    assert finding.resolved_at is None and counts["offers_unanswered"] == 1
