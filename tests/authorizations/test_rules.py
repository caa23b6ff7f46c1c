"""The rules of DOMAIN.md as a brand owner meets them when granting: each refusal code, the
(ASIN, marketplace) it names, and the near miss that is granted."""
from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from authorizations import services
from authorizations.models import Grant, GrantStatus
from brands.models import AsinMarketplace, PresenceStatus, RegistryStatus
from sellers.models import AccountStatus, Marketplace, SellerConnection
from tests.factories import AsinFactory, BrandFactory, SellerFactory, marketplace

from .conftest import codes, failures_of, hold, only

pytestmark = pytest.mark.django_db


def grant(actor, brand, seller, asins, marketplaces=None, **kwargs):
    return services.grants_create(actor=actor, brand=brand, seller=seller, asins=asins,
                                  marketplaces=marketplaces, **kwargs)


# -- brand ----------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [RegistryStatus.PENDING, RegistryStatus.SUSPENDED, RegistryStatus.INACTIVE])
def test_brand_not_active_in_registry_cannot_grant(actor, brand, seller, asin, status):
    # given
    brand.registry_status = status
    brand.save()
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
    # then
    [failure] = only(errors, "BRAND_REGISTRY_INACTIVE")
    assert (failure.asin, failure.marketplace) == (None, None)  # the whole brand
    assert status in failure.detail
    assert not Grant.objects.exists()


def test_active_brand_grants(actor, brand, seller, asin):
    # given an ACTIVE brand (the default)
    # when
    result = grant(actor, brand, seller, [asin.asin], ["US"])
    # then
    [created] = result.created
    assert created.status == GrantStatus.ACTIVE
    assert (created.asin.asin, created.marketplace_id) == (asin.asin, "US")


# -- ASIN -----------------------------------------------------------------------------------

def test_asin_of_another_brand_is_unknown(actor, brand, seller):
    # given an ASIN in another brand's catalog only
    AsinFactory(brand=BrandFactory(), asin="B0OTHER001")
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=["B0OTHER001"], marketplaces=["US"])
    # then
    [failure] = errors
    assert (failure.code, failure.asin, failure.marketplace) == ("ASIN_UNKNOWN", "B0OTHER001", None)


def test_asin_in_the_brands_catalog_is_known(actor, brand, seller):
    # given
    AsinFactory(brand=brand, asin="B0OWN00001")
    # when
    result = grant(actor, brand, seller, ["b0own00001"], ["US"])  # codes are upper-cased
    # then
    assert [g.asin.asin for g in result.created] == ["B0OWN00001"]


def test_asin_without_gcid_is_not_brand_registered(actor, brand, seller):
    # given
    AsinFactory(brand=brand, asin="B0NOGCID01", gcid=None)
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=["B0NOGCID01"], marketplaces=["US"])
    # then
    [failure] = errors
    assert (failure.code, failure.asin, failure.marketplace) == ("ASIN_NOT_BRAND_REGISTERED", "B0NOGCID01", None)


def test_asin_with_gcid_is_brand_registered(actor, brand, seller):
    # given
    AsinFactory(brand=brand, asin="B0GCID0001", gcid="ABCDEF0123456789")
    # when
    result = grant(actor, brand, seller, ["B0GCID0001"], ["US"])
    # then
    assert len(result.created) == 1


@pytest.mark.parametrize(("presence", "words"), [
    (PresenceStatus.UNVERIFIED, "not yet verified"),
    (PresenceStatus.NOT_FOUND, "does not show"),
    (PresenceStatus.BRAND_MISMATCH, "under brand “Knockoff Co”"),
    (None, "not listed for marketplace DE"),
])
def test_asin_not_shown_in_marketplace(actor, brand, presence, words):
    # given an ASIN verified in US; its DE presence is the parameter
    seller = SellerFactory(participates_in=["US", "DE"])
    asin = AsinFactory(brand=brand, asin="B0PRESENCE", marketplaces=["US"])
    if presence is not None:
        AsinMarketplace.objects.create(asin=asin, marketplace=marketplace("DE"), status=presence,
                                       catalog_brand="Knockoff Co" if presence == PresenceStatus.BRAND_MISMATCH else "")
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=["B0PRESENCE"], marketplaces=["US", "DE"])
    # then only DE fails, and the words say why
    [failure] = errors
    assert (failure.code, failure.asin, failure.marketplace) == ("ASIN_NOT_IN_MARKETPLACE", "B0PRESENCE", "DE")
    assert words in failure.detail


