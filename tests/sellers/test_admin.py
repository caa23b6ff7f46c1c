"""The admin pages of sellers: marketplace support is data, sellers are read-mostly, and the
refresh token never shows."""
from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from sellers import crypto
from sellers.models import Marketplace, Seller, SellerConnection
from tests.factories import SellerFactory, SellerMembershipFactory, UserFactory

from .helpers import events

pytestmark = pytest.mark.django_db

TOKEN = "Atzr|IwEBIA-admin-page-token-0123456789"


@pytest.fixture
def ops_client(client):
    client.force_login(UserFactory(username="ops", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def connected_seller(db) -> Seller:
    seller = SellerFactory(seller_id="A3ADMINSELLER1", name="Admin Seller", participates_in=["US", "DE"], connected=False)
    SellerConnection.objects.create(seller=seller, refresh_token_encrypted=crypto.encrypt(TOKEN),
                                    connected_at=seller.created_at)
    SellerMembershipFactory(seller=seller, user=UserFactory(username="acme-partner"))
    return seller


def test_ops_switch_marketplace_support_from_the_list(ops_client) -> None:
    # given: Brazil is known but not supported; the list shows every marketplace on one page
    marketplaces = list(Marketplace.objects.order_by("code"))
    data = {"form-TOTAL_FORMS": str(len(marketplaces)), "form-INITIAL_FORMS": str(len(marketplaces)), "_save": "Save"}
    for i, m in enumerate(marketplaces):
        data[f"form-{i}-code"] = m.code
        if m.supported or m.code == "BR":
            data[f"form-{i}-supported"] = "on"

    # when
    response = ops_client.post(reverse("admin:sellers_marketplace_changelist"), data)

    # then
    assert response.status_code == 302
    assert Marketplace.objects.get(code="BR").supported is True
    assert Marketplace.objects.filter(supported=True).count() == 14
    (event,) = events(action="marketplace.updated")
    assert (event.object_id, event.before["supported"], event.after["supported"]) == ("BR", False, True)
    assert event.actor == "ops"


def test_ops_switch_marketplace_support_off_on_its_page(ops_client) -> None:
    # given
    de = Marketplace.objects.get(code="DE")
    data = {"marketplace_id": de.marketplace_id, "country_code": de.country_code, "region": de.region,
            "name": de.name, "currency": de.currency}  # "supported" unchecked

    # when
    response = ops_client.post(reverse("admin:sellers_marketplace_change", args=["DE"]), data)

    # then
    assert response.status_code == 302
    de.refresh_from_db()
    assert de.supported is False
    (event,) = events(action="marketplace.updated")
    assert (event.before["supported"], event.after["supported"]) == (True, False)


def test_marketplaces_cannot_be_deleted(ops_client) -> None:
    # given

    # when
    response = ops_client.get(reverse("admin:sellers_marketplace_delete", args=["US"]))

    # then
    assert response.status_code == 403


def test_seller_pages_show_facts_and_partners_without_the_token(ops_client, connected_seller) -> None:
    # given
    ciphertext = SellerConnection.objects.get(seller=connected_seller).refresh_token_encrypted

    # when
    listing = ops_client.get(reverse("admin:sellers_seller_changelist"))
    page = ops_client.get(reverse("admin:sellers_seller_change", args=[connected_seller.pk]))

    # then
    assert listing.status_code == page.status_code == 200
    for response in (listing, page):
        body = response.content.decode()
        assert "A3ADMINSELLER1" in body
        assert TOKEN not in body and ciphertext not in body
    body = page.content.decode()
    assert "acme-partner" in body  # the partners inline
    assert "Germany" in body  # the participations inline


def test_only_the_test_account_flag_is_editable_and_it_is_audited(ops_client, connected_seller) -> None:
    # given: the form also carries a forged health score
    data = {"is_test_account": "on", "health_score": "12",
            "participations-TOTAL_FORMS": "0", "participations-INITIAL_FORMS": "2",
            "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "1"}

    # when
    response = ops_client.post(reverse("admin:sellers_seller_change", args=[connected_seller.pk]), data)

    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    connected_seller.refresh_from_db()
    assert connected_seller.is_test_account is True
    assert connected_seller.health_score == 98
    (event,) = events(action="seller.updated")
    assert (event.before["is_test_account"], event.after["is_test_account"]) == (False, True)


def test_sellers_cannot_be_added_or_deleted_in_the_admin(ops_client, connected_seller) -> None:
    # given

    # when
    add = ops_client.get(reverse("admin:sellers_seller_add"))
    delete = ops_client.get(reverse("admin:sellers_seller_delete", args=[connected_seller.pk]))

    # then
    assert add.status_code == delete.status_code == 403


def test_connection_pages_never_show_the_token(ops_client, connected_seller) -> None:
    # given
    connection = SellerConnection.objects.get(seller=connected_seller)

    # when
    listing = ops_client.get(reverse("admin:sellers_sellerconnection_changelist"))
    page = ops_client.get(reverse("admin:sellers_sellerconnection_change", args=[connection.pk]))
    searched = ops_client.get(reverse("admin:sellers_sellerconnection_changelist"), {"q": "gAAAA"})

    # then
    assert listing.status_code == page.status_code == searched.status_code == 200
    for response in (listing, page, searched):
        body = response.content.decode()
        assert TOKEN not in body
        assert connection.refresh_token_encrypted not in body
        assert "refresh_token_encrypted" not in body
    assert "A3ADMINSELLER1" in listing.content.decode()
    assert "A3ADMINSELLER1" not in searched.content.decode()  # the token is not searchable either


def test_connection_admin_is_read_only_and_lists_no_token_field() -> None:
    # given
    connection_admin = admin.site._registry[SellerConnection]

    # when
    shown = {*connection_admin.list_display, *connection_admin.fields, *connection_admin.search_fields,
             *(f if isinstance(f, str) else f[0] for f in connection_admin.list_filter)}

    # then
    assert not any("refresh_token" in name for name in shown)
    assert not connection_admin.has_change_permission(request=None)
    assert not connection_admin.has_add_permission(request=None)
