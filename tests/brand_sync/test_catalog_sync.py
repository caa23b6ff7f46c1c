"""Catalog verification end to end: the brand's SP-API account, searchCatalogItems over HTTP, the
ASIN presences, the audit trail, and what the rules make of it."""
from __future__ import annotations

import pytest

from audit.context import Actor
from audit.models import AuditEvent
from authorizations import rules
from authorizations.rules import Code
from brands.models import Asin, AsinMarketplace, PresenceStatus
from brands.sync import catalog_results_apply
from spapi_client.models import SyncKind, SyncStatus
from spapi_client.operations import CatalogItem
from tests.factories import SellerFactory

from .conftest import BULK_ASINS, BULK_MISSING_IN_US, UK, run_sync, served

pytestmark = pytest.mark.django_db


def presence(code: str, market: str) -> AsinMarketplace:
    return AsinMarketplace.objects.select_related("asin").get(asin__asin=code, marketplace_id=market)


def test_catalog_sync_verifies_flags_mismatches_and_missing_items(world, fake):
    # when
    run = run_sync(world.acme, SyncKind.BRAND_CATALOG)

    # then: the run succeeded, with its counts
    assert run.status == SyncStatus.SUCCESS, run.error
    assert (run.progress_done, run.progress_total) == (3, 3)  # DE, UK, US: one batch each
    assert run.counts["calls"] == 3 and run.counts["catalog_calls"] == 3
    assert (run.counts["verified"], run.counts["not_found"], run.counts["mismatched"]) == (6, 2, 1)
    assert served(fake, "searchCatalogItems")["served"] == 3
    # the verdicts
    verified = presence("B0ACME0001", "US")
    assert (verified.status, verified.catalog_brand, verified.catalog_category) == (
        PresenceStatus.VERIFIED, "Acme", "Home & Kitchen")
    assert verified.verified_at is not None
    assert presence("B0ACME0001", "UK").status == PresenceStatus.VERIFIED
    trimmed = presence("B0ACME0002", "US")  # "  ACME " in the catalog: same brand
    assert (trimmed.status, trimmed.catalog_brand) == (PresenceStatus.VERIFIED, "ACME")
    mismatch = presence("B0ACME0003", "UK")
    assert (mismatch.status, mismatch.catalog_brand, mismatch.verified_at) == (
        PresenceStatus.BRAND_MISMATCH, "Acmee Trading", None)
    assert presence("B0ACME0003", "US").status == PresenceStatus.VERIFIED
    missing = presence("B0ACME0005", "US")
    assert (missing.status, missing.catalog_brand, missing.verified_at) == (PresenceStatus.NOT_FOUND, "", None)
    assert presence("B0ACME0006", "US").status == PresenceStatus.NOT_FOUND
    # the brand is marked synced
    world.acme.refresh_from_db()
    assert world.acme.last_synced_at is not None


def test_the_category_follows_the_reference_marketplace_and_is_audited(world):
    # when
    run_sync(world.acme, SyncKind.BRAND_CATALOG)

    # then: B0ACME0004 is a book in the US catalog (its reference marketplace)
    assert Asin.objects.get(asin="B0ACME0004").category == "Books"
    event = AuditEvent.objects.get(action="asin.updated", object_id="B0ACME0004")
    assert (event.before, event.after, event.source, event.actor) == (
        {"category": "Kitchen"}, {"category": "Books"}, "worker", "brands.sync_brand")
    # B0ACME0006's German tree ("Bücher") is recorded on the presence, not taken as the category
    german = presence("B0ACME0006", "DE")
    assert (german.status, german.catalog_category) == (PresenceStatus.VERIFIED, "Bücher")
    assert Asin.objects.get(asin="B0ACME0006").category == "Home & Kitchen"
    assert not AuditEvent.objects.filter(action="asin.updated", object_id="B0ACME0006").exists()


def test_audit_events_are_batched_and_only_for_changes(world):
    # when
    run_sync(world.acme, SyncKind.BRAND_CATALOG)

    # then: one event per verdict and batch, on the brand's stream, naming the ASINs
    events = AuditEvent.objects.filter(brand_id=world.acme.pk, object_type="brand").order_by("seq")
    assert [(e.action, e.after["marketplaces"]) for e in events] == [
        ("asin.verified", {"DE": ["B0ACME0006"]}),
        ("asin.verified", {"UK": ["B0ACME0001"]}),
        ("asin.brand_mismatch", {"UK": ["B0ACME0003"]}),
        ("asin.verified", {"US": ["B0ACME0001", "B0ACME0002", "B0ACME0003", "B0ACME0004"]}),
        ("asin.not_found", {"US": ["B0ACME0005", "B0ACME0006"]}),
    ]
    mismatch = events.get(action="asin.brand_mismatch")
    assert mismatch.after["catalog_brands"] == {"B0ACME0003": "Acmee Trading"}
    assert mismatch.before == {"statuses": {"B0ACME0003": "UNVERIFIED"}}
    assert {e.stream for e in events} == {f"brand:{world.acme.pk}"}

    # when: the same catalog again
    before = AuditEvent.objects.count()
    first_verified_at = presence("B0ACME0001", "US").verified_at
    run = run_sync(world.acme, SyncKind.BRAND_CATALOG)

    # then: no change, no event; verified_at is the last sync that showed it
    assert run.status == SyncStatus.SUCCESS
    assert run.counts["catalog_changed"] == 0 and run.counts["categories_updated"] == 0
    assert AuditEvent.objects.count() == before
    assert presence("B0ACME0001", "US").verified_at > first_verified_at


