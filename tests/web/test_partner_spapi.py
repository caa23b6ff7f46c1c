"""The partner pages that talk to SP-API, against the fake SP-API over real HTTP: connecting a
Seller Central account from "My sellers" (consent page → /spapi/callback → the seller's page),
the callback refusing a browser in words, and "Sync now" reading participations and health."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from sellers.models import ConnectState, Seller, SellerMembership
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from tests.factories import UserFactory
from tests.web.partner_support import HEALTHY, INFRINGER, scenario_seller

pytestmark = pytest.mark.django_db

BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).replace("&#x27;", "'")


@pytest.fixture
def site(settings):
    settings.SITE_URL = "http://testserver"


def test_connect_sends_the_browser_to_the_consent_page(client_for, world, fake_spapi_live, site):
    response = client_for("newcomer").post(reverse("partner:connect"))
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == fake_spapi_live.consent_url
    query = parse_qs(url.query)
    assert query["redirect_uri"] == ["http://testserver/spapi/callback"]
    assert query["application_id"] and query["state"]
    assert ConnectState.objects.get().user == world.newcomer
    assert response["Cache-Control"] == "no-store"


def test_connect_is_post_only(client_for, world):
    assert client_for("newcomer").get(reverse("partner:connect")).status_code == 405


def test_connect_when_sp_api_is_not_configured_says_so(client_for, world, settings):
    settings.SPAPI_APP_ID = ""
    response = client_for("newcomer").post(reverse("partner:connect"), follow=True)
    assert response.redirect_chain == [(reverse("partner:sellers"), 302)]
    assert "Connecting seller accounts is not configured on this installation." in text(response)
    assert not ConnectState.objects.exists()


def test_the_whole_connection_lands_on_the_sellers_page(world, fake_spapi_live, site, django_capture_on_commit_callbacks):
    # given: a newcomer in their browser, and Seller Central where the infringer consents
    fake_spapi_live.set_consent_seller(INFRINGER)
    browser = Client()
    browser.force_login(world.newcomer)

    # when: Connect → Seller Central's consent page → back to /spapi/callback
    consent = browser.post(reverse("partner:connect"))["Location"]
    back = httpx.get(consent, follow_redirects=False, timeout=5).headers["location"]
    assert back.startswith("http://testserver/spapi/callback?")
    with django_capture_on_commit_callbacks(execute=True):  # the first sync, eager, once committed
        response = browser.get(back.removeprefix("http://testserver"), **BROWSER)

    # then: the seller's page, saying it is connected, with the health the first sync read
    assert response.status_code == 302
    assert response["Location"] == reverse("partner:seller", args=[INFRINGER])
    assert SellerMembership.objects.filter(user=world.newcomer, seller__seller_id=INFRINGER).exists()
    page = text(browser.get(response["Location"]))
    assert f"Seller Central account {INFRINGER} is connected" in page
    assert "65 / 100" in page and "Late shipment rate" in page and "−15" in page
    assert SyncRun.objects.get(seller__seller_id=INFRINGER).status == SyncStatus.SUCCESS
    assert AuditEvent.objects.get(action="connection.created").source == "web"


def test_a_refused_callback_is_a_page_in_the_browsers_language(world, fake_spapi_live, site):
    params = {"state": "forged", "selling_partner_id": HEALTHY, "spapi_oauth_code": "ANcode"}
    english = Client().get("/spapi/callback", params, **BROWSER)
    assert english.status_code == 400 and english["Content-Type"].startswith("text/html")
    assert "The seller account was not connected" in text(english)
    assert "INVALID_STATE" in text(english) and "already used or expired" in text(english)
    assert english["Referrer-Policy"] == "no-referrer"

    chinese = Client().get("/spapi/callback", params, HTTP_ACCEPT_LANGUAGE="zh-hans", **BROWSER)
    assert chinese.status_code == 400
    assert "卖家账户未关联" in text(chinese) and "The seller account was not connected" not in text(chinese)

    api = Client().get("/spapi/callback", params, HTTP_ACCEPT="application/json")
    assert api.status_code == 400 and api.json()["errors"][0]["code"] == "INVALID_STATE"
    assert not Seller.objects.filter(seller_id=HEALTHY).exists()


def test_sync_now_reads_health_from_sp_api(world, fake_spapi_live, client_for, django_capture_on_commit_callbacks):
    # given: partner_s also runs the infringer's account, connected, never synced
    seller = scenario_seller(INFRINGER, partner=world.partner_s, participates_in=["US"])
    client = client_for("partner_s")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("partner:seller_sync", args=[INFRINGER]))

    # then: one run, which finished, and the seller's health as the report says
    assert response.status_code == 302 and response["Location"] == reverse("partner:seller", args=[INFRINGER])
    run = SyncRun.objects.get(seller=seller)
    assert (run.kind, run.status, run.requested_by) == (SyncKind.SELLER, SyncStatus.SUCCESS, world.partner_s)
    seller.refresh_from_db()
    assert (seller.health_score, seller.infringement_count, seller.account_status) == (65, 2, "AT_RISK")
    assert sorted(seller.participations.values_list("marketplace_id", flat=True)) == ["DE", "UK", "US"]
    page = text(client.get(response["Location"]))
    assert "Sync started" in page  # the page was answered before the (eager) task ran on commit
    assert "65 / 100" in page and "Below minimum" in page
    assert "Late shipment rate" in page and "Received intellectual property complaints" in page
    assert "Succeeded" in page and "Health score 65" in page and "partner_s" in page


def test_sync_now_answers_with_the_result_when_the_task_ran_at_once(world, fake_spapi_live, client_for, monkeypatch):
    # An eager Celery without a surrounding transaction runs the task before the view reads the run.
    from sellers.web import views

    seller = scenario_seller(HEALTHY, partner=world.partner_s, participates_in=["US", "CA"])
    real = views.seller_sync_request

    def request_and_run(*, actor, seller):
        run = real(actor=actor, seller=seller)
        SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.SUCCESS)
        return run

    monkeypatch.setattr(views, "seller_sync_request", request_and_run)
    page = text(client_for("partner_s").post(reverse("partner:seller_sync", args=[seller.seller_id]), follow=True))
    assert "Sync finished: the seller's marketplaces and health are up to date." in page


def test_another_user_cannot_finish_someone_elses_connection(world, fake_spapi_live, site):
    consent = Client()
    consent.force_login(world.newcomer)
    back = httpx.get(consent.post(reverse("partner:connect"))["Location"], follow_redirects=False,
                     timeout=5).headers["location"]
    intruder = Client()
    intruder.force_login(UserFactory(username="intruder"))
    response = intruder.get(back.removeprefix("http://testserver"), **BROWSER)
    assert response.status_code == 400 and "The seller account was not connected" in text(response)
    assert not SellerMembership.objects.filter(seller__seller_id=HEALTHY).exists()


def test_a_client_that_does_not_ask_for_html_keeps_the_json_error(world, fake_spapi_live, site):
    params = {"state": "forged", "selling_partner_id": HEALTHY, "spapi_oauth_code": "ANcode"}
    for accept in ("*/*", None):
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        response = Client().get("/spapi/callback", params, **headers)
        assert response.status_code == 400 and response.json()["errors"][0]["code"] == "INVALID_STATE"
