"""The admin shows grants and requests for looking; changes go through the services."""
from __future__ import annotations

import pytest
from django.urls import reverse

from audit.context import Actor
from authorizations import services
from authorizations.models import AuthorizationRequest, Grant, GrantStatus
from tests.factories import SellerMembershipFactory, UserFactory

from .conftest import move_term_to_past

pytestmark = pytest.mark.django_db


@pytest.fixture
def revoked_grant(actor, brand, seller, asin):
    [grant] = services.grants_create(actor=actor, brand=brand, seller=seller, asins=[asin.asin]).created
    services.grant_revoke(actor=actor, grant=grant, reason="mistaken identity")
    return grant


def test_grant_list_filters_and_searches(admin_client, revoked_grant, seller):
    # when
    found = admin_client.get(reverse("admin:authorizations_grant_changelist"),
                             {"q": seller.seller_id, "status__exact": "REVOKED"})
    missed = admin_client.get(reverse("admin:authorizations_grant_changelist"), {"q": "ANOBODY000001"})
    # then
    assert found.status_code == 200
    assert seller.seller_id in found.content.decode()
    assert missed.status_code == 200
    assert seller.seller_id not in missed.content.decode()


def test_grant_page_shows_its_history(admin_client, revoked_grant):
    # when
    page = admin_client.get(reverse("admin:authorizations_grant_change", args=[revoked_grant.pk]))
    # then
    assert page.status_code == 200
    body = page.content.decode()
    assert "grant.revoked by owner" in body
    assert "mistaken identity" in body


def test_grant_page_shows_an_ended_term_as_expired(admin_client, actor, brand, seller, asin):
    # given
    [grant] = services.grants_create(actor=actor, brand=brand, seller=seller, asins=[asin.asin]).created
    move_term_to_past(grant)
    # when
    page = admin_client.get(reverse("admin:authorizations_grant_change", args=[grant.pk]))
    # then
    assert "EXPIRED" in page.content.decode()


def test_grants_cannot_be_added_changed_or_deleted_in_admin(admin_client, revoked_grant):
    # when
    add = admin_client.get(reverse("admin:authorizations_grant_add"))
    change = admin_client.post(reverse("admin:authorizations_grant_change", args=[revoked_grant.pk]),
                               {"status": "ACTIVE"})
    delete = admin_client.post(reverse("admin:authorizations_grant_delete", args=[revoked_grant.pk]), {"post": "yes"})
    # then
    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    revoked_grant.refresh_from_db()
    assert revoked_grant.status == GrantStatus.REVOKED


def test_request_pages(admin_client, brand, seller, asin):
    # given
    partner = UserFactory(username="partner")
    SellerMembershipFactory(user=partner, seller=seller)
    req = services.request_create(actor=Actor.for_user(partner), brand=brand, seller=seller, asins=[asin.asin],
                                  marketplaces=["US"], message="please")
    # when
    listing = admin_client.get(reverse("admin:authorizations_authorizationrequest_changelist"),
                               {"status__exact": "PENDING", "q": seller.seller_id})
    page = admin_client.get(reverse("admin:authorizations_authorizationrequest_change", args=[req.pk]))
    grants = admin_client.get(reverse("admin:authorizations_grant_changelist"), {"request__id__exact": req.pk})
    change = admin_client.post(reverse("admin:authorizations_authorizationrequest_change", args=[req.pk]),
                               {"status": "APPROVED"})
    # then
    assert listing.status_code == page.status_code == grants.status_code == 200
    assert "please" in page.content.decode()
    assert change.status_code == 403
    assert AuthorizationRequest.objects.get().status == "PENDING"
    assert not Grant.objects.exists()