def test_asin_verified_in_marketplace_is_granted_there(actor, brand):
    # given
    seller = SellerFactory(participates_in=["US", "DE"])
    AsinFactory(brand=brand, asin="B0VERIFIED", marketplaces=["DE"])
    # when
    result = grant(actor, brand, seller, ["B0VERIFIED"], ["DE"])
    # then
    assert [g.marketplace_id for g in result.created] == ["DE"]


@pytest.mark.parametrize("category", ["Books", "music", " Video ", "Software"])
def test_copyright_media_category_is_excluded(actor, brand, seller, category):
    # given
    AsinFactory(brand=brand, asin="B0BOOK0001", category=category)
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=["B0BOOK0001"], marketplaces=["US"])
    # then
    [failure] = errors
    assert (failure.code, failure.asin, failure.marketplace) == ("CATEGORY_EXCLUDED", "B0BOOK0001", None)


def test_category_merely_mentioning_books_is_open(actor, brand, seller):
    # given
    AsinFactory(brand=brand, asin="B0BOOKEND1", category="Bookends & Shelving")
    # when
    result = grant(actor, brand, seller, ["B0BOOKEND1"], ["US"])
    # then
    assert len(result.created) == 1


# -- marketplace ----------------------------------------------------------------------------

def test_unsupported_marketplace(actor, brand):
    # given a seller and ASIN present in Brazil, which is known but not supported
    seller = SellerFactory(participates_in=["US", "BR"])
    AsinFactory(brand=brand, asin="B0BRAZIL01", marketplaces=["US", "BR"])
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=["B0BRAZIL01"], marketplaces=["BR"])
    # then
    [failure] = errors
    assert (failure.code, failure.asin, failure.marketplace) == ("MARKETPLACE_UNSUPPORTED", None, "BR")


def test_marketplace_support_is_data(actor, brand):
    # given Brazil switched on without a deploy
    Marketplace.objects.filter(code="BR").update(supported=True)
    seller = SellerFactory(participates_in=["US", "BR"])
    AsinFactory(brand=brand, asin="B0BRAZIL01", marketplaces=["US", "BR"])
    # when
    result = grant(actor, brand, seller, ["B0BRAZIL01"], ["BR"])
    # then
    assert [g.marketplace_id for g in result.created] == ["BR"]


def test_marketplace_outside_request_scope(actor, brand):
    # given a request that asked for US only
    seller = SellerFactory(participates_in=["US", "DE"])
    AsinFactory(brand=brand, asin="B0SCOPE001", marketplaces=["US", "DE"])
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=["B0SCOPE001"], marketplaces=["US", "DE"],
                         scope=["US"])
    # then
    [failure] = errors
    assert (failure.code, failure.asin, failure.marketplace) == ("MARKETPLACE_NOT_IN_SCOPE", None, "DE")


def test_marketplace_inside_request_scope(actor, brand):
    # given
    seller = SellerFactory(participates_in=["US", "DE"])
    AsinFactory(brand=brand, asin="B0SCOPE001", marketplaces=["US", "DE"])
    # when
    result = grant(actor, brand, seller, ["B0SCOPE001"], ["US", "DE"], scope=["DE", "US"])
    # then
    assert sorted(g.marketplace_id for g in result.created) == ["DE", "US"]


def test_no_marketplace_means_home_marketplace_only(actor, brand):
    # given a seller at home in DE who also sells in US, and an ASIN verified in both
    seller = SellerFactory(home_marketplace=marketplace("DE"), participates_in=["DE", "US"])
    AsinFactory(brand=brand, asin="B0HOME0001", marketplaces=["US", "DE"])
    # when
    result = grant(actor, brand, seller, ["B0HOME0001"])
    # then
    assert [g.marketplace_id for g in result.created] == ["DE"]
    assert not Grant.objects.filter(marketplace_id="US").exists()


def test_no_marketplace_and_no_home_marketplace(actor, brand, asin):
    # given
    seller = SellerFactory(home_marketplace=None, participates_in=["US"])
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin])
    # then
    [failure] = only(errors, "MARKETPLACE_NOT_IN_SCOPE")
    assert failure.marketplace is None


# -- seller ---------------------------------------------------------------------------------

def test_seller_not_connected(actor, brand, asin):
    # given
    seller = SellerFactory(connected=False)
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
    # then
    [failure] = errors
    assert (failure.code, failure.asin, failure.marketplace, failure.seller_id) == (
        "SELLER_NOT_CONNECTED", None, None, seller.seller_id)


