"""Granting: bulk all-or-nothing, partial grants, dual control, who may grant, bad input."""
from __future__ import annotations

import pytest

from audit.context import Actor
from audit.models import AuditEvent
from authorizations import services
from authorizations.models import Grant, GrantStatus
from brands.models import Role
from config.errors import InvalidInput, NotAllowed, NotFound, RuleViolation, SelfApproval
from tests.factories import AsinFactory, BrandMembershipFactory, SellerFactory, UserFactory

from .conftest import codes, failures_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(brand):
    """Three good ASINs, one without GCID, one in books; all verified in US and DE."""
    good = [AsinFactory(brand=brand, asin=f"B0GOOD000{i}", marketplaces=["US", "DE"]) for i in range(3)]
    AsinFactory(brand=brand, asin="B0NOGCID01", gcid=None, marketplaces=["US", "DE"])
    AsinFactory(brand=brand, asin="B0BOOK0001", category="Books", marketplaces=["US", "DE"])
    return good


@pytest.fixture
def partner_seller(db):
    return SellerFactory(participates_in=["US", "DE"])


ALL = ["B0GOOD0000", "B0GOOD0001", "B0GOOD0002", "B0NOGCID01", "B0BOOK0001"]


def test_bulk_grant_creates_every_pair_with_an_audit_event(actor, brand, catalog, partner_seller, owner):
    # given
    asins = [a.asin for a in catalog]
    # when
    result = services.grants_create(actor=actor, brand=brand, seller=partner_seller, asins=asins,
                                    marketplaces=["US", "DE"], reason="distribution contract 2025")
    # then
    assert len(result.created) == 6
    assert {(g.asin.asin, g.marketplace_id) for g in Grant.objects.filter(status=GrantStatus.ACTIVE)} == {
        (a, m) for a in asins for m in ("US", "DE")}
    assert all(g.granted_by == owner and g.approved_by == owner for g in result.created)
    events = AuditEvent.objects.filter(action="grant.created")
    assert events.count() == 6
    assert {e.actor for e in events} == {"owner"}
    assert {e.reason for e in events} == {"distribution contract 2025"}


def test_bulk_grant_is_all_or_nothing(actor, brand, catalog, partner_seller):
    # given
    events_before = AuditEvent.objects.count()
    # when
    errors = failures_of(actor=actor, brand=brand, seller=partner_seller, asins=ALL, marketplaces=["US", "DE"])
    # then every failure is listed with its ASIN, and nothing is written
    assert sorted((e.code, e.asin) for e in errors) == [
        ("ASIN_NOT_BRAND_REGISTERED", "B0NOGCID01"), ("CATEGORY_EXCLUDED", "B0BOOK0001")]
    assert Grant.objects.count() == 0
    assert AuditEvent.objects.count() == events_before


def test_bulk_grant_lists_failures_per_marketplace(actor, brand, partner_seller):
    # given two ASINs verified in US only
    AsinFactory(brand=brand, asin="B0USONLY01", marketplaces=["US"])
    AsinFactory(brand=brand, asin="B0USONLY02", marketplaces=["US"])
    # when
    errors = failures_of(actor=actor, brand=brand, seller=partner_seller, asins=["B0USONLY01", "B0USONLY02"],
                         marketplaces=["US", "DE"])
    # then
    assert sorted((e.code, e.asin, e.marketplace) for e in errors) == [
        ("ASIN_NOT_IN_MARKETPLACE", "B0USONLY01", "DE"), ("ASIN_NOT_IN_MARKETPLACE", "B0USONLY02", "DE")]
    assert Grant.objects.count() == 0


def test_partial_grant_grants_the_good_pairs_and_returns_the_failures(actor, brand, catalog, partner_seller):
    # when
    result = services.grants_create(actor=actor, brand=brand, seller=partner_seller, asins=ALL,
                                    marketplaces=["US", "DE"], partial=True)
    # then
    assert sorted((g.asin.asin, g.marketplace_id) for g in result.created) == [
        (f"B0GOOD000{i}", m) for i in range(3) for m in ("DE", "US")]
    assert codes(result.failures) == {"ASIN_NOT_BRAND_REGISTERED", "CATEGORY_EXCLUDED"}
    assert Grant.objects.count() == 6
    assert AuditEvent.objects.filter(action="grant.created").count() == 6


