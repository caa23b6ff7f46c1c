"""A grant's life: transitions, slots held and freed, reinstating under the rules, the emergency
stop, and expiry."""
from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditEvent
from authorizations import selectors, services
from authorizations.models import Grant, GrantStatus
from config.errors import InvalidInput, InvalidTransition, RuleViolation
from sellers.models import Seller
from tests.factories import AsinFactory, BrandFactory, SellerFactory

from .conftest import codes, failures_of, hold, move_term_to_past

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_grant(actor, brand, seller, asin):
    [grant] = services.grants_create(actor=actor, brand=brand, seller=seller, asins=[asin.asin]).created
    return grant


def _status(grant: Grant) -> str:
    grant.refresh_from_db()
    return grant.status


# -- transitions ----------------------------------------------------------------------------

def test_suspend_then_reinstate(actor, active_grant, seller, asin):
    # when
    services.grant_suspend(actor=actor, grant=active_grant, reason="counterfeit report")
    suspended = selectors.check(seller_id=seller.seller_id, asin=asin.asin, marketplace="US")
    services.grant_reinstate(actor=actor, grant=active_grant, reason="cleared")
    # then
    assert not suspended.authorized and suspended.status == GrantStatus.SUSPENDED
    assert _status(active_grant) == GrantStatus.ACTIVE
    assert selectors.check(seller_id=seller.seller_id, asin=asin.asin, marketplace="US").authorized
    assert list(AuditEvent.objects.filter(object_id=str(active_grant.pk)).order_by("seq").values_list("action", flat=True)) == [
        "grant.created", "grant.suspended", "grant.reinstated"]


def test_revoke_is_immediate_and_recorded(actor, active_grant, seller, asin):
    # when
    services.grant_revoke(actor=actor, grant=active_grant, reason="contract ended")
    # then
    assert not selectors.check(seller_id=seller.seller_id, asin=asin.asin, marketplace="US").authorized
    active_grant.refresh_from_db()
    assert (active_grant.status, active_grant.status_reason) == (GrantStatus.REVOKED, "contract ended")
    event = AuditEvent.objects.get(action="grant.revoked")
    assert (event.actor, event.reason, event.before["status"], event.after["status"]) == (
        "owner", "contract ended", "ACTIVE", "REVOKED")


@pytest.mark.parametrize("transition", ["grant_revoke", "grant_suspend", "grant_reject"])
def test_taking_access_away_needs_a_reason(actor, active_grant, transition):
    # when
    with pytest.raises(InvalidInput) as excinfo:
        getattr(services, transition)(actor=actor, grant=active_grant, reason="  ")
    # then
    assert (excinfo.value.code, excinfo.value.errors[0].field) == ("REQUIRED", "reason")
    assert _status(active_grant) == GrantStatus.ACTIVE


@pytest.mark.parametrize(("start", "transition"), [
    (GrantStatus.ACTIVE, "grant_reinstate"),
    (GrantStatus.ACTIVE, "grant_approve"),
    (GrantStatus.ACTIVE, "grant_reject"),
    (GrantStatus.REVOKED, "grant_approve"),
    (GrantStatus.REVOKED, "grant_reinstate"),
    (GrantStatus.REVOKED, "grant_revoke"),
    (GrantStatus.REVOKED, "grant_suspend"),
    (GrantStatus.SUSPENDED, "grant_suspend"),
    (GrantStatus.SUSPENDED, "grant_approve"),
    (GrantStatus.EXPIRED, "grant_reinstate"),
    (GrantStatus.REJECTED, "grant_approve"),
    (GrantStatus.PENDING_APPROVAL, "grant_suspend"),
    (GrantStatus.PENDING_APPROVAL, "grant_reinstate"),
])
def test_invalid_transitions(actor, brand, seller, asin, start, transition):
    # given
    [grant] = hold(asin, [seller], status=start)
    events_before = AuditEvent.objects.count()
    # when
    with pytest.raises(InvalidTransition) as excinfo:
        getattr(services, transition)(actor=actor, grant=grant, reason="because")
    # then
    assert excinfo.value.code == "INVALID_TRANSITION"
    assert excinfo.value.http_status == 409
    assert _status(grant) == start
    assert AuditEvent.objects.count() == events_before


def test_pending_grant_can_be_revoked(actor, brand, seller, asin):
    # given
    [grant] = hold(asin, [seller], status=GrantStatus.PENDING_APPROVAL)
    # when
    services.grant_revoke(actor=actor, grant=grant, reason="withdrawn")
    # then
    assert _status(grant) == GrantStatus.REVOKED


def test_grant_past_its_term_cannot_be_suspended(actor, active_grant):
    # given
    move_term_to_past(active_grant)
    # when / then
    with pytest.raises(InvalidTransition):
        services.grant_suspend(actor=actor, grant=active_grant, reason="x")


# -- slots ----------------------------------------------------------------------------------

def test_suspended_grant_keeps_its_slot(actor, brand, seller, asin):
    # given 9 active holders and 1 suspended one
    hold(asin, [SellerFactory() for _ in range(9)])
    hold(asin, [SellerFactory()], status=GrantStatus.SUSPENDED)
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
    # then
    assert codes(errors) == {"ASIN_SELLER_LIMIT"}