def test_seller_whose_connection_was_revoked_is_not_connected(actor, brand, seller, asin):
    # given
    SellerConnection.objects.filter(seller=seller).update(revoked_at=timezone.now())
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
    # then
    assert codes(errors) == {"SELLER_NOT_CONNECTED"}


def test_seller_with_a_live_connection_is_connected(actor, brand, asin):
    # given a seller who disconnected and connected again
    seller = SellerFactory(connected=False)
    SellerConnection.objects.create(seller=seller, refresh_token_encrypted="gAAAA-encrypted",
                                    connected_at=timezone.now())
    # when
    result = grant(actor, brand, seller, [asin.asin], ["US"])
    # then
    assert len(result.created) == 1


def test_seller_whose_participation_ended(actor, brand, asin):
    # given the last sync showed the seller no longer participating in US
    seller = SellerFactory()
    seller.participations.update(is_participating=False)
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
    # then
    assert [(e.code, e.marketplace) for e in errors] == [("SELLER_NOT_PARTICIPATING", "US")]


def test_seller_not_participating_in_marketplace(actor, brand):
    # given a US-only seller and an ASIN present in US and DE
    seller = SellerFactory(participates_in=["US"])
    AsinFactory(brand=brand, asin="B0PART0001", marketplaces=["US", "DE"])
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=["B0PART0001"], marketplaces=["US", "DE"])
    # then
    [failure] = errors
    assert (failure.code, failure.asin, failure.marketplace) == ("SELLER_NOT_PARTICIPATING", None, "DE")


def test_seller_participating_in_marketplace(actor, brand):
    # given
    seller = SellerFactory(participates_in=["US", "DE"])
    AsinFactory(brand=brand, asin="B0PART0001", marketplaces=["US", "DE"])
    # when
    result = grant(actor, brand, seller, ["B0PART0001"], ["DE"])
    # then
    assert [g.marketplace_id for g in result.created] == ["DE"]


@pytest.mark.parametrize(("score", "granted"), [(90, True), (89, False), (100, True), (0, False), (None, False)])
def test_health_score_minimum(actor, brand, asin, score, granted):
    # given
    seller = SellerFactory(health_score=score)
    # when / then
    if granted:
        assert len(grant(actor, brand, seller, [asin.asin], ["US"]).created) == 1
    else:
        [failure] = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
        assert (failure.code, failure.asin, failure.marketplace, failure.seller_id) == (
            "SELLER_HEALTH_BELOW_MIN", None, None, seller.seller_id)


@pytest.mark.parametrize(("days_ago", "granted"), [(6, True), (8, False)])
def test_health_read_recently(actor, brand, asin, days_ago, granted):
    # given
    seller = SellerFactory(health_checked_at=timezone.now() - dt.timedelta(days=days_ago))
    # when / then
    if granted:
        assert len(grant(actor, brand, seller, [asin.asin], ["US"]).created) == 1
    else:
        [failure] = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
        assert (failure.code, failure.asin, failure.marketplace) == ("SELLER_HEALTH_STALE", None, None)


def test_health_never_read_is_stale(actor, brand, asin):
    # given
    seller = SellerFactory(health_checked_at=None)
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
    # then
    [failure] = errors
    assert failure.code == "SELLER_HEALTH_STALE"
    assert "never been read" in failure.detail


@pytest.mark.parametrize(("complaints", "granted"), [(0, True), (1, False)])
def test_infringement_complaints(actor, brand, asin, complaints, granted):
    # given
    seller = SellerFactory(infringement_count=complaints)
    # when / then
    if granted:
        assert len(grant(actor, brand, seller, [asin.asin], ["US"]).created) == 1
    else:
        [failure] = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
        assert (failure.code, failure.asin, failure.marketplace) == ("SELLER_HAS_INFRINGEMENTS", None, None)


@pytest.mark.parametrize(("status", "granted"), [
    (AccountStatus.NORMAL, True), (AccountStatus.AT_RISK, True), (AccountStatus.DEACTIVATED, False),
])
def test_account_status(actor, brand, asin, status, granted):
    # given
    seller = SellerFactory(account_status=status)
    # when / then
    if granted:
        assert len(grant(actor, brand, seller, [asin.asin], ["US"]).created) == 1
    else:
        [failure] = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
        assert (failure.code, failure.asin, failure.marketplace) == ("SELLER_ACCOUNT_RESTRICTED", None, None)


# -- limits ---------------------------------------------------------------------------------

def _hold_brand(brand, count, *, test_accounts=0):
    """``count`` distinct sellers (plus test accounts) each holding one ASIN of the brand."""
    holders = [SellerFactory() for _ in range(count)] + [SellerFactory(is_test_account=True) for _ in range(test_accounts)]
    for holder in holders:
        hold(AsinFactory(brand=brand), [holder])
    return holders


