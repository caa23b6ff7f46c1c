"""The ``fake_spapi_live`` fixture (tests/conftest.py) as a browser test uses it: the connect flow
over real HTTP, from a live server to the fake's consent page and back to the live server."""
from __future__ import annotations

import copy
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from rest_framework.authtoken.models import Token

from sellers.models import Seller
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from tests.factories import UserFactory

from .conftest import HEALTHY, INFRINGER, SCENARIO


@pytest.mark.django_db(transaction=True)
def test_the_consent_page_sends_the_browser_back_to_the_live_server_which_connects_the_seller(
        live_server, fake_spapi_live, marketplaces):
    # given: a user with an API token (a browser test logs in instead)
    user = UserFactory(username="newpartner")
    auth = {"Authorization": f"Token {Token.objects.create(user=user).key}"}

    # when: it starts connecting, and follows the consent page's redirect as a browser would
    started = httpx.post(f"{live_server.url}/api/v1/sellers/connect", headers=auth)
    answer = httpx.get(started.json()["consent_url"], headers={"Accept": "application/json"}, follow_redirects=True)

    # then: the live server connected the basic scenario's consenting seller and synced it from the fake
    assert str(answer.url).startswith(f"{live_server.url}/spapi/callback?")
    assert answer.status_code == 200, answer.text
    seller = Seller.objects.get(seller_id=HEALTHY)
    assert answer.json()["seller_id"] == HEALTHY and seller.memberships.filter(user=user).exists()
    first_sync = SyncRun.objects.get(seller=seller, kind=SyncKind.SELLER)
    assert first_sync.status == SyncStatus.SUCCESS, first_sync.error
    assert fake_spapi_live.stats()["createReport"]["served"] == 1


def _consenting_infringer() -> dict:
    scenario = copy.deepcopy(SCENARIO)
    scenario["consent"] = {"seller_id": INFRINGER}
    return scenario


@pytest.mark.parametrize("fake_spapi_live", [_consenting_infringer()], indirect=True)
def test_a_test_can_give_the_fake_its_own_world(fake_spapi_live, settings):
    # when: the consent page is asked as the app would send a browser there
    answer = httpx.get(settings.SPAPI_CONSENT_URL, params={
        "application_id": settings.SPAPI_APP_ID, "state": "s", "redirect_uri": "http://app.test/spapi/callback"})

    # then
    assert settings.SPAPI_ENDPOINT == fake_spapi_live.url
    assert parse_qs(urlsplit(answer.headers["location"]).query)["selling_partner_id"] == [INFRINGER]
