"""The partner pages with Django's test client: who may see what (only one's own sellers), every
page rendering with data and with nothing, the forms' errors, and the writes going through the
services (disconnect, home marketplace, requests) with their audit events. The SP-API parts
(connect, callback, sync now) are in test_partner_spapi.py."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditEvent
from authorizations import services as grant_services
from authorizations.models import AuthorizationRequest, Grant, GrantStatus
from brands.models import RegistryStatus
from sellers.health import assess
from sellers.models import Seller, SellerConnection
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from tests.api.conftest import hold_grant
from tests.factories import (
    AsinFactory,
    BrandFactory,
    SellerFactory,
    SellerMembershipFactory,
)

pytestmark = pytest.mark.django_db

S, T = "ASELLERS0001", "ASELLERT0001"
US = "ATVPDKIKX0DER"
HTMX = {"HTTP_HX_REQUEST": "true"}

LIST_PAGES = ["partner:sellers", "partner:authorizations", "partner:requests", "partner:request_new",
              "partner:diagnosis"]
SELLER_PAGES = ["partner:seller", "partner:seller_disconnect", "partner:seller_sync_runs"]
SELLER_POSTS = ["partner:seller_sync", "partner:seller_disconnect", "partner:seller_home_marketplace"]


def text(response) -> str:
    """The page's visible text, tags stripped and whitespace collapsed (for phrase assertions)."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.content.decode(), flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).replace("&#x27;", "'").replace("&quot;", '"')


def owner_actor(world, name: str = "owner_a") -> Actor:
    return Actor.for_user(getattr(world, name), source="web")


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LIST_PAGES + SELLER_PAGES)
def test_anonymous_is_sent_to_log_in(client, world, name):
    url = reverse(name, args=[S]) if name in SELLER_PAGES else reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", LIST_PAGES)
@pytest.mark.parametrize("role", ["newcomer", "owner_a", "ops"])
def test_users_without_sellers_see_empty_states(client_for, role, name):
    response = client_for(role).get(reverse(name))
    assert response.status_code == 200
    page = text(response)
    assert "Shop S" not in page and "Shop T" not in page and S not in page
    assert "No seller accounts yet" in page


@pytest.mark.parametrize("name", SELLER_PAGES)
@pytest.mark.parametrize("role", ["partner_t", "owner_a", "newcomer", "ops"])
def test_someone_elses_seller_is_not_found(client_for, role, name):
    assert client_for(role).get(reverse(name, args=[S])).status_code == 404


@pytest.mark.parametrize("name", SELLER_POSTS)
def test_another_partner_cannot_act_on_the_seller(client_for, world, name):
    response = client_for("partner_t").post(reverse(name, args=[S]), {"reason": "x", "home_marketplace": "US"})
    assert response.status_code == 404
    assert SellerConnection.objects.get(seller=world.seller_s).revoked_at is None
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("name", SELLER_PAGES)
def test_the_partner_sees_their_own_seller_pages(client_for, name):
    assert client_for("partner_s").get(reverse(name, args=[S])).status_code == 200


def test_a_seller_id_that_does_not_exist_is_not_found(client_for):
    assert client_for("partner_s").get(reverse("partner:seller", args=["NOSUCHSELLER"])).status_code == 404


# --- my sellers -----------------------------------------------------------------------------------


def test_my_sellers_lists_only_mine_with_health_and_status(client_for, world):
    Seller.objects.filter(pk=world.seller_s.pk).update(infringement_count=2, account_status="AT_RISK",
                                                       last_synced_at=timezone.now())
    response = client_for("partner_s").get(reverse("partner:sellers"))
    page = text(response)
    assert response.status_code == 200
    assert "Shop S" in page and S in page
    assert "Shop T" not in page and T not in page
    assert "98" in page and "Healthy" in page
    assert "At risk" in page and "Connected" in page
    assert reverse("partner:seller", args=[S]) in response.content.decode()
    assert "Connect another Seller Central account" in page


def test_my_sellers_says_when_health_is_below_the_minimum_or_never_read(client_for, world):
    Seller.objects.filter(pk=world.seller_s.pk).update(health_score=70)
    extra = SellerFactory(seller_id="ASELLERS0002", name="Shop S2", health_score=None, health_checked_at=None,
                          connected=False)
    SellerMembershipFactory(user=world.partner_s, seller=extra)
    page = text(client_for("partner_s").get(reverse("partner:sellers")))
    assert "Below minimum" in page
    assert "Not read yet" in page
    assert "Not connected" in page


