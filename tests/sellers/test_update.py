"""seller_update: a partner picks the home marketplace; ops staff flag test accounts."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from audit.context import Actor
from authorizations.models import Grant
from config.errors import InvalidInput, NotAllowed, RuleViolation
from sellers.models import Seller
from sellers.services import seller_update
from tests.factories import AsinFactory, BrandFactory, SellerFactory, SellerMembershipFactory, UserFactory

from .helpers import events

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller(partner) -> Seller:
    seller = SellerFactory(participates_in=["US", "DE", "UK"])
    SellerMembershipFactory(user=partner, seller=seller)
    return seller


@pytest.fixture
def ops_actor(db) -> Actor:
    return Actor.for_user(UserFactory(username="ops", is_staff=True))


def test_a_partner_sets_the_home_marketplace_to_one_it_participates_in(partner_actor, seller) -> None:
    # given

    # when
    seller_update(actor=partner_actor, seller=seller, home_marketplace="DE")

    # then
    seller.refresh_from_db()
    assert seller.home_marketplace_id == "DE"
    (event,) = events(action="seller.updated")
    assert (event.before["home_marketplace"], event.after["home_marketplace"]) == ("US", "DE")
    assert event.actor == "partner"


@pytest.mark.parametrize("value", ["GB", "uk", " UK "])
def test_amazons_country_code_and_lower_case_are_understood(partner_actor, seller, value) -> None:
    # given

    # when
    seller_update(actor=partner_actor, seller=seller, home_marketplace=value)

    # then
    seller.refresh_from_db()
    assert seller.home_marketplace_id == "UK"


@pytest.mark.parametrize("value", ["FR", "XX", "", None, 7])
def test_a_marketplace_it_does_not_participate_in_is_refused(partner_actor, seller, value) -> None:
    # given

    # when
    with pytest.raises(InvalidInput) as excinfo:
        seller_update(actor=partner_actor, seller=seller, home_marketplace=value)

    # then
    (error,) = excinfo.value.errors
    assert error.code == "INVALID_MARKETPLACE"
    assert error.field == "home_marketplace"
    assert f"“{value}”" in error.detail
    seller.refresh_from_db()
    assert seller.home_marketplace_id == "US"
    assert not events(action="seller.updated")


def test_a_marketplace_the_seller_paused_is_refused(partner_actor, seller) -> None:
    # given
    seller.participations.filter(marketplace_id="DE").update(is_participating=False)

    # when
    with pytest.raises(InvalidInput) as excinfo:
        seller_update(actor=partner_actor, seller=seller, home_marketplace="DE")

    # then
    assert excinfo.value.code == "INVALID_MARKETPLACE"


def test_a_stranger_cannot_change_the_home_marketplace(seller) -> None:
    # given
    stranger = Actor.for_user(UserFactory(username="stranger"))

    # when
    with pytest.raises(NotAllowed):
        seller_update(actor=stranger, seller=seller, home_marketplace="DE")

    # then
    seller.refresh_from_db()
    assert seller.home_marketplace_id == "US"
    assert not events(action="seller.updated")


def test_ops_staff_cannot_pick_a_partners_home_marketplace(ops_actor, seller) -> None:
    # given

    # when / then
    with pytest.raises(NotAllowed):
        seller_update(actor=ops_actor, seller=seller, home_marketplace="DE")


def test_ops_staff_flag_a_test_account(ops_actor, seller) -> None:
    # given

    # when
    seller_update(actor=ops_actor, seller=seller, is_test_account=True)

    # then
    seller.refresh_from_db()
    assert seller.is_test_account is True
    (event,) = events(action="seller.updated")
    assert (event.before["is_test_account"], event.after["is_test_account"]) == (False, True)
    assert event.actor == "ops"


def test_members_of_the_ops_group_flag_a_test_account_too(seller) -> None:
    # given
    user = UserFactory(username="opsgroup")
    user.groups.add(Group.objects.create(name="ops"))

    # when
    seller_update(actor=Actor.for_user(user), seller=seller, is_test_account=True)

    # then
    seller.refresh_from_db()
    assert seller.is_test_account is True


def test_a_partner_cannot_flag_its_own_seller_as_a_test_account(partner_actor, seller) -> None:
    # given

    # when
    with pytest.raises(NotAllowed) as excinfo:
        seller_update(actor=partner_actor, seller=seller, is_test_account=True)

    # then
    assert excinfo.value.errors[0].field == "is_test_account"
    seller.refresh_from_db()
    assert seller.is_test_account is False
    assert not events(action="seller.updated")


def test_a_refused_flag_leaves_the_home_marketplace_unchanged_too(partner_actor, seller) -> None:
    # given

    # when
    with pytest.raises(NotAllowed):
        seller_update(actor=partner_actor, seller=seller, home_marketplace="DE", is_test_account=True)

    # then
    seller.refresh_from_db()
    assert (seller.home_marketplace_id, seller.is_test_account) == ("US", False)


def test_setting_the_same_value_again_records_no_event(partner_actor, seller) -> None:
    # given

    # when
    seller_update(actor=partner_actor, seller=seller, home_marketplace="US")

    # then
    assert not events(action="seller.updated")


def test_a_test_account_cannot_become_real_on_a_brand_at_its_seller_limit(db, settings):
    # given a brand at its seller limit (2) and a test account holding a grant there
    settings.MAX_SELLERS_PER_BRAND = 2
    brand = BrandFactory()
    asin = AsinFactory(brand=brand)
    sellers = [SellerFactory() for _ in range(2)] + [SellerFactory(is_test_account=True)]
    now = timezone.now()
    for s in sellers:
        Grant.objects.create(brand=brand, seller=s, asin=asin, marketplace_id="US", status="ACTIVE",
                             valid_from=now, status_changed_at=now)
    ops = UserFactory(is_staff=True)
    # when ops try to mark it a real seller
    with pytest.raises(RuleViolation) as refused:
        seller_update(actor=Actor.for_user(ops, source="api"), seller=sellers[2], is_test_account=False)
    # then it is refused with the brand limit, and it stays a test account
    assert refused.value.code == "BRAND_SELLER_LIMIT"
    sellers[2].refresh_from_db()
    assert sellers[2].is_test_account is True