def test_pending_grant_holds_a_slot(actor, brand, seller, asin):
    # given
    hold(asin, [SellerFactory() for _ in range(9)])
    hold(asin, [SellerFactory()], status=GrantStatus.PENDING_APPROVAL)
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
    # then
    assert codes(errors) == {"ASIN_SELLER_LIMIT"}


@pytest.mark.parametrize("freed", [GrantStatus.REVOKED, GrantStatus.EXPIRED, GrantStatus.REJECTED])
def test_ended_grants_free_their_slot(actor, brand, seller, asin, freed):
    # given 9 live holders and 1 whose grant ended
    hold(asin, [SellerFactory() for _ in range(9)])
    hold(asin, [SellerFactory()], status=freed)
    # when
    result = services.grants_create(actor=actor, brand=brand, seller=seller, asins=[asin.asin])
    # then
    assert len(result.created) == 1


def test_revoking_a_holder_frees_the_slot(actor, brand, seller, asin):
    # given a full ASIN
    grants = hold(asin, [SellerFactory() for _ in range(10)])
    failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
    # when
    services.grant_revoke(actor=actor, grant=grants[0], reason="replaced")
    # then
    assert len(services.grants_create(actor=actor, brand=brand, seller=seller, asins=[asin.asin]).created) == 1


def test_reinstate_on_a_full_asin_is_allowed(actor, brand, seller, asin):
    # given the seller's grant is suspended and the 9 other slots are taken
    [grant] = hold(asin, [seller], status=GrantStatus.SUSPENDED)
    hold(asin, [SellerFactory() for _ in range(9)])
    # when
    services.grant_reinstate(actor=actor, grant=grant)
    # then
    assert _status(grant) == GrantStatus.ACTIVE


# -- reinstate re-checks the rules ----------------------------------------------------------

def test_reinstate_rechecks_seller_health(actor, active_grant, seller):
    # given
    services.grant_suspend(actor=actor, grant=active_grant, reason="health sync")
    Seller.objects.filter(pk=seller.pk).update(health_score=80)
    # when
    with pytest.raises(RuleViolation) as excinfo:
        services.grant_reinstate(actor=actor, grant=active_grant)
    # then
    assert codes(excinfo.value.errors) == {"SELLER_HEALTH_BELOW_MIN"}
    assert _status(active_grant) == GrantStatus.SUSPENDED
    assert not AuditEvent.objects.filter(action="grant.reinstated").exists()


def test_reinstate_rechecks_the_brand(actor, brand, active_grant):
    # given
    services.grant_suspend(actor=actor, grant=active_grant, reason="registry review")
    brand.registry_status = "SUSPENDED"
    brand.save()
    # when
    with pytest.raises(RuleViolation) as excinfo:
        services.grant_reinstate(actor=actor, grant=active_grant)
    # then
    assert codes(excinfo.value.errors) == {"BRAND_REGISTRY_INACTIVE"}
    assert _status(active_grant) == GrantStatus.SUSPENDED


def test_approve_rechecks_the_rules(brand, seller, asin, manager, actor):
    # given a pending grant whose seller collected a complaint since
    brand.dual_control = True
    brand.save()
    [grant] = services.grants_create(actor=actor, brand=brand, seller=seller, asins=[asin.asin]).created
    Seller.objects.filter(pk=seller.pk).update(infringement_count=2)
    # when
    with pytest.raises(RuleViolation) as excinfo:
        services.grant_approve(actor=Actor.for_user(manager), grant=grant)
    # then
    assert codes(excinfo.value.errors) == {"SELLER_HAS_INFRINGEMENTS"}
    assert _status(grant) == GrantStatus.PENDING_APPROVAL


# -- the emergency stop ---------------------------------------------------------------------

def test_revoke_all_on_a_brand(actor, brand, seller, owner):
    # given the seller holds 3 ASINs (one suspended, one pending) here and one on another brand
    asins = [AsinFactory(brand=brand, marketplaces=["US"]) for _ in range(3)]
    here = hold(asins[0], [seller]) + hold(asins[1], [seller], status=GrantStatus.SUSPENDED) \
        + hold(asins[2], [seller], status=GrantStatus.PENDING_APPROVAL)
    [old] = hold(AsinFactory(brand=brand), [seller], status=GrantStatus.REVOKED)
    [elsewhere] = hold(AsinFactory(brand=BrandFactory()), [seller])
    other_seller = hold(asins[0], [SellerFactory()])[0]
    # when
    revoked = services.grants_revoke_all(actor=actor, brand=brand, seller=seller, reason="counterfeits found")
    # then
    assert revoked == 3
    assert {_status(g) for g in here} == {GrantStatus.REVOKED}
    assert _status(elsewhere) == GrantStatus.ACTIVE
    assert _status(other_seller) == GrantStatus.ACTIVE
    events = AuditEvent.objects.filter(action="grant.revoked")
    assert sorted(int(e.object_id) for e in events) == sorted(g.pk for g in here)
    assert {(e.actor, e.reason, e.seller_id) for e in events} == {("owner", "counterfeits found", seller.seller_id)}
    assert not AuditEvent.objects.filter(object_id=str(old.pk)).exists()