def test_the_empty_state_offers_to_connect(client_for):
    response = client_for("newcomer").get(reverse("partner:sellers"))
    body = response.content.decode()
    assert "connect your Seller Central account" in text(response)
    assert f'action="{reverse("partner:connect")}"' in body and 'method="post"' in body


def test_my_sellers_takes_a_constant_number_of_queries(client_for, world, django_assert_max_num_queries):
    for n in range(30):
        seller = SellerFactory(seller_id=f"AMANY{n:07d}", name=f"Many {n}")
        SellerMembershipFactory(user=world.partner_s, seller=seller)
        hold_grant(world.asin_a2, seller)
    client = client_for("partner_s")
    with django_assert_max_num_queries(8):
        response = client.get(reverse("partner:sellers"))
    assert text(response).count("Many ") == 30


# --- one seller -------------------------------------------------------------------------------------


BAD_REPORT = {
    "accountStatuses": [{"marketplaceId": US, "status": "AT_RISK"}],
    "performanceMetrics": [{
        "marketplaceId": US,
        "lateShipmentRate": {"status": "BAD"},
        "orderDefectRate": {"mfn": {"status": "BAD"}, "afn": {"status": "GOOD"}},
        "receivedIntellectualPropertyComplaints": {"defectsCount": 2, "status": "BAD"},
        "listingPolicyViolations": {"defectsCount": 15, "status": "GOOD"},
        "accountHealthRating": {"ahrStatus": "WARNED"},
    }],
}


def test_the_seller_page_shows_health_with_its_breakdown(client_for, world):
    assessment = assess(BAD_REPORT, marketplace_ids=[US])
    Seller.objects.filter(pk=world.seller_s.pk).update(
        health_score=assessment.score, health_breakdown=assessment.breakdown(),
        infringement_count=assessment.infringement_count, account_status=assessment.account_status)
    response = client_for("partner_s").get(reverse("partner:seller", args=[S]))
    page = text(response)
    assert response.status_code == 200
    # 100 − 15 (late shipment) − 15 (order defects, seller-fulfilled) − 10 (2 IP complaints, BAD) − 20 (15 listing
    # violations, capped) − 10 (WARNED) = 30
    assert assessment.score == 30
    assert "30 / 100" in page and "Below minimum" in page
    assert "Late shipment rate Status BAD −15" in page
    assert "Order defect rate Status BAD for orders fulfilled by the seller −15" in page
    assert "Received intellectual property complaints 2 defects × 2 points; status BAD: at least 10 points −10" in page
    assert "Listing policy violations 15 defects × 2 points; capped at 20 points −20" in page
    assert "Account Health Rating" in page and "−70" in page
    assert "US · United States" in page or "US" in page
    assert "Blocks authorizations" in page  # 2 infringements
    assert "At risk" in page


def test_a_seller_without_a_health_report_says_so(client_for):
    page = text(client_for("partner_s").get(reverse("partner:seller", args=[S])))
    assert "No account health report has been read for this seller yet" in page


def test_the_seller_page_lists_marketplaces_and_latest_syncs(client_for, world):
    SyncRun.objects.create(kind=SyncKind.SELLER, seller=world.seller_s, status=SyncStatus.FAILURE,
                           error="health (NA): getReport answered 500", requested_by=world.partner_s)
    SyncRun.objects.create(kind=SyncKind.SELLER, seller=world.seller_t, status=SyncStatus.SUCCESS)  # not S's
    response = client_for("partner_s").get(reverse("partner:seller", args=[S]))
    page = text(response)
    assert "US United States" in page and "DE Germany" in page and "Home" in page
    assert "Failed: nothing was changed" in page and "getReport answered 500" in page
    assert page.count("Succeeded") == 0
    assert "Sync now" in page and "Disconnect" in page


def test_a_run_in_flight_is_polled_and_the_page_reloads_when_it_ends(client_for, world):
    run = SyncRun.objects.create(kind=SyncKind.SELLER, seller=world.seller_s, status=SyncStatus.RUNNING,
                                 progress_done=1, progress_total=3)
    client = client_for("partner_s")
    url = reverse("partner:seller_sync_runs", args=[S])
    page = client.get(reverse("partner:seller", args=[S])).content.decode()
    assert 'hx-trigger="every 2s"' in page and "disabled" in page  # no second sync while one runs

    polled = client.get(url + "?waiting=1", **HTMX)
    assert polled.status_code == 200 and "<html" not in polled.content.decode()
    assert 'hx-trigger="every 2s"' in polled.content.decode()

    SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.SUCCESS, result={"health_score": 97})
    finished = client.get(url + "?waiting=1", **HTMX)
    assert finished.status_code == 204 and finished["HX-Refresh"] == "true"
    full = client.get(url)
    assert full.status_code == 200 and "Health score 97" in text(full)


