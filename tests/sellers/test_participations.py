"""seller_participations_apply: the marketplaces Amazon says the seller participates in."""
from __future__ import annotations

import pytest

from sellers.models import Seller
from sellers.services import seller_participations_apply
from tests.factories import SellerFactory

from .helpers import CA, DE, FR, UK, US, events

pytestmark = pytest.mark.django_db


def _codes(seller: Seller) -> set[str]:
    return set(seller.participations.filter(is_participating=True).values_list("marketplace_id", flat=True))


def test_first_answer_sets_participations_and_the_home_marketplace(worker) -> None:
    # given: a seller just connected, participations not yet read
    seller = SellerFactory(home_marketplace=None, participates_in=[])

    # when: Amazon answers Germany first, then France and the UK
    seller_participations_apply(actor=worker, seller=seller, marketplace_ids=[DE, FR, UK])

    # then
    seller.refresh_from_db()
    assert _codes(seller) == {"DE", "FR", "UK"}
    assert seller.home_marketplace_id == "DE"
    assert seller.last_synced_at is not None
    (event,) = events(action="seller.participations_updated")
    assert event.seller_id == seller.seller_id
    assert (event.before["marketplaces"], event.after["marketplaces"]) == ([], ["DE", "FR", "UK"])
    assert (event.before["home_marketplace"], event.after["home_marketplace"]) == (None, "DE")


def test_the_home_marketplace_is_kept_while_still_participating(worker) -> None:
    # given: the partner picked the US among US and CA
    seller = SellerFactory(participates_in=["US", "CA"])

    # when: Amazon now lists Canada first, and Germany too
    seller_participations_apply(actor=worker, seller=seller, marketplace_ids=[CA, DE, US])

    # then
    seller.refresh_from_db()
    assert _codes(seller) == {"US", "CA", "DE"}
    assert seller.home_marketplace_id == "US"


def test_the_home_marketplace_moves_to_the_first_when_no_longer_participating(worker) -> None:
    # given
    seller = SellerFactory(participates_in=["US", "CA"])

    # when: the seller left the US
    seller_participations_apply(actor=worker, seller=seller, marketplace_ids=[FR, CA])

    # then
    seller.refresh_from_db()
    assert _codes(seller) == {"FR", "CA"}
    assert seller.home_marketplace_id == "FR"


def test_unknown_marketplace_ids_are_ignored(worker) -> None:
    # given
    seller = SellerFactory(home_marketplace=None, participates_in=[])

    # when: a marketplace Amazon added that we do not know yet comes first
    seller_participations_apply(actor=worker, seller=seller, marketplace_ids=["A3NEWMARKET99", US, "", CA])

    # then
    seller.refresh_from_db()
    assert _codes(seller) == {"US", "CA"}
    assert seller.home_marketplace_id == "US"


def test_an_answer_given_as_a_generator_is_read_once(worker) -> None:
    # given: the sync hands over ids straight from Amazon's payload
    seller = SellerFactory(participates_in=["US"])
    payload = [{"marketplace": {"id": DE}}, {"marketplace": {"id": US}}]

    # when
    seller_participations_apply(actor=worker, seller=seller,
                                marketplace_ids=(p["marketplace"]["id"] for p in payload))

    # then: nothing is lost on the way
    seller.refresh_from_db()
    assert _codes(seller) == {"DE", "US"}
    assert seller.home_marketplace_id == "US"


def test_duplicate_ids_count_once(worker) -> None:
    # given
    seller = SellerFactory(home_marketplace=None, participates_in=[])

    # when
    seller_participations_apply(actor=worker, seller=seller, marketplace_ids=[US, US, CA])

    # then
    assert seller.participations.count() == 2


def test_an_unchanged_answer_records_no_event(worker) -> None:
    # given
    seller = SellerFactory(participates_in=["US", "CA"])

    # when: the same marketplaces, in another order
    seller_participations_apply(actor=worker, seller=seller, marketplace_ids=[CA, US])

    # then
    seller.refresh_from_db()
    assert seller.home_marketplace_id == "US"
    assert not events(action="seller.participations_updated")
    assert seller.last_synced_at is not None


def test_no_participation_left_clears_the_home_marketplace(worker) -> None:
    # given
    seller = SellerFactory(participates_in=["US"])

    # when
    seller_participations_apply(actor=worker, seller=seller, marketplace_ids=[])

    # then
    seller.refresh_from_db()
    assert _codes(seller) == set()
    assert seller.home_marketplace_id is None
    (event,) = events(action="seller.participations_updated")
    assert event.after["marketplaces"] == []


def test_a_marketplace_marked_not_participating_comes_back(worker) -> None:
    # given: the seller had paused the US
    seller = SellerFactory(participates_in=["US", "CA"])
    seller.participations.filter(marketplace_id="US").update(is_participating=False)

    # when
    seller_participations_apply(actor=worker, seller=seller, marketplace_ids=[US, CA])

    # then
    assert _codes(seller) == {"US", "CA"}
    (event,) = events(action="seller.participations_updated")
    assert (event.before["marketplaces"], event.after["marketplaces"]) == (["CA"], ["CA", "US"])


def test_a_seller_named_by_its_id_takes_amazons_store_name(worker) -> None:
    # given: a seller created by connecting it (named by its seller id), and one with a name
    unnamed = SellerFactory(seller_id="ANEWSELLER0001", name="ANEWSELLER0001", participates_in=["US"])
    named = SellerFactory(name="Our own name", participates_in=["US"])

    # when: Amazon's answer gives their store names
    seller_participations_apply(actor=worker, seller=unnamed, marketplace_ids=[US], store_name=" Gadget Bazaar Ltd ")
    seller_participations_apply(actor=worker, seller=named, marketplace_ids=[US], store_name="Gadget Bazaar Ltd")

    # then: only the unnamed one is renamed, and that is recorded
    unnamed.refresh_from_db()
    named.refresh_from_db()
    assert (unnamed.name, named.name) == ("Gadget Bazaar Ltd", "Our own name")
    (event,) = events(action="seller.participations_updated")
    assert (event.seller_id, event.before["name"], event.after["name"]) == (
        "ANEWSELLER0001", "ANEWSELLER0001", "Gadget Bazaar Ltd")
