"""The demo's building blocks, without loading the whole world."""
from __future__ import annotations

import random

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from brands.models import AsinMarketplace, PresenceStatus
from demo.catalog import catalog_results_apply
from demo.health_reports import health_report
from demo.world import Generator, load_scenario
from sellers.health import assess
from tests.factories import AsinFactory, BrandFactory

SCENARIO = load_scenario()
US, DE = "ATVPDKIKX0DER", "A1PA6795UKMFR9"


@pytest.mark.parametrize(
    ("profile", "score", "infringements", "status"),
    [
        ("excellent", 100, 0, "NORMAL"),
        ("minor_listing_issues", 96, 0, "NORMAL"),
        ("at_risk_but_fine", 98, 0, "AT_RISK"),
        ("late_shipper", 85, 0, "NORMAL"),
        ("slipping", 83, 0, "NORMAL"),
        ("struggling", 54, 0, "NORMAL"),
        ("ip_complaints", 96, 2, "NORMAL"),
        ("suspended_account", 58, 1, "DEACTIVATED"),
    ],
)
def test_health_profiles_score_as_designed(profile, score, infringements, status):
    # given: a report in Amazon's shape for a US + DE seller
    report = health_report(SCENARIO["health_profiles"][profile], [US, DE], at=timezone.now(), rng=random.Random(1))
    # when
    assessment = assess(report, marketplace_ids=[US, DE])
    # then
    assert (assessment.score, assessment.infringement_count, assessment.account_status) == (score, infringements, status)
    assert {m["marketplaceId"] for m in report["performanceMetrics"]} == {US, DE}


def test_generation_is_deterministic():
    first, second = Generator(SCENARIO), Generator(SCENARIO)
    brands_a, brands_b = first.brands(), second.brands()
    sellers_a, sellers_b = first.sellers(), second.sellers()
    assert [a.code for b in brands_a for a in b.asins] == [a.code for b in brands_b for a in b.asins]
    assert [(s.seller_id, s.name, s.markets) for s in sellers_a] == [(s.seller_id, s.name, s.markets) for s in sellers_b]
    assert len({s.seller_id for s in sellers_a}) == len(sellers_a) == SCENARIO["sellers"]["total"]
    assert sum(len(b.asins) for b in brands_a) >= 300


def test_catalog_results_apply_verifies_and_records_one_event_per_batch(db):
    # given: an ASIN with two unverified presences
    brand = BrandFactory(name="Acme")
    asin = AsinFactory(brand=brand, marketplaces=[])
    AsinMarketplace.objects.bulk_create([AsinMarketplace(asin=asin, marketplace_id=m) for m in ("US", "DE")])
    # when
    done = catalog_results_apply(brand=brand, verified=[(asin.asin, "US")], mismatched=[(asin.asin, "DE", "Acme EU")])
    # then
    us, de = (AsinMarketplace.objects.get(asin=asin, marketplace_id=m) for m in ("US", "DE"))
    assert (us.status, us.catalog_brand, us.verified_at is not None) == (PresenceStatus.VERIFIED, "Acme", True)
    assert (de.status, de.catalog_brand) == (PresenceStatus.BRAND_MISMATCH, "Acme EU")
    assert done == {"verified": 1, "mismatched": 1}
    events = AuditEvent.objects.filter(brand_id=brand.pk).order_by("seq")
    assert [(e.action, e.source, e.actor) for e in events] == [
        ("asin.verified", "worker", "demo.catalog_sync"), ("asin.brand_mismatch", "worker", "demo.catalog_sync")]
    assert events[0].after["marketplaces"] == {"US": [asin.asin]}