def test_sync_now_on_a_disconnected_seller_says_why(client_for, world):
    SellerConnection.objects.filter(seller=world.seller_s).update(revoked_at=timezone.now(), refresh_token_encrypted="")
    client = client_for("partner_s")
    response = client.post(reverse("partner:seller_sync", args=[S]), follow=True)
    assert "has not connected its Amazon account" in text(response)
    assert not SyncRun.objects.exists()
    page = text(client.get(reverse("partner:seller", args=[S])))
    assert "This seller account is not connected" in page and "Connect again" in page and "Sync now" not in page


def test_sync_now_is_post_only(client_for):
    assert client_for("partner_s").get(reverse("partner:seller_sync", args=[S])).status_code == 405


def test_disconnect_asks_for_a_reason_then_disconnects(client_for, world):
    client = client_for("partner_s")
    url = reverse("partner:seller_disconnect", args=[S])
    confirm = text(client.get(url))
    assert "Disconnect Shop S?" in confirm and "new authorizations and reinstatements fail" in confirm

    refused = client.post(url, {"reason": "  "})
    assert refused.status_code == 400 and "This field is required." in text(refused)
    assert SellerConnection.objects.get(seller=world.seller_s).is_active

    done = client.post(url, {"reason": "Moving to a new Seller Central account"})
    assert done.status_code == 302 and done["Location"] == reverse("partner:seller", args=[S])
    connection = SellerConnection.objects.get(seller=world.seller_s)
    assert connection.revoked_at is not None and connection.refresh_token_encrypted == ""
    event = AuditEvent.objects.get(action="connection.revoked")
    assert (event.actor, event.source, event.reason) == ("partner_s", "web", "Moving to a new Seller Central account")
    page = text(client.get(reverse("partner:seller", args=[S])))
    assert "is disconnected" in page and "Not connected" in page


def test_the_partner_picks_the_home_marketplace(client_for, world):
    client = client_for("partner_s")
    url = reverse("partner:seller_home_marketplace", args=[S])
    assert "Home marketplace set to DE" in text(client.post(url, {"home_marketplace": "DE"}, follow=True))
    world.seller_s.refresh_from_db()
    assert world.seller_s.home_marketplace_id == "DE"
    assert AuditEvent.objects.filter(action="seller.updated", seller_id=S).exists()

    refused = text(client.post(url, {"home_marketplace": "JP"}, follow=True))
    assert "Choose one of the marketplaces the seller participates in." in refused
    world.seller_s.refresh_from_db()
    assert world.seller_s.home_marketplace_id == "DE"


# --- my authorizations ------------------------------------------------------------------------------


def test_my_authorizations_lists_my_sellers_grants_only(client_for, world):
    page = text(client_for("partner_s").get(reverse("partner:authorizations")))
    assert "B0ALPHA001" in page and "Alpha" in page and "Active" in page
    assert "B0BRAVO001" not in page and "Shop T" not in page
    assert "1 authorization" in page


def test_an_owner_who_is_also_a_partner_sees_only_their_sellers_grants_here(client_for, world):
    SellerMembershipFactory(user=world.owner_b, seller=world.seller_s)
    page = text(client_for("owner_b").get(reverse("partner:authorizations")))
    assert "B0ALPHA001" in page
    assert "B0BRAVO001" not in page  # Bravo's own grant to seller T is a brand page matter


def test_expiring_soon_is_highlighted_and_a_passed_term_shows_expired(client_for, world, settings):
    settings.EXPIRING_SOON_DAYS = 14
    now = timezone.now()
    Grant.objects.filter(pk=world.grant_s.pk).update(valid_until=now + dt.timedelta(days=5))
    hold_grant(world.asin_a2, world.seller_s, valid_until=now - dt.timedelta(hours=1))  # ACTIVE on paper
    response = client_for("partner_s").get(reverse("partner:authorizations"))
    body = response.content.decode()
    assert body.count('class="highlight"') == 1
    assert "ends in" in text(response)
    row = body[body.index("B0ALPHA002"):]
    assert 'badge EXPIRED' in row[:row.index("</tr>")]