def test_partial_grant_with_nothing_eligible_is_refused(actor, brand, catalog):
    # given an unhealthy seller: nothing can be granted
    seller = SellerFactory(health_score=50)
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=ALL, marketplaces=["US"], partial=True)
    # then
    assert "SELLER_HEALTH_BELOW_MIN" in codes(errors)
    assert Grant.objects.count() == 0


def test_regranting_what_is_held_reports_skips(actor, brand, catalog, partner_seller):
    # given
    asins = [a.asin for a in catalog]
    services.grants_create(actor=actor, brand=brand, seller=partner_seller, asins=asins[:2], marketplaces=["US"])
    # when
    result = services.grants_create(actor=actor, brand=brand, seller=partner_seller, asins=asins, marketplaces=["US"])
    # then
    assert [g.asin.asin for g in result.created] == [asins[2]]
    assert sorted((s.code, s.asin, s.marketplace) for s in result.skipped) == [
        ("ALREADY_GRANTED", asins[0], "US"), ("ALREADY_GRANTED", asins[1], "US")]
    assert Grant.objects.count() == 3


# -- dual control ---------------------------------------------------------------------------

@pytest.fixture
def dual_brand(brand):
    brand.dual_control = True
    brand.save()
    return brand


def test_dual_control_grants_wait_for_approval(actor, dual_brand, seller, asin, owner):
    # when
    result = services.grants_create(actor=actor, brand=dual_brand, seller=seller, asins=[asin.asin])
    # then
    [grant] = result.created
    assert grant.status == GrantStatus.PENDING_APPROVAL
    assert grant.granted_by == owner and grant.approved_by is None


def test_dual_control_granter_cannot_approve(actor, dual_brand, seller, asin):
    # given
    [grant] = services.grants_create(actor=actor, brand=dual_brand, seller=seller, asins=[asin.asin]).created
    # when
    with pytest.raises(SelfApproval) as excinfo:
        services.grant_approve(actor=actor, grant=grant)
    # then
    assert excinfo.value.code == "SELF_APPROVAL"
    grant.refresh_from_db()
    assert grant.status == GrantStatus.PENDING_APPROVAL
    assert not AuditEvent.objects.filter(action="grant.approved").exists()


def test_dual_control_second_member_approves(actor, dual_brand, seller, asin, manager):
    # given
    [grant] = services.grants_create(actor=actor, brand=dual_brand, seller=seller, asins=[asin.asin]).created
    # when
    approved = services.grant_approve(actor=Actor.for_user(manager), grant=grant, reason="checked the letter")
    # then
    grant.refresh_from_db()
    assert grant.status == GrantStatus.ACTIVE
    assert grant.approved_by == manager
    event = AuditEvent.objects.get(action="grant.approved")
    assert (event.actor, event.reason, event.before["status"], event.after["status"]) == (
        "manager", "checked the letter", "PENDING_APPROVAL", "ACTIVE")
    assert approved.status == GrantStatus.ACTIVE


def test_dual_control_pending_grant_can_be_rejected(actor, dual_brand, seller, asin, manager):
    # given
    [grant] = services.grants_create(actor=actor, brand=dual_brand, seller=seller, asins=[asin.asin]).created
    # when
    services.grant_reject(actor=Actor.for_user(manager), grant=grant, reason="no letter on file")
    # then
    grant.refresh_from_db()
    assert (grant.status, grant.status_reason) == (GrantStatus.REJECTED, "no letter on file")


# -- who may grant --------------------------------------------------------------------------

def test_viewer_cannot_grant(brand, seller, asin):
    # given
    viewer = UserFactory(username="viewer")
    BrandMembershipFactory(brand=brand, user=viewer, role=Role.VIEWER)
    # when
    with pytest.raises(NotAllowed):
        services.grants_create(actor=Actor.for_user(viewer), brand=brand, seller=seller, asins=[asin.asin])
    # then
    assert Grant.objects.count() == 0


def test_manager_can_grant(brand, seller, asin, manager):
    # when
    result = services.grants_create(actor=Actor.for_user(manager), brand=brand, seller=seller, asins=[asin.asin])
    # then
    assert len(result.created) == 1


def test_non_member_does_not_see_the_brand(brand, seller, asin):
    # given
    stranger = UserFactory(username="stranger")
    # when
    with pytest.raises(NotFound):
        services.grants_create(actor=Actor.for_user(stranger), brand=brand, seller=seller, asins=[asin.asin])
    # then
    assert Grant.objects.count() == 0


