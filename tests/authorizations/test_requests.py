"""Partners ask for ASINs × marketplaces; brand owners approve (under the rules) or reject."""
from __future__ import annotations

import pytest

from audit.context import Actor
from audit.models import AuditEvent
from authorizations import services
from authorizations.models import AuthorizationRequest, Grant, GrantStatus, RequestStatus
from brands.models import Role
from config.errors import InvalidInput, InvalidTransition, NotAllowed, NotFound, RuleViolation
from sellers.models import Seller
from tests.factories import (
    AsinFactory, BrandMembershipFactory, SellerFactory, SellerMembershipFactory, UserFactory, marketplace,
)

from .conftest import codes, hold

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(seller):
    user = UserFactory(username="partner")
    SellerMembershipFactory(user=user, seller=seller)
    return user


@pytest.fixture
def catalog(brand):
    return [AsinFactory(brand=brand, asin=f"B0REQ0000{i}", marketplaces=["US", "DE"]) for i in range(2)]


@pytest.fixture
def pending(partner, brand, seller, catalog):
    return services.request_create(actor=Actor.for_user(partner), brand=brand, seller=seller,
                                   asins=[a.asin for a in catalog], marketplaces=["US"], message="we stock 500 units")


def test_partner_requests_authorization(partner, brand, seller, catalog):
    # when
    req = services.request_create(actor=Actor.for_user(partner), brand=brand, seller=seller,
                                  asins=["b0req00000", "B0REQ00001"], marketplaces=["us", "gb"], message="hello")
    # then
    req.refresh_from_db()
    assert (req.status, req.asins, req.marketplaces, req.requested_by) == (
        RequestStatus.PENDING, ["B0REQ00000", "B0REQ00001"], ["US", "UK"], partner)
    event = AuditEvent.objects.get(action="request.created")
    assert (event.actor, event.object_id, event.brand_id) == ("partner", str(req.pk), brand.pk)


def test_request_without_marketplace_asks_for_the_home_marketplace(partner, brand, catalog):
    # given
    seller = SellerFactory(home_marketplace=marketplace("DE"), participates_in=["DE"])
    SellerMembershipFactory(user=partner, seller=seller)
    # when
    req = services.request_create(actor=Actor.for_user(partner), brand=brand, seller=seller,
                                  asins=[catalog[0].asin], marketplaces=None)
    # then
    assert req.marketplaces == ["DE"]


def test_stranger_cannot_request_for_a_seller(brand, seller, catalog):
    # given a user linked to another seller
    stranger = UserFactory(username="stranger")
    SellerMembershipFactory(user=stranger)
    # when
    with pytest.raises(NotAllowed):
        services.request_create(actor=Actor.for_user(stranger), brand=brand, seller=seller,
                                asins=[catalog[0].asin], marketplaces=["US"])
    # then
    assert not AuthorizationRequest.objects.exists()
    assert not AuditEvent.objects.exists()


def test_request_with_a_malformed_asin(partner, brand, seller):
    # when
    with pytest.raises(InvalidInput) as excinfo:
        services.request_create(actor=Actor.for_user(partner), brand=brand, seller=seller,
                                asins=["NOT-AN-ASIN"], marketplaces=["US"])
    # then
    [item] = excinfo.value.errors
    assert (item.code, item.field, item.asin) == ("INVALID_ASIN", "asins", "NOT-AN-ASIN")
    assert not AuthorizationRequest.objects.exists()


def test_request_with_an_unknown_marketplace(partner, brand, seller, catalog):
    # when
    with pytest.raises(InvalidInput) as excinfo:
        services.request_create(actor=Actor.for_user(partner), brand=brand, seller=seller,
                                asins=[catalog[0].asin], marketplaces=["ZZ"])
    # then
    [item] = excinfo.value.errors
    assert (item.code, item.field, item.marketplace) == ("INVALID_MARKETPLACE", "marketplaces", "ZZ")