def test_revoke_all_needs_a_reason(actor, brand, seller, asin):
    # given
    [grant] = hold(asin, [seller])
    # when
    with pytest.raises(InvalidInput):
        services.grants_revoke_all(actor=actor, brand=brand, seller=seller, reason="")
    # then
    assert _status(grant) == GrantStatus.ACTIVE


def test_revoke_all_expires_rather_than_revokes_a_grant_past_its_term(actor, brand, seller, asin):
    # given one grant still live and one whose term already ended
    [live] = hold(asin, [seller])
    [ended] = hold(AsinFactory(brand=brand), [seller], valid_until=timezone.now() - dt.timedelta(days=1))
    # when
    revoked = services.grants_revoke_all(actor=actor, brand=brand, seller=seller, reason="stop")
    # then the count and the history tell what really happened to each
    assert revoked == 1
    assert _status(live) == GrantStatus.REVOKED
    assert _status(ended) == GrantStatus.EXPIRED
    assert AuditEvent.objects.filter(object_id=str(ended.pk)).get().action == "grant.expired"


# -- expiry ---------------------------------------------------------------------------------

def test_grant_past_its_term_is_not_authorized_before_the_task_runs(actor, active_grant, seller, asin):
    # given
    move_term_to_past(active_grant)
    # when
    result = selectors.check(seller_id=seller.seller_id, asin=asin.asin, marketplace="US")
    # then
    assert not result.authorized
    assert result.status == GrantStatus.EXPIRED
    assert _status(active_grant) == GrantStatus.ACTIVE  # the task has not run yet


def test_grant_past_its_term_frees_its_slot(actor, brand, seller, asin):
    # given 10 holders, one of whose term has ended (not yet marked EXPIRED)
    hold(asin, [SellerFactory() for _ in range(9)])
    hold(asin, [SellerFactory()], valid_until=timezone.now() - dt.timedelta(minutes=1))
    # when
    result = services.grants_create(actor=actor, brand=brand, seller=seller, asins=[asin.asin])
    # then
    assert len(result.created) == 1


@override_settings(MAX_SELLERS_PER_BRAND=3)
def test_grant_past_its_term_frees_its_brand_slot(actor, brand, seller, asin):
    # given 3 sellers on a brand limited to 3, one of whose term has ended
    hold(asin, [SellerFactory() for _ in range(2)])
    hold(AsinFactory(brand=brand), [SellerFactory()], valid_until=timezone.now() - dt.timedelta(minutes=1))
    # when
    result = services.grants_create(actor=actor, brand=brand, seller=seller, asins=[asin.asin])
    # then
    assert len(result.created) == 1


def test_seller_can_be_granted_again_after_term_ended(actor, brand, active_grant, seller, asin):
    # given
    move_term_to_past(active_grant)
    # when
    result = services.grants_create(actor=actor, brand=brand, seller=seller, asins=[asin.asin],
                                    valid_until=timezone.now() + dt.timedelta(days=365))
    # then
    [fresh] = result.created
    assert result.skipped == []
    assert _status(active_grant) == GrantStatus.EXPIRED
    assert _status(fresh) == GrantStatus.ACTIVE
    assert AuditEvent.objects.filter(object_id=str(active_grant.pk), action="grant.expired").count() == 1
    assert selectors.check(seller_id=seller.seller_id, asin=asin.asin, marketplace="US").authorized


def test_expire_due_writes_expired_and_is_idempotent(actor, brand, seller):
    # given two grants past their term, one still running, one open-ended
    asins = [AsinFactory(brand=brand) for _ in range(4)]
    now = timezone.now()
    past = hold(asins[0], [seller], valid_until=now - dt.timedelta(days=2)) \
        + hold(asins[1], [seller], status=GrantStatus.SUSPENDED, valid_until=now - dt.timedelta(hours=1))
    running = hold(asins[2], [seller], valid_until=now + dt.timedelta(days=2)) + hold(asins[3], [seller])
    task = Actor.task("authorizations.expire_due")
    # when
    first = services.grants_expire_due(actor=task)
    second = services.grants_expire_due(actor=task)
    # then
    assert (first, second) == (2, 0)
    assert {_status(g) for g in past} == {GrantStatus.EXPIRED}
    assert {_status(g) for g in running} == {GrantStatus.ACTIVE}
    events = AuditEvent.objects.filter(action="grant.expired")
    assert sorted(int(e.object_id) for e in events) == sorted(g.pk for g in past)
    assert {(e.actor, e.source) for e in events} == {("authorizations.expire_due", "worker")}


def test_expire_due_in_batches(actor, brand):
    # given 5 grants past their term
    asin = AsinFactory(brand=brand)
    hold(asin, [SellerFactory() for _ in range(5)], valid_until=timezone.now() - dt.timedelta(days=1))
    # when
    expired = services.grants_expire_due(actor=Actor.task("expire"), batch_size=2)
    # then
    assert expired == 5
    assert Grant.objects.filter(status=GrantStatus.EXPIRED).count() == 5
