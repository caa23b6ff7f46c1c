"""seller_connect / seller_disconnect: the SP-API authorization of a seller, encrypted at rest."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core import serializers
from django.test import override_settings

from audit.context import Actor
from audit.models import AuditEvent
from authorizations import rules
from config.errors import InvalidInput, NotAllowed
from sellers import crypto
from sellers.models import Seller, SellerConnection, SellerMembership
from sellers.selectors import refresh_token_of
from sellers.services import connection_tokens_rotate, seller_connect, seller_disconnect
from tests.factories import AsinFactory, BrandFactory, SellerFactory, SellerMembershipFactory, UserFactory

from .helpers import events

pytestmark = pytest.mark.django_db

TOKEN = "Atzr|IwEBIA-first-refresh-token-0123456789abcdefghijklmnopqrstuvwxyz"
NEW_TOKEN = "Atzr|IwEBIB-second-refresh-token-9876543210zyxwvutsrqponmlkjihgfedcba"


def _all_events_serialized() -> str:
    return serializers.serialize("json", AuditEvent.objects.all())


def test_connect_creates_the_seller_links_the_partner_and_encrypts_the_token(partner, partner_actor) -> None:
    # given: a seller the platform has never seen

    # when
    seller = seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER01", refresh_token=TOKEN,
                            name="New Seller GmbH")

    # then
    seller = Seller.objects.get(seller_id="A2NEWSELLER01")
    assert seller.name == "New Seller GmbH"
    assert SellerMembership.objects.filter(user=partner, seller=seller).exists()
    connection = SellerConnection.objects.get(seller=seller)
    assert connection.is_active
    assert connection.connected_by == partner
    stored = SellerConnection.objects.filter(pk=connection.pk).values_list("refresh_token_encrypted", flat=True).get()
    assert stored and TOKEN not in stored and "IwEBIA" not in stored
    assert crypto.decrypt(stored) == TOKEN


def test_connect_records_events_without_the_token(partner, partner_actor) -> None:
    # given

    # when
    seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER01", refresh_token=TOKEN)

    # then
    (connected,) = events(action="connection.created")
    assert connected.seller_id == "A2NEWSELLER01"
    assert connected.actor == "partner"
    assert connected.before is None
    assert connected.after["connected_by"] == "partner" and connected.after["revoked_at"] is None
    assert [e.action for e in events(seller_id="A2NEWSELLER01")] == [
        "seller.created", "membership.added", "connection.created"]
    (linked,) = events(action="membership.added")
    assert (linked.object_type, linked.after) == ("seller_membership", {"user": "partner"})
    serialized = _all_events_serialized()
    assert TOKEN not in serialized
    assert "IwEBIA" not in serialized
    assert SellerConnection.objects.get().refresh_token_encrypted not in serialized


def test_reconnect_replaces_the_token(partner, partner_actor) -> None:
    # given: a connected seller
    seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER01", refresh_token=TOKEN)

    # when
    seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER01", refresh_token=NEW_TOKEN)

    # then
    connection = SellerConnection.objects.get(seller__seller_id="A2NEWSELLER01")
    assert crypto.decrypt(connection.refresh_token_encrypted) == NEW_TOKEN
    assert Seller.objects.filter(seller_id="A2NEWSELLER01").count() == 1
    assert SellerMembership.objects.filter(seller__seller_id="A2NEWSELLER01").count() == 1
    assert len(events(action="seller.created")) == 1
    assert len(events(action="membership.added")) == 1
    first, second = events(action="connection.created")
    assert second.before["connected_at"] == first.after["connected_at"]
    serialized = _all_events_serialized()
    assert TOKEN not in serialized and NEW_TOKEN not in serialized


def test_reconnect_after_disconnect_makes_the_connection_active_again(partner, partner_actor) -> None:
    # given
    seller = seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER01", refresh_token=TOKEN)
    seller_disconnect(actor=partner_actor, seller=seller)

    # when
    seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER01", refresh_token=NEW_TOKEN)

    # then
    connection = SellerConnection.objects.get(seller=seller)
    assert connection.is_active and connection.revoked_at is None
    assert crypto.decrypt(connection.refresh_token_encrypted) == NEW_TOKEN


def test_a_second_partner_connecting_the_same_seller_is_linked_too(partner, partner_actor) -> None:
    # given
    seller = seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER01", refresh_token=TOKEN)
    colleague = UserFactory(username="colleague")

    # when
    seller_connect(actor=Actor.for_user(colleague), user=colleague, seller_id="A2NEWSELLER01", refresh_token=NEW_TOKEN)

    # then
    assert set(seller.memberships.values_list("user__username", flat=True)) == {"partner", "colleague"}
    assert SellerConnection.objects.get(seller=seller).connected_by == colleague
    assert [e.after["user"] for e in events(action="membership.added")] == ["partner", "colleague"]
    reconnected = events(action="connection.created")[-1]
    assert (reconnected.before["connected_by"], reconnected.after["connected_by"]) == ("partner", "colleague")


@pytest.mark.parametrize("bad_id", ["a2newseller01", "A2NEW", "A2NEW-SELLER01", "A" * 21, "A2NEWSELLER01\n<script>", ""])
def test_connect_refuses_a_malformed_seller_id_and_names_it(partner, partner_actor, bad_id) -> None:
    # given

    # when
    with pytest.raises(InvalidInput) as excinfo:
        seller_connect(actor=partner_actor, user=partner, seller_id=bad_id, refresh_token=TOKEN)

    # then
    (error,) = excinfo.value.errors
    assert error.code == "INVALID_SELLER_ID"
    assert error.field == "selling_partner_id"
    assert f"“{bad_id}”" in error.detail
    assert error.seller_id == bad_id
    assert not Seller.objects.exists()
    assert not AuditEvent.objects.exists()


def test_connect_without_a_token_stores_nothing(partner, partner_actor) -> None:
    # given

    # when
    with pytest.raises(InvalidInput) as excinfo:
        seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER01", refresh_token="")

    # then
    assert excinfo.value.code == "INVALID_TOKEN"
    assert not Seller.objects.exists()


def test_disconnect_clears_the_token_and_the_seller_is_no_longer_connected(partner, partner_actor) -> None:
    # given: a connected, healthy seller that could be granted a verified ASIN in the US
    seller = SellerFactory(connected=False)
    SellerMembershipFactory(user=partner, seller=seller)
    seller_connect(actor=partner_actor, user=partner, seller_id=seller.seller_id, refresh_token=TOKEN)
    brand = BrandFactory()
    asin = AsinFactory(brand=brand)
    verdict = rules.evaluate(brand=brand, seller=seller, asin_codes=[asin.asin], marketplace_codes=["US"])
    assert verdict.failed_codes() == set()

    # when
    seller_disconnect(actor=partner_actor, seller=seller)

    # then
    connection = SellerConnection.objects.get(seller=seller)
    assert connection.refresh_token_encrypted == ""
    assert connection.revoked_at is not None
    assert not connection.is_active
    verdict = rules.evaluate(brand=brand, seller=seller, asin_codes=[asin.asin], marketplace_codes=["US"])
    assert verdict.failed_codes() == {"SELLER_NOT_CONNECTED"}
    (revoked,) = events(action="connection.revoked")
    assert revoked.seller_id == seller.seller_id and revoked.actor == "partner"
    assert (revoked.before["revoked_at"], revoked.after["revoked_at"]) == (None, connection.revoked_at.isoformat())
    assert TOKEN not in _all_events_serialized()


def test_disconnecting_twice_records_one_event(partner, partner_actor) -> None:
    # given
    seller = seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER01", refresh_token=TOKEN)
    seller_disconnect(actor=partner_actor, seller=seller)

    # when
    seller_disconnect(actor=partner_actor, seller=seller)

    # then
    assert len(events(action="connection.revoked")) == 1


def test_a_stranger_cannot_disconnect_a_seller(partner, partner_actor) -> None:
    # given
    seller = seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER01", refresh_token=TOKEN)
    stranger = UserFactory(username="stranger")

    # when
    with pytest.raises(NotAllowed):
        seller_disconnect(actor=Actor.for_user(stranger), seller=seller)

    # then
    assert SellerConnection.objects.get(seller=seller).is_active
    assert not events(action="connection.revoked")


def test_the_token_is_read_back_for_calling_amazon_while_connected(partner, partner_actor) -> None:
    # given
    seller = seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER01", refresh_token=TOKEN)
    never_connected = SellerFactory(connected=False)

    # when
    token = refresh_token_of(seller)
    seller_disconnect(actor=partner_actor, seller=seller)

    # then
    assert token == TOKEN
    assert refresh_token_of(seller) is None
    assert refresh_token_of(never_connected) is None


def test_rotating_the_key_re_encrypts_every_stored_token(partner, partner_actor, worker) -> None:
    # given: two sellers connected under the old key, one disconnected
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old_key]):
        first = seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER01", refresh_token=TOKEN)
        second = seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER02", refresh_token=NEW_TOKEN)
        gone = seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER03", refresh_token=TOKEN)
        seller_disconnect(actor=partner_actor, seller=gone)

    # when: the new key goes first, the tokens are rotated in small batches, the old key is dropped
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, old_key]):
        rotated = connection_tokens_rotate(actor=worker, batch_size=1)

    # then
    assert rotated == 2
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        assert (refresh_token_of(first), refresh_token_of(second)) == (TOKEN, NEW_TOKEN)
    assert len(events(action="connection.key_rotated")) == 2
    assert TOKEN not in _all_events_serialized()


def test_rotation_stops_at_a_token_no_key_can_read(partner, partner_actor, worker) -> None:
    # given: a token encrypted under a key that is no longer configured
    seller = seller_connect(actor=partner_actor, user=partner, seller_id="A2NEWSELLER01", refresh_token=TOKEN)
    stored = SellerConnection.objects.get(seller=seller).refresh_token_encrypted

    # when
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]), \
            pytest.raises(crypto.DecryptionError):
        connection_tokens_rotate(actor=worker)

    # then
    assert SellerConnection.objects.get(seller=seller).refresh_token_encrypted == stored
    assert not events(action="connection.key_rotated")
