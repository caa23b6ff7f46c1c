"""The check (the hot path listing tools call), the batch check, and the diagnosis."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.context import Actor
from authorizations import rules, selectors, services
from authorizations.models import GrantStatus
from brands.models import RegistryStatus
from sellers.models import Seller
from tests.factories import AsinFactory, BrandFactory, SellerFactory

from .conftest import hold, move_term_to_past

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_grant(actor, brand, seller, asin):
    [grant] = services.grants_create(actor=actor, brand=brand, seller=seller, asins=[asin.asin]).created
    return grant


# -- check ----------------------------------------------------------------------------------

def test_check_authorizes_an_active_grant_in_one_query(active_grant, seller, asin, django_assert_num_queries):
    # when
    with django_assert_num_queries(1):
        result = selectors.check(seller_id=seller.seller_id, asin=asin.asin, marketplace="US")
    # then
    assert result.as_dict() == {"authorized": True, "grant_id": active_grant.pk, "status": "ACTIVE",
                                "valid_until": None}


@pytest.mark.parametrize(("seller_id", "asin_code", "marketplace"), [
    ("ASELLER000001", "B0TEST0001", "DE"),      # other marketplace
    ("ASELLER000001", "B0OTHER001", "US"),      # other ASIN
    ("AOTHERSELLER1", "B0TEST0001", "US"),      # other seller
])
def test_check_is_exact(active_grant, seller_id, asin_code, marketplace, django_assert_num_queries):
    # when
    with django_assert_num_queries(1):
        result = selectors.check(seller_id=seller_id, asin=asin_code, marketplace=marketplace)
    # then
    assert result == selectors.NOT_AUTHORIZED


@pytest.mark.parametrize("status", [GrantStatus.PENDING_APPROVAL, GrantStatus.SUSPENDED])
def test_check_does_not_authorize_a_grant_that_is_not_active(seller, asin, status):
    # given
    hold(asin, [seller], status=status)
    # when
    result = selectors.check(seller_id=seller.seller_id, asin=asin.asin, marketplace="US")
    # then
    assert (result.authorized, result.status) == (False, status)


def test_check_does_not_authorize_on_a_brand_out_of_registry(active_grant, brand, seller, asin):
    # given
    brand.registry_status = RegistryStatus.SUSPENDED
    brand.save()
    # when
    result = selectors.check(seller_id=seller.seller_id, asin=asin.asin, marketplace="US")
    # then
    assert not result.authorized


def test_check_does_not_authorize_before_the_term_starts(actor, brand, seller, asin):
    # given
    services.grants_create(actor=actor, brand=brand, seller=seller, asins=[asin.asin],
                           valid_from=timezone.now() + dt.timedelta(days=3))
    # when
    result = selectors.check(seller_id=seller.seller_id, asin=asin.asin, marketplace="US")
    # then
    assert not result.authorized


def test_check_after_the_term_ended(active_grant, seller, asin, django_assert_num_queries):
    # given
    move_term_to_past(active_grant)
    # when
    with django_assert_num_queries(1):
        result = selectors.check(seller_id=seller.seller_id, asin=asin.asin, marketplace="US")
    # then
    assert (result.authorized, result.status, result.grant_id) == (False, "EXPIRED", active_grant.pk)


def test_check_after_revocation(actor, active_grant, seller, asin):
    # given
    services.grant_revoke(actor=actor, grant=active_grant, reason="ended")
    # when
    result = selectors.check(seller_id=seller.seller_id, asin=asin.asin, marketplace="US")
    # then
    assert not result.authorized


# -- batch check ----------------------------------------------------------------------------

def _batch_fixture(brand, size):
    """``size`` items: half authorized, a quarter revoked, a quarter never granted, shuffled."""
    sellers = [SellerFactory() for _ in range(4)]
    asins = [AsinFactory(brand=brand) for _ in range(size // 4 + 1)]
    items, expected = [], []
    for i in range(size):
        seller, asin = sellers[i % 4], asins[i // 4]
        kind = i % 4
        if kind in (0, 1):
            hold(asin, [seller])
        elif kind == 2:
            hold(asin, [seller], status=GrantStatus.REVOKED)
        items.append((seller.seller_id, asin.asin, "US"))
        expected.append(kind in (0, 1))
    return items, expected


def test_check_batch_answers_in_input_order(brand):
    # given
    items, expected = _batch_fixture(brand, 200)
    items, expected = items[::-1], expected[::-1]
    items.append(items[0])  # a repeated item answers twice
    expected.append(expected[0])
    items.append(list(items[1]))  # as JSON gives it
    expected.append(expected[1])
    # when
    results = selectors.check_batch(items)
    # then
    assert [r.authorized for r in results] == expected


def test_check_batch_uses_a_constant_number_of_queries(brand):
    # given
    small_items, _ = _batch_fixture(brand, 10)
    large_items, _ = _batch_fixture(brand, 200)
    # when
    with CaptureQueriesContext(connection) as small:
        selectors.check_batch(small_items)
    with CaptureQueriesContext(connection) as large:
        selectors.check_batch(large_items)
    # then
    assert len(small) == len(large) == 1


def test_check_batch_at_the_api_limit_of_1000_items(brand):
    # given 1,000 items (the API's limit), mostly never granted
    items, expected = _batch_fixture(brand, 40)
    items += [(f"ANOBODY{i:06d}", f"B{i:09d}", "DE") for i in range(960)]
    expected += [False] * 960
    # when
    with CaptureQueriesContext(connection) as queries:
        results = selectors.check_batch(items)
    # then
    assert [r.authorized for r in results] == expected
    assert len(queries) == 1


def test_check_batch_of_nothing():
    assert selectors.check_batch([]) == []


def test_check_batch_treats_an_ended_term_as_expired(active_grant, seller, asin):
    # given
    move_term_to_past(active_grant)
    # when
    [result] = selectors.check_batch([(seller.seller_id, asin.asin, "US")])
    # then
    assert (result.authorized, result.status) == (False, "EXPIRED")


# -- diagnosis ------------------------------------------------------------------------------

def _checks(diagnosis) -> dict[str, bool]:
    return {c["code"]: c["passed"] for c in diagnosis.checks}


def test_diagnosis_of_an_authorized_seller_passes_every_rule(active_grant, seller, asin):
    # when
    diagnosis = selectors.diagnose(seller=seller, asin=asin.asin, marketplace="US")
    # then
    assert diagnosis.authorized
    assert diagnosis.grant == active_grant
    expected = [c.value for c in rules.RULE_ORDER if c != rules.Code.ALREADY_GRANTED]
    assert [c["code"] for c in diagnosis.checks] == expected
    assert all(c["passed"] for c in diagnosis.checks), [c for c in diagnosis.checks if not c["passed"]]
    assert all(c["title"] for c in diagnosis.checks)


def test_diagnosis_shows_who_revoked_and_why(actor, active_grant, seller, asin):
    # given
    services.grant_revoke(actor=actor, grant=active_grant, reason="sold counterfeits on 3 May")
    # when
    diagnosis = selectors.diagnose(seller=seller, asin=asin.asin, marketplace="US")
    # then
    assert not diagnosis.authorized
    assert diagnosis.grant.status == GrantStatus.REVOKED
    assert [(e.action, e.actor) for e in diagnosis.history] == [("grant.created", "owner"), ("grant.revoked", "owner")]
    assert diagnosis.history[-1].reason == "sold counterfeits on 3 May"


def test_diagnosis_lists_each_failing_rule_in_words(actor, active_grant, seller, asin):
    # given the seller was suspended automatically after its health fell
    Seller.objects.filter(pk=seller.pk).update(health_score=72, infringement_count=1)
    services.grants_suspend_for_seller(actor=Actor.task("sellers.sync_health"), seller=seller,
                                       reason_code="SELLER_HEALTH_BELOW_MIN", reason="health 72")
    seller.refresh_from_db()
    # when
    diagnosis = selectors.diagnose(seller=seller, asin=asin.asin, marketplace="US")
    # then
    failed = {c["code"]: c["detail"] for c in diagnosis.checks if not c["passed"]}
    assert set(failed) == {"SELLER_HEALTH_BELOW_MIN", "SELLER_HAS_INFRINGEMENTS"}
    assert "72" in failed["SELLER_HEALTH_BELOW_MIN"]
    assert diagnosis.grant.status == GrantStatus.SUSPENDED
    assert diagnosis.history[-1].actor == "sellers.sync_health"


def test_diagnosis_says_the_asin_is_not_yet_verified(brand):
    # given an imported ASIN not yet verified in DE, and a seller who sells there
    seller = SellerFactory(participates_in=["US", "DE"])
    asin = AsinFactory(brand=brand, asin="B0UNVERIF1", marketplaces=["US"])
    asin.presences.create(marketplace_id="DE")
    # when
    diagnosis = selectors.diagnose(seller=seller, asin=asin.asin, marketplace="DE")
    # then
    [check] = [c for c in diagnosis.checks if c["code"] == "ASIN_NOT_IN_MARKETPLACE"]
    assert not check["passed"]
    assert "not yet verified" in check["detail"]
    assert diagnosis.grant is None and diagnosis.history == []


def test_diagnosis_of_a_grant_in_another_marketplace(active_grant, seller, asin):
    # given the seller holds US; it asks about DE
    # when
    diagnosis = selectors.diagnose(seller=seller, asin=asin.asin, marketplace="DE")
    # then
    checks = {c["code"]: c for c in diagnosis.checks}
    assert not checks["MARKETPLACE_NOT_IN_SCOPE"]["passed"]
    assert "covers US, not DE" in checks["MARKETPLACE_NOT_IN_SCOPE"]["detail"]
    assert not checks["SELLER_NOT_PARTICIPATING"]["passed"]


def test_diagnosis_of_an_ended_term(active_grant, seller, asin):
    # given
    move_term_to_past(active_grant)
    # when
    diagnosis = selectors.diagnose(seller=seller, asin=asin.asin, marketplace="US")
    # then
    assert not diagnosis.authorized
    assert not _checks(diagnosis)["INVALID_TERM"]


def test_diagnosis_of_an_asin_in_no_visible_catalog(seller):
    # given an ASIN of a brand the caller cannot see
    hidden = AsinFactory(brand=BrandFactory(), asin="B0HIDDEN01")
    # when
    diagnosis = selectors.diagnose(seller=seller, asin=hidden.asin, marketplace="US", brands=[])
    # then
    checks = _checks(diagnosis)
    assert not checks["ASIN_UNKNOWN"]
    assert not checks["ASIN_SELLER_LIMIT"]  # not evaluable without the brand
    assert checks["SELLER_HEALTH_BELOW_MIN"]  # the seller's own rules still are


def test_diagnosis_of_a_full_asin(brand, seller, asin):
    # given
    hold(asin, [SellerFactory() for _ in range(10)])
    # when
    diagnosis = selectors.diagnose(seller=seller, asin=asin.asin, marketplace="US")
    # then
    checks = {c["code"]: c for c in diagnosis.checks}
    assert not checks["ASIN_SELLER_LIMIT"]["passed"]
    assert "10 of 10" in checks["ASIN_SELLER_LIMIT"]["detail"]


def test_diagnosis_of_a_holder_on_a_full_asin(brand, seller, asin):
    # given the seller is one of the 10 holders
    hold(asin, [seller] + [SellerFactory() for _ in range(9)])
    # when
    diagnosis = selectors.diagnose(seller=seller, asin=asin.asin, marketplace="US")
    # then
    assert diagnosis.authorized
    assert _checks(diagnosis)["ASIN_SELLER_LIMIT"]


def test_diagnosis_is_read_only(actor, active_grant, seller, asin):
    # given a grant with some history
    services.grant_suspend(actor=actor, grant=active_grant, reason="review")
    # when
    with CaptureQueriesContext(connection) as queries:
        selectors.diagnose(seller=seller, asin=asin.asin, marketplace="US")
    # then a bounded number of reads, no writes
    assert not [q for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert len(queries) <= 20