def test_approving_a_request_grants_it(actor, owner, pending, seller, catalog):
    # when
    req, created = services.request_approve(actor=actor, request=pending, reason="welcome aboard")
    # then
    req.refresh_from_db()
    assert (req.status, req.decided_by, req.decision_reason) == (RequestStatus.APPROVED, owner, "welcome aboard")
    assert sorted(g.asin.asin for g in created) == [a.asin for a in catalog]
    assert set(Grant.objects.values_list("request", "status", "marketplace", "seller")) == {
        (req.pk, GrantStatus.ACTIVE, "US", seller.pk)}
    actions = sorted(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["grant.created", "grant.created", "request.approved", "request.created"]


def test_approving_a_request_that_breaks_rules(actor, pending, seller, brand, catalog):
    # given the seller's health fell, its account was deactivated, and the brand's registry lapsed
    Seller.objects.filter(pk=seller.pk).update(health_score=70, account_status="DEACTIVATED")
    brand.registry_status = "INACTIVE"
    brand.save()
    events_before = AuditEvent.objects.count()
    # when
    with pytest.raises(RuleViolation) as excinfo:
        services.request_approve(actor=actor, request=pending)
    # then all three are listed, and nothing changed
    assert excinfo.value.http_status == 409
    assert codes(excinfo.value.errors) == {"SELLER_HEALTH_BELOW_MIN", "SELLER_ACCOUNT_RESTRICTED",
                                           "BRAND_REGISTRY_INACTIVE"}
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING
    assert not Grant.objects.exists()
    assert AuditEvent.objects.count() == events_before


def test_approving_a_request_for_a_full_asin(actor, pending, catalog):
    # given
    hold(catalog[1], [SellerFactory() for _ in range(10)])
    # when
    with pytest.raises(RuleViolation) as excinfo:
        services.request_approve(actor=actor, request=pending)
    # then
    [failure] = excinfo.value.errors
    assert (failure.code, failure.asin) == ("ASIN_SELLER_LIMIT", catalog[1].asin)
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING
    assert Grant.objects.filter(request=pending).count() == 0


def test_approving_twice(actor, pending):
    # given
    services.request_approve(actor=actor, request=pending)
    # when
    with pytest.raises(InvalidTransition) as excinfo:
        services.request_approve(actor=actor, request=pending)
    # then
    assert excinfo.value.code == "INVALID_TRANSITION"
    assert Grant.objects.count() == 2


def test_rejecting_needs_a_reason(actor, pending):
    # when
    with pytest.raises(InvalidInput) as excinfo:
        services.request_reject(actor=actor, request=pending, reason=" ")
    # then
    assert (excinfo.value.code, excinfo.value.errors[0].field) == ("REQUIRED", "reason")
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING


def test_rejecting_a_request(actor, owner, pending):
    # when
    services.request_reject(actor=actor, request=pending, reason="not an authorized distributor")
    # then
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by, pending.decision_reason) == (
        RequestStatus.REJECTED, owner, "not an authorized distributor")
    assert AuditEvent.objects.get(action="request.rejected").reason == "not an authorized distributor"
    assert not Grant.objects.exists()


def test_a_rejected_request_cannot_be_approved(actor, pending):
    # given
    services.request_reject(actor=actor, request=pending, reason="no")
    # when / then
    with pytest.raises(InvalidTransition):
        services.request_approve(actor=actor, request=pending)
    assert not Grant.objects.exists()


def test_partner_cannot_approve_its_own_request(partner, pending):
    # when / then: the brand is invisible to a partner who is not its member
    with pytest.raises(NotFound):
        services.request_approve(actor=Actor.for_user(partner), request=pending)
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING


def test_viewer_cannot_decide_a_request(brand, pending):
    # given
    viewer = UserFactory(username="viewer")
    BrandMembershipFactory(brand=brand, user=viewer, role=Role.VIEWER)
    # when / then
    with pytest.raises(NotAllowed):
        services.request_reject(actor=Actor.for_user(viewer), request=pending, reason="no")
    with pytest.raises(NotAllowed):
        services.request_approve(actor=Actor.for_user(viewer), request=pending)