@override_settings(MAX_SELLERS_PER_BRAND=3)
def test_last_seller_slot_of_brand(actor, brand, seller, asin):
    # given 2 of 3 seller slots used
    _hold_brand(brand, 2)
    # when
    result = grant(actor, brand, seller, [asin.asin], ["US"])
    # then
    assert len(result.created) == 1


@override_settings(MAX_SELLERS_PER_BRAND=3)
def test_brand_seller_limit(actor, brand, seller, asin):
    # given 3 of 3 seller slots used
    _hold_brand(brand, 3)
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
    # then
    [failure] = errors
    assert (failure.code, failure.asin, failure.marketplace) == ("BRAND_SELLER_LIMIT", None, None)
    assert "3 of 3" in failure.detail


@override_settings(MAX_SELLERS_PER_BRAND=3)
def test_seller_already_on_brand_takes_no_new_slot(actor, brand, asin):
    # given the brand is full, and one of its sellers wants another ASIN
    holders = _hold_brand(brand, 3)
    # when
    result = grant(actor, brand, holders[0], [asin.asin], ["US"])
    # then
    assert len(result.created) == 1


@override_settings(MAX_SELLERS_PER_BRAND=3)
def test_test_accounts_do_not_count_toward_brand_limit(actor, brand, seller, asin):
    # given 2 real sellers and 5 test accounts hold grants on the brand
    _hold_brand(brand, 2, test_accounts=5)
    # when the third real seller is granted
    result = grant(actor, brand, seller, [asin.asin], ["US"])
    # then
    assert len(result.created) == 1


@override_settings(MAX_SELLERS_PER_BRAND=3)
def test_test_account_can_be_granted_on_a_full_brand(actor, brand, asin):
    # given
    _hold_brand(brand, 3)
    tester = SellerFactory(is_test_account=True)
    # when
    result = grant(actor, brand, tester, [asin.asin], ["US"])
    # then
    assert len(result.created) == 1


def test_brand_limit_at_the_real_default_of_50(actor, brand, asin):
    # given 49 sellers hold the brand's ASIN (the default limit is 50)
    hold(asin, [SellerFactory() for _ in range(49)])
    fiftieth, fifty_first = SellerFactory(), SellerFactory()
    # when
    result = grant(actor, brand, fiftieth, [AsinFactory(brand=brand).asin], ["US"])
    errors = failures_of(actor=actor, brand=brand, seller=fifty_first, asins=[AsinFactory(brand=brand).asin],
                         marketplaces=["US"])
    # then
    assert len(result.created) == 1
    assert codes(errors) == {"BRAND_SELLER_LIMIT"}
    assert "50 of 50" in errors[0].detail


def test_tenth_seller_on_an_asin(actor, brand, seller, asin):
    # given
    hold(asin, [SellerFactory() for _ in range(9)])
    # when
    result = grant(actor, brand, seller, [asin.asin], ["US"])
    # then
    assert len(result.created) == 1


def test_eleventh_seller_on_an_asin(actor, brand, seller, asin):
    # given
    hold(asin, [SellerFactory() for _ in range(10)])
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"])
    # then
    [failure] = errors
    assert (failure.code, failure.asin, failure.marketplace) == ("ASIN_SELLER_LIMIT", asin.asin, None)
    assert "10 of 10" in failure.detail


def test_asin_limit_counts_sellers_across_marketplaces(actor, brand):
    # given 5 sellers in US and 5 in DE hold the ASIN
    asin = AsinFactory(brand=brand, asin="B0ACROSS01", marketplaces=["US", "DE", "UK"])
    hold(asin, [SellerFactory() for _ in range(5)], marketplace="US")
    hold(asin, [SellerFactory(participates_in=["DE"]) for _ in range(5)], marketplace="DE")
    newcomer = SellerFactory(home_marketplace=marketplace("UK"))
    # when an 11th seller asks for UK
    errors = failures_of(actor=actor, brand=brand, seller=newcomer, asins=[asin.asin], marketplaces=["UK"])
    # then
    assert codes(errors) == {"ASIN_SELLER_LIMIT"}


def test_seller_on_full_asin_may_add_a_marketplace(actor, brand):
    # given 10 sellers hold the ASIN, one of them in US only
    asin = AsinFactory(brand=brand, asin="B0FULL0001", marketplaces=["US", "DE"])
    holders = [SellerFactory(participates_in=["US", "DE"]) for _ in range(10)]
    hold(asin, holders)
    # when that seller is granted DE as well
    result = grant(actor, brand, holders[0], [asin.asin], ["DE"])
    # then
    assert [g.marketplace_id for g in result.created] == ["DE"]