def test_45_asins_take_3_calls_per_marketplace(world, bulk_brand, fake):
    # when
    run = run_sync(bulk_brand, SyncKind.BRAND_CATALOG)

    # then: 20 + 20 + 5 ASINs per marketplace
    assert run.status == SyncStatus.SUCCESS, run.error
    assert served(fake, "searchCatalogItems")["served"] == 6
    assert run.counts["catalog_calls"] == 6
    assert (run.progress_done, run.progress_total) == (6, 6)
    assert run.counts["verified"] == 2 * len(BULK_ASINS) - len(BULK_MISSING_IN_US)
    assert run.counts["not_found"] == len(BULK_MISSING_IN_US)
    statuses = dict(AsinMarketplace.objects.filter(asin__brand=bulk_brand, marketplace_id="US")
                    .values_list("asin__asin", "status"))
    assert {code for code, status in statuses.items() if status == PresenceStatus.NOT_FOUND} == BULK_MISSING_IN_US
    assert not AsinMarketplace.objects.filter(asin__brand=bulk_brand, status=PresenceStatus.UNVERIFIED).exists()


def asin_not_in_marketplace(brand, seller, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    failing = set()
    for code, market in pairs:
        evaluation = rules.evaluate(brand=brand, seller=seller, asin_codes=[code], marketplace_codes=[market])
        failing |= {(f.asin, f.marketplace) for f in evaluation.failures if f.code == Code.ASIN_NOT_IN_MARKETPLACE}
    return failing


def test_asin_not_in_marketplace_follows_the_last_catalog_sync(world):
    # given: a healthy seller in US and UK; the catalog not yet verified
    seller = SellerFactory(participates_in=["US", "UK"])
    pairs = [("B0ACME0001", "US"), ("B0ACME0001", "UK"), ("B0ACME0003", "US"), ("B0ACME0003", "UK"),
             ("B0ACME0005", "US")]
    assert asin_not_in_marketplace(world.acme, seller, pairs) == set(pairs)

    # when
    run_sync(world.acme, SyncKind.BRAND_CATALOG)

    # then: verified pairs pass, the mismatch and the missing item fail, each saying why
    assert asin_not_in_marketplace(world.acme, seller, pairs) == {("B0ACME0003", "UK"), ("B0ACME0005", "US")}
    evaluation = rules.evaluate(brand=world.acme, seller=seller, asin_codes=["B0ACME0003"], marketplace_codes=["UK"])
    (failure,) = [f for f in evaluation.failures if f.code == Code.ASIN_NOT_IN_MARKETPLACE]
    assert "Acmee Trading" in failure.detail
    evaluation = rules.evaluate(brand=world.acme, seller=seller, asin_codes=["B0ACME0001", "B0ACME0003"],
                                marketplace_codes=["US"])
    assert evaluation.ok, evaluation.failures
    # and the book is now CATEGORY_EXCLUDED
    evaluation = rules.evaluate(brand=world.acme, seller=seller, asin_codes=["B0ACME0004"], marketplace_codes=["US"])
    assert Code.CATEGORY_EXCLUDED in evaluation.failed_codes()


def test_a_verified_asin_that_leaves_the_catalog_is_flagged(world):
    # given: verified once
    run_sync(world.acme, SyncKind.BRAND_CATALOG)
    # when: the US catalog no longer shows B0ACME0002 (applied as the sync would)
    catalog_results_apply(actor=Actor.task("test"), brand=world.acme, marketplace="US", items_by_asin={},
                          asked=["B0ACME0002"])
    # then
    gone = presence("B0ACME0002", "US")
    assert (gone.status, gone.verified_at) == (PresenceStatus.NOT_FOUND, None)
    event = AuditEvent.objects.filter(action="asin.not_found").latest("seq")
    assert (event.before, event.after["marketplaces"]) == ({"statuses": {"B0ACME0002": "VERIFIED"}},
                                                           {"US": ["B0ACME0002"]})


def test_apply_ignores_asins_the_brand_does_not_list_there(world):
    item = CatalogItem(asin="B0ACME0002", marketplace_id=UK, brand="Acme", title="", classification="", category="X")
    counts = catalog_results_apply(actor=Actor.task("test"), brand=world.acme, marketplace="UK",
                                   items_by_asin={"B0ACME0002": item}, asked=["B0ACME0002", "B0NOTMINE1"])
    assert counts["presences_checked"] == 0
    assert not AsinMarketplace.objects.filter(asin__asin="B0ACME0002", marketplace_id="UK").exists()
    assert not AuditEvent.objects.filter(action__startswith="asin.").exists()
    assert presence("B0ACME0002", "US").status == PresenceStatus.UNVERIFIED