@pytest.mark.parametrize(("query", "shown", "hidden"), [
    ("status=EXPIRED", ["B0ALPHA002"], ["B0ALPHA001"]),
    ("status=ACTIVE", ["B0ALPHA001"], ["B0ALPHA002"]),
    ("marketplace=DE", ["B0ALPHA002"], ["B0ALPHA001"]),
    ("asin=b0alpha001", ["B0ALPHA001"], ["B0ALPHA002"]),
    ("expiring=on", [], ["B0ALPHA001", "B0ALPHA002"]),
    ("status=NOPE&marketplace=XX", ["B0ALPHA001", "B0ALPHA002"], []),  # malformed filters are ignored
])
def test_my_authorizations_filters(client_for, world, query, shown, hidden):
    hold_grant(world.asin_a2, world.seller_s, marketplace="DE", valid_until=timezone.now() - dt.timedelta(days=1))
    page = text(client_for("partner_s").get(reverse("partner:authorizations") + "?" + query))
    for code in shown:
        assert code in page
    for code in hidden:
        assert code not in page


def test_filter_by_seller_and_brand_among_my_own(client_for, world):
    other = SellerFactory(seller_id="ASELLERS0002", name="Shop S2")
    SellerMembershipFactory(user=world.partner_s, seller=other)
    hold_grant(world.asin_b1, other)
    client = client_for("partner_s")
    by_seller = text(client.get(reverse("partner:authorizations") + "?seller=ASELLERS0002"))
    assert "B0BRAVO001" in by_seller and "B0ALPHA001" not in by_seller
    by_brand = text(client.get(reverse("partner:authorizations") + f"?brand={world.brand_a.pk}"))
    assert "B0ALPHA001" in by_brand and "B0BRAVO001" not in by_brand
    # seller T is not among the choices: filtering by it shows everything of mine, nothing of T's
    by_other = text(client.get(reverse("partner:authorizations") + f"?seller={T}"))
    assert "B0ALPHA001" in by_other and "Shop T" not in by_other


def test_my_authorizations_sort_and_htmx_partial(client_for, world):
    other = SellerFactory(seller_id="ASELLERS0002", name="Shop S2")
    SellerMembershipFactory(user=world.partner_s, seller=other)
    hold_grant(world.asin_b1, other)
    client = client_for("partner_s")
    ascending = client.get(reverse("partner:authorizations") + "?sort=brand").content.decode()
    assert ascending.index("B0ALPHA001") < ascending.index("B0BRAVO001")
    descending = client.get(reverse("partner:authorizations") + "?sort=-brand").content.decode()
    assert descending.index("B0BRAVO001") < descending.index("B0ALPHA001")
    assert client.get(reverse("partner:authorizations") + "?sort=secret_field").status_code == 200
    partial = client.get(reverse("partner:authorizations") + "?status=ACTIVE", **HTMX).content.decode()
    assert partial.lstrip().startswith('<div id="grant-results">') and "<html" not in partial


def test_my_authorizations_paginate_with_bounded_queries(client_for, world, django_assert_max_num_queries):
    brand = BrandFactory(name="Many")
    asins = [AsinFactory(brand=brand, asin=f"B0MANY{n:04d}", marketplaces=["US"]) for n in range(130)]
    Grant.objects.bulk_create([
        Grant(brand=brand, seller=world.seller_s, asin=asin, marketplace_id="US", status=GrantStatus.ACTIVE,
              valid_from=timezone.now() - dt.timedelta(days=1), status_changed_at=timezone.now())
        for asin in asins])
    client = client_for("partner_s")
    with django_assert_max_num_queries(12):
        first = client.get(reverse("partner:authorizations") + "?sort=asin")
    page = text(first)
    assert "131 authorizations" in page and "Page 1 of 3" in page
    assert page.count("B0MANY") == 49 and "B0ALPHA001" in page  # 50 rows a page
    with django_assert_max_num_queries(12):
        last = client.get(reverse("partner:authorizations") + "?sort=asin&page=3&status=ACTIVE")
    assert "Page 3 of 3" in text(last)


# --- requests ----------------------------------------------------------------------------------