# -- term and duplicates --------------------------------------------------------------------

@pytest.mark.parametrize(("from_days", "until_days"), [
    (None, -1),  # ended yesterday
    (10, 5),     # ends (in 5 days) before it starts (in 10)
    (3, 3),      # ends the moment it starts
])
def test_invalid_term(actor, brand, seller, asin, from_days, until_days):
    # given
    now = timezone.now()
    valid_from = now + dt.timedelta(days=from_days) if from_days is not None else None
    valid_until = now + dt.timedelta(days=until_days)
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=[asin.asin], marketplaces=["US"],
                         valid_from=valid_from, valid_until=valid_until)
    # then
    [failure] = errors
    assert (failure.code, failure.asin, failure.marketplace) == ("INVALID_TERM", None, None)
    assert not Grant.objects.exists()


@pytest.mark.parametrize("until_days", [None, 1, 365])
def test_valid_term(actor, brand, seller, asin, until_days):
    # given
    valid_until = timezone.now() + dt.timedelta(days=until_days) if until_days else None
    # when
    result = grant(actor, brand, seller, [asin.asin], ["US"], valid_until=valid_until)
    # then
    assert result.created[0].valid_until == valid_until


def test_existing_live_grant_is_skipped_not_failed(actor, brand, seller):
    # given the seller holds ASIN 1 in US
    first = AsinFactory(brand=brand, asin="B0HELD0001")
    second = AsinFactory(brand=brand, asin="B0NEW00001")
    hold(first, [seller])
    # when both are granted
    result = grant(actor, brand, seller, [first.asin, second.asin], ["US"])
    # then
    assert [g.asin.asin for g in result.created] == ["B0NEW00001"]
    [skipped] = result.skipped
    assert (skipped.code, skipped.asin, skipped.marketplace) == ("ALREADY_GRANTED", "B0HELD0001", "US")
    assert result.failures == []
    assert Grant.objects.filter(seller=seller, asin=first).count() == 1


def test_revoked_grant_does_not_block_a_new_one(actor, brand, seller, asin):
    # given
    hold(asin, [seller], status=GrantStatus.REVOKED)
    # when
    result = grant(actor, brand, seller, [asin.asin], ["US"])
    # then
    assert len(result.created) == 1
    assert result.skipped == []


# -- every failure, not the first -----------------------------------------------------------

def test_every_failing_rule_is_reported(actor, brand):
    # given a seller below the health minimum, an ASIN without GCID and in books, and DE unverified
    seller = SellerFactory(health_score=70, participates_in=["US", "DE"])
    AsinFactory(brand=brand, asin="B0MANY0001", gcid=None, category="Books", marketplaces=["US"])
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller, asins=["B0MANY0001"], marketplaces=["US", "DE"])
    # then
    assert codes(errors) == {"SELLER_HEALTH_BELOW_MIN", "ASIN_NOT_BRAND_REGISTERED", "CATEGORY_EXCLUDED",
                             "ASIN_NOT_IN_MARKETPLACE"}
    assert [(e.asin, e.marketplace) for e in only(errors, "ASIN_NOT_IN_MARKETPLACE")] == [("B0MANY0001", "DE")]


def test_every_failing_asin_and_marketplace_is_reported(actor, brand, seller):
    # given three ASINs failing for three different reasons
    AsinFactory(brand=brand, asin="B0GOOD0001")
    AsinFactory(brand=brand, asin="B0NOGCID01", gcid=None)
    AsinFactory(brand=brand, asin="B0BOOK0001", category="Books")
    AsinFactory(brand=brand, asin="B0UNSEEN01", marketplaces=[])
    # when
    errors = failures_of(actor=actor, brand=brand, seller=seller,
                         asins=["B0GOOD0001", "B0NOGCID01", "B0BOOK0001", "B0UNSEEN01", "B0NOSUCH01"],
                         marketplaces=["US"])
    # then
    assert sorted((e.code, e.asin, e.marketplace) for e in errors) == [
        ("ASIN_NOT_BRAND_REGISTERED", "B0NOGCID01", None),
        ("ASIN_NOT_IN_MARKETPLACE", "B0UNSEEN01", "US"),
        ("ASIN_UNKNOWN", "B0NOSUCH01", None),
        ("CATEGORY_EXCLUDED", "B0BOOK0001", None),
    ]
    assert not Grant.objects.exists()