def test_owner_of_another_brand_does_not_see_this_one(brand, seller, asin):
    # given
    other_owner = UserFactory(username="other-owner")
    BrandMembershipFactory(user=other_owner, role=Role.OWNER)
    # when / then
    with pytest.raises(NotFound):
        services.grants_create(actor=Actor.for_user(other_owner), brand=brand, seller=seller, asins=[asin.asin])


def test_ops_staff_are_read_only(brand, seller, asin):
    # given
    ops = UserFactory(username="ops", is_staff=True)
    # when / then
    with pytest.raises(NotAllowed):
        services.grants_create(actor=Actor.for_user(ops), brand=brand, seller=seller, asins=[asin.asin])


# -- bad input ------------------------------------------------------------------------------

def _invalid(**kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as excinfo:
        services.grants_create(**kwargs)
    return excinfo.value


def test_malformed_asins_are_all_named(actor, brand, seller, asin):
    # given
    events_before = AuditEvent.objects.count()
    # when
    error = _invalid(actor=actor, brand=brand, seller=seller, asins=[asin.asin, "B0SHORT", "b0-bad-0001", 12],
                     marketplaces=["US"])
    # then
    assert [(e.code, e.field, e.asin) for e in error.errors] == [
        ("INVALID_ASIN", "asins", "B0SHORT"), ("INVALID_ASIN", "asins", "b0-bad-0001"), ("INVALID_ASIN", "asins", "12")]
    assert "B0SHORT" in error.errors[0].detail
    assert Grant.objects.count() == 0
    assert AuditEvent.objects.count() == events_before


@pytest.mark.parametrize("value", ["XX", "", "usa", 7, None])
def test_unknown_marketplace(actor, brand, seller, asin, value):
    # when
    error = _invalid(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US", value])
    # then
    [item] = error.errors
    assert (item.code, item.field, item.marketplace) == ("INVALID_MARKETPLACE", "marketplaces", str(value))
    assert Grant.objects.count() == 0


def test_amazon_country_code_gb_means_uk(actor, brand):
    # given
    seller = SellerFactory(participates_in=["US", "UK"])
    AsinFactory(brand=brand, asin="B0UK000001", marketplaces=["UK"])
    # when
    result = services.grants_create(actor=actor, brand=brand, seller=seller, asins=["B0UK000001"],
                                    marketplaces=["gb"])
    # then
    assert [g.marketplace_id for g in result.created] == ["UK"]


def test_no_asins(actor, brand, seller):
    # when
    error = _invalid(actor=actor, brand=brand, seller=seller, asins=[])
    # then
    assert (error.code, error.errors[0].field) == ("REQUIRED", "asins")


def test_asins_not_a_list(actor, brand, seller):
    # when
    error = _invalid(actor=actor, brand=brand, seller=seller, asins="B0TEST0001")
    # then
    assert (error.code, error.errors[0].field) == ("INVALID_ASIN", "asins")


def test_more_than_10000_asins(actor, brand, seller):
    # given
    asins = [f"B{i:09d}" for i in range(10_001)]
    # when
    error = _invalid(actor=actor, brand=brand, seller=seller, asins=asins)
    # then
    assert (error.code, error.errors[0].field) == ("TOO_MANY_ITEMS", "asins")
    assert "10000" in error.errors[0].detail.replace(",", "")
    assert Grant.objects.count() == 0


def test_more_than_10000_pairs(actor, brand, seller):
    # given 5,001 ASINs × 2 marketplaces
    asins = [f"B{i:09d}" for i in range(5_001)]
    # when
    error = _invalid(actor=actor, brand=brand, seller=seller, asins=asins, marketplaces=["US", "DE"])
    # then
    assert (error.code, error.errors[0].field) == ("TOO_MANY_ITEMS", "asins")


def test_refusal_is_a_rule_violation_with_409(actor, brand, asin):
    # given
    seller = SellerFactory(health_score=10)
    # when
    with pytest.raises(RuleViolation) as excinfo:
        services.grants_create(actor=actor, brand=brand, seller=seller, asins=[asin.asin])
    # then
    assert excinfo.value.http_status == 409
    assert excinfo.value.as_dicts()[0]["code"] == "SELLER_HEALTH_BELOW_MIN"