def test_the_brand_search_finds_requestable_brands_by_name_only(client_for, world):
    BrandFactory(name="Alpine Pending", registry_status=RegistryStatus.PENDING)
    AsinFactory(brand=BrandFactory(name="Alpenglow"), asin="B0ALPEN001")
    BrandFactory(name="Alpha Empty")  # no catalog: nothing to ask for
    client = client_for("partner_s")
    found = client.get(reverse("partner:brand_search") + "?brand_q=alp").content.decode()
    assert "Alpha" in found and "Alpenglow" in found
    assert "Alpine Pending" not in found and "Alpha Empty" not in found and "Bravo" not in found
    assert "ALPHA-0001" not in found  # the registry number is not a partner's business
    assert "Search the brand by name" in text(client.get(reverse("partner:brand_search")))
    nothing = text(client.get(reverse("partner:brand_search") + "?brand_q=zzz"))
    assert "No brand called “zzz” takes requests here" in nothing
    # without JavaScript: the request page itself searches
    page = client.get(reverse("partner:request_new") + "?brand_q=Bravo").content.decode()
    assert f'value="{world.brand_b.pk}"' in page and "checked" in page


def test_a_request_is_sent_through_the_service(client_for, world):
    client = client_for("partner_s")
    response = client.post(reverse("partner:request_new"), {
        "seller": S, "brand": world.brand_a.pk, "asins": "b0alpha002\nB0ALPHA001, B0ALPHA002",
        "marketplaces": ["US", "DE"], "message": "We are an authorized distributor.",
    })
    assert response.status_code == 302 and response["Location"] == reverse("partner:requests")
    req = AuthorizationRequest.objects.get()
    assert (req.brand, req.seller, req.asins, sorted(req.marketplaces), req.requested_by) == (
        world.brand_a, world.seller_s, ["B0ALPHA002", "B0ALPHA001"], ["DE", "US"], world.partner_s)
    event = AuditEvent.objects.get(action="request.created")
    assert (event.actor, event.source) == ("partner_s", "web")
    page = text(client.get(reverse("partner:requests")))
    assert "Request sent to Alpha for 2 ASINs in US, DE" in page
    assert "Alpha" in page and "B0ALPHA002, B0ALPHA001" in page and "Pending" in page
    assert "Waiting for the brand" in page


def test_a_request_without_marketplaces_covers_the_home_marketplace(client_for, world):
    client_for("partner_s").post(reverse("partner:request_new"),
                                 {"seller": S, "brand": world.brand_a.pk, "asins": "B0ALPHA002"})
    assert AuthorizationRequest.objects.get().marketplaces == ["US"]


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"asins": "B0ALPHA002 NOTANASIN!"}, "asins", "“NOTANASIN!” is not an ASIN"),
    ({"asins": "  "}, "asins", "Name at least one ASIN."),
    ({"brand": ""}, "brand", "Search for the brand by name and choose it."),
    ({"brand": "999999"}, "brand", "Choose a brand from the search results."),
    ({"seller": T}, "seller", "Select a valid choice."),
    ({"marketplaces": ["XX"]}, "marketplaces", "Select a valid choice."),
    ({"message": "x" * 5001}, "message", "at most 5000 characters"),
])
def test_request_form_errors_are_shown_and_nothing_is_stored(client_for, world, data, field, words):
    payload = {"seller": S, "brand": world.brand_a.pk, "asins": "B0ALPHA002", "marketplaces": ["US"], **data}
    response = client_for("partner_s").post(reverse("partner:request_new"), payload)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert words in text(response)
    assert not AuthorizationRequest.objects.exists()


def test_a_seller_without_home_marketplace_must_name_one(client_for, world):
    Seller.objects.filter(pk=world.seller_s.pk).update(home_marketplace=None)
    response = client_for("partner_s").post(reverse("partner:request_new"),
                                            {"seller": S, "brand": world.brand_a.pk, "asins": "B0ALPHA002"})
    assert response.status_code == 400
    assert "Name at least one marketplace" in text(response)
    assert not AuthorizationRequest.objects.exists()


def test_my_requests_show_the_brands_answer_and_only_mine(client_for, world):
    partner = Actor.for_user(world.partner_s, source="web")
    req = grant_services.request_create(actor=partner, brand=world.brand_a, seller=world.seller_s,
                                        asins=["B0ALPHA002"], marketplaces=["US"])
    grant_services.request_reject(actor=owner_actor(world), request=req, reason="We only work with EU resellers.")
    grant_services.request_create(actor=Actor.for_user(world.partner_t, source="web"), brand=world.brand_b,
                                  seller=world.seller_t, asins=["B0BRAVO001"], marketplaces=["US"])
    page = text(client_for("partner_s").get(reverse("partner:requests")))
    assert "Rejected" in page and "“We only work with EU resellers.”" in page and "owner_a" in page
    assert "B0BRAVO001" not in page and "Bravo" not in page
    filtered = text(client_for("partner_s").get(reverse("partner:requests") + "?status=PENDING"))
    assert "No request matches these filters." in filtered


