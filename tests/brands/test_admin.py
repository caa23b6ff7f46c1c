"""The brands admin: ops staff look brands and catalogs up; changes go through the services."""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import AsinFactory, UserFactory


@pytest.fixture
def admin_client_of_ops(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_brands_are_listed_searched_and_filtered(admin_client_of_ops, brand, owner):
    # when
    url = reverse("admin:brands_brand_changelist")
    found = admin_client_of_ops.get(url, {"q": "ACME-0001", "registry_status__exact": "PENDING"})
    missed = admin_client_of_ops.get(url, {"q": "nothing-like-it"})

    # then
    assert found.status_code == 200
    assert "Acme" in found.content.decode()
    assert "Acme" not in missed.content.decode()


def test_a_brand_page_shows_its_members_read_only(admin_client_of_ops, brand, owner):
    # when
    page = admin_client_of_ops.get(reverse("admin:brands_brand_change", args=[brand.pk]))

    # then
    assert page.status_code == 200
    assert "olivia" in page.content.decode()
    assert admin_client_of_ops.get(reverse("admin:brands_brand_add")).status_code == 403


def test_asins_are_listed_searched_and_filtered_by_marketplace(admin_client_of_ops, brand, marketplaces):
    # given
    asin = AsinFactory(brand=brand, asin="B0SEARCHME", title="Steel kettle", marketplaces=["US", "DE"])
    AsinFactory(brand=brand, asin="B0ELSEWHER", marketplaces=["JP"])
    url = reverse("admin:brands_asin_changelist")

    # when
    by_code = admin_client_of_ops.get(url, {"q": "b0searchme"})
    by_marketplace = admin_client_of_ops.get(url, {"presences__marketplace__code__exact": "DE"})
    page = admin_client_of_ops.get(reverse("admin:brands_asin_change", args=[asin.pk]))

    # then
    assert "B0SEARCHME" in by_code.content.decode() and "B0ELSEWHER" not in by_code.content.decode()
    assert "B0SEARCHME" in by_marketplace.content.decode() and "B0ELSEWHER" not in by_marketplace.content.decode()
    assert page.status_code == 200
    assert "Verified" in page.content.decode()