def test_the_request_page_is_prefilled_from_a_link(client_for, world):
    url = reverse("partner:request_new") + f"?seller={S}&brand={world.brand_a.pk}&asins=B0ALPHA002&marketplaces=DE"
    body = client_for("partner_s").get(url).content.decode()
    assert f'value="{world.brand_a.pk}" checked' in body
    assert "B0ALPHA002</textarea>" in body
    assert re.search(r'value="DE"[^>]*checked', body)


# --- the diagnosis -------------------------------------------------------------------------------


def test_the_diagnosis_explains_every_failing_rule_in_words(client_for, world):
    Seller.objects.filter(pk=world.seller_s.pk).update(infringement_count=2)
    response = client_for("partner_s").get(reverse("partner:diagnosis"),
                                           {"seller": S, "asin": "b0alpha002", "marketplace": "DE"})
    page = text(response)
    assert response.status_code == 200
    assert "Shop S may not sell B0ALPHA002 in DE." in page
    assert "The seller has no intellectual-property complaints" in page
    assert "Seller ASELLERS0001 has 2 intellectual-property complaint(s)." in page
    assert "Amazon's catalog shows the ASIN in this marketplace under the brand" in page  # A2 is US only
    assert "The seller holds no authorization for B0ALPHA002 in DE." in page
    assert "Pass" in page and "Fail" in page
    assert "No history" in page
    assert "Request this authorization" in page
    assert f"brand={world.brand_a.pk}" in response.content.decode()


def test_the_diagnosis_shows_who_revoked_the_grant_and_why(client_for, world):
    grant_services.grant_revoke(actor=owner_actor(world), grant=world.grant_s, reason="Counterfeit complaint")
    page = text(client_for("partner_s").get(reverse("partner:diagnosis"),
                                            {"seller": S, "asin": "B0ALPHA001", "marketplace": "US"}))
    assert "may not sell B0ALPHA001 in US" in page
    assert "Revoked" in page and "owner_a" in page and "Counterfeit complaint" in page
    assert "Active → Revoked" in page


def test_an_authorized_seller_is_told_so(client_for, world):
    page = text(client_for("partner_s").get(reverse("partner:diagnosis"),
                                            {"seller": S, "asin": "B0ALPHA001", "marketplace": "US"}))
    assert "Shop S may sell B0ALPHA001 in US." in page
    assert "Request this authorization" not in page


def test_the_diagnosis_form_shows_errors_and_no_other_partners_seller(client_for, world):
    client = client_for("partner_s")
    bad = client.get(reverse("partner:diagnosis"), {"seller": S, "asin": "nope", "marketplace": "US"})
    assert bad.status_code == 400 and "“NOPE” is not an ASIN (10 letters or digits)." in text(bad)
    other = client_for("partner_t").get(reverse("partner:diagnosis"),
                                        {"seller": S, "asin": "B0ALPHA001", "marketplace": "US"})
    assert other.status_code == 400 and "Select a valid choice." in text(other)
    assert "Shop S" not in text(other)


def test_the_diagnosis_renders_in_place_for_htmx(client_for, world):
    response = client_for("partner_s").get(reverse("partner:diagnosis"),
                                           {"seller": S, "asin": "B0ALPHA002", "marketplace": "US"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<div id="diagnosis">') and "<html" not in body
    invalid = client_for("partner_s").get(reverse("partner:diagnosis"), {"seller": S, "asin": "x", "marketplace": "US"},
                                          **HTMX)
    assert invalid.status_code == 200 and "is not an ASIN" in text(invalid)  # htmx swaps 2xx only


def test_the_diagnosis_without_question_shows_the_form(client_for, world):
    response = client_for("partner_s").get(reverse("partner:diagnosis"))
    assert response.status_code == 200 and "Diagnose" in text(response) and "may not sell" not in text(response)


def test_no_page_leaks_a_stack_trace_on_a_service_refusal(client_for, world, monkeypatch):
    from config.errors import LockTimeout
    from sellers.web import views

    def busy(**kwargs):
        raise LockTimeout("Another change holds the lock; try again.")

    monkeypatch.setattr(views.services, "seller_disconnect", busy)
    response = client_for("partner_s").post(reverse("partner:seller_disconnect", args=[S]), {"reason": "x"})
    assert response.status_code == 503 and "Another change holds the lock" in text(response)
