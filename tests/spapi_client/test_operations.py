"""Every operation round-trips through the library to the fake server over loopback HTTP."""
from __future__ import annotations

import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sellers.health import assess
from spapi_client import operations as ops
from spapi_client import ratelimit
from spapi_client.client import CallStats, SpapiConnection, build_client, connection_for
from spapi_client.errors import SpapiAuthError, SpapiConfigurationError, SpapiNotConnected
from spapi_client.fake import FakeSpapi

from .conftest import (
    BRAND_OWNER,
    CA,
    DE,
    EXAMPLE,
    FATAL,
    HEALTHY,
    INFRINGER,
    SCENARIO,
    SPEEDUP,
    US,
    connection,
    point_at,
    refresh_token,
)


def test_marketplace_participations(healthy, fake):
    participations = ops.get_marketplace_participations(healthy)

    assert [(p.marketplace_id, p.country_code, p.is_participating) for p in participations] == [
        (US, "US", True), (CA, "CA", True), ("A1AM78C64UM0Y8", "MX", False),
    ]
    assert fake.stats()["getMarketplaceParticipations"] == {"served": 1, "throttled": 0, "faulted": 0}


def test_suspended_listings_are_reported():
    participations = ops.get_marketplace_participations(connection(INFRINGER))

    assert {p.marketplace_id: p.has_suspended_listings for p in participations}[DE] is True


def test_health_report_goes_through_queue_progress_done_and_gzip(healthy, fake):
    # given
    stats = CallStats()
    report_id = ops.create_health_report(healthy, [US, CA], stats=stats)

    # when: the scenario finishes this seller's report on the third poll
    statuses = [ops.get_report(healthy, report_id, stats=stats) for _ in range(3)]
    document = ops.get_report_document(healthy, statuses[-1].document_id, stats=stats)

    # then
    assert [s.processing_status for s in statuses] == ["IN_QUEUE", "IN_PROGRESS", "DONE"]
    assert statuses[0].document_id is None and statuses[-1].is_done
    assert fake.state.documents[statuses[-1].document_id]["gzip"] is True
    assessment = assess(document, marketplace_ids=[US, CA])
    assert (assessment.score, assessment.infringement_count, assessment.account_status) == (100, 0, "NORMAL")
    assert stats.calls == 6 and stats.attempts == 6 and stats.failures == 0


def test_plain_health_report_of_a_seller_with_complaints():
    conn = connection(INFRINGER)
    report_id = ops.create_health_report(conn, [US])

    status = ops.wait_for_report(conn, report_id, poll_seconds=0.01)
    document = ops.get_report_document(conn, status.document_id)

    assessment = assess(document, marketplace_ids=[US])
    assert status.is_done and assessment.infringement_count == 2 and assessment.account_status == "AT_RISK"
    assert assessment.score < 90


def test_amazons_example_report_served_gzipped_scores_like_the_sellers_app():
    conn = connection(EXAMPLE)

    status = ops.wait_for_report(conn, ops.create_health_report(conn, [US]), poll_seconds=0.01)
    document = ops.get_report_document(conn, status.document_id)

    assert assess(document).account_status == "DEACTIVATED"  # SUSPENDED in MX


def test_fatal_report():
    conn = connection(FATAL)

    status = ops.wait_for_report(conn, ops.create_health_report(conn, [US]), poll_seconds=0.01)

    assert (status.processing_status, status.is_final, status.document_id) == ("FATAL", True, None)


def test_catalog_search_with_brand_and_category(fake):
    conn = connection(BRAND_OWNER)

    items = ops.search_catalog_items(conn, US, ["B0ACME0001", "b0acme0004", "B0OTHER001", "B0MISSING1"])

    assert set(items) == {"B0ACME0001", "B0ACME0004", "B0OTHER001"}  # B0MISSING1: not in the US catalog
    skillet = items["B0ACME0001"]
    assert (skillet.brand, skillet.category, skillet.classification) == ("Acme", "Home & Kitchen", "Skillets")
    assert items["B0ACME0004"].category == "Books" and items["B0OTHER001"].brand == "OtherCo"
    assert fake.stats()["searchCatalogItems"]["served"] == 1  # one call for all ASINs


def test_catalog_search_per_marketplace_shows_another_brand():
    conn = connection(BRAND_OWNER)

    uk = ops.search_catalog_items(conn, "A1F83G8C2ARO7P", ["B0ACME0001", "B0ACME0003", "B0ACME0004"])

    assert {asin: item.brand for asin, item in uk.items()} == {"B0ACME0001": "Acme", "B0ACME0003": "Acmee Trading"}


def test_batches_are_capped_and_asins_checked(healthy):
    with pytest.raises(ValueError, match="at most 20"):
        ops.search_catalog_items(healthy, US, [f"B0ACME{n:04d}" for n in range(21)])
    with pytest.raises(ValueError, match="invalid ASIN"):
        ops.get_item_offers_batch(healthy, US, ["NOT-AN-ASIN"])
    with pytest.raises(TypeError):
        ops.search_catalog_items(healthy, US, "B0ACME0001")
    assert ops.search_catalog_items(healthy, US, []) == {}


def test_item_offers_batch(fake):
    conn = connection(BRAND_OWNER)

    offers = ops.get_item_offers_batch(conn, US, ["B0ACME0001", "B0ACME0003", "B0MISSING1"])

    assert set(offers) == {"B0ACME0001", "B0ACME0003"}  # B0MISSING1: refused by Amazon (404 in the batch)
    assert offers["B0ACME0003"] == []
    assert [(o.seller_id, o.is_buy_box_winner, o.price, o.currency) for o in offers["B0ACME0001"]] == [
        ("A2HEALTHYSELL01", True, Decimal("19.99"), "USD"), ("A9UNAUTHSELLER9", False, Decimal("17.49"), "USD"),
    ]  # the used offer is not a "New" offer
    assert fake.stats()["getItemOffersBatch"]["served"] == 1


def test_single_item_offers():
    offers = ops.get_item_offers(connection(BRAND_OWNER), CA, "B0ACME0001")

    assert [(o.seller_id, o.price, o.currency) for o in offers] == [("A2HEALTHYSELL01", Decimal("24.99"), "CAD")]


def test_listings_restrictions(healthy):
    (approval,) = ops.get_listings_restrictions(healthy, "B0ACME0002", HEALTHY, US)
    none = ops.get_listings_restrictions(healthy, "B0ACME0001", HEALTHY, US)
    (missing,) = ops.get_listings_restrictions(healthy, "B0ACME0004", HEALTHY, DE)
    (not_eligible,) = ops.get_listings_restrictions(connection(INFRINGER), "B0ACME0001", INFRINGER, US)

    assert approval.reason_code == "APPROVAL_REQUIRED" and approval.links[0].resource.startswith("https://sellercentral")
    assert none == []
    assert missing.reason_code == "ASIN_NOT_FOUND" and missing.marketplace_id == DE
    assert (not_eligible.reason_code, not_eligible.links) == ("NOT_ELIGIBLE", ())


def test_restrictions_of_another_seller_are_refused(healthy):
    with pytest.raises(SpapiAuthError) as raised:
        ops.get_listings_restrictions(healthy, "B0ACME0001", INFRINGER, US)

    assert raised.value.status == 403 and raised.value.attempts == 1


def test_consent_then_code_exchange(fake):
    # given: the partner is sent to the consent page, which comes straight back
    url = ops.consent_url("state-123")
    answer = httpx.get(url, follow_redirects=False)
    back = urlsplit(answer.headers["location"])
    query = {k: v[0] for k, v in parse_qs(back.query).items()}

    # when
    token = ops.exchange_authorization_code(query["spapi_oauth_code"], "http://testserver.local/spapi/callback")

    # then
    assert answer.status_code == 302 and f"{back.scheme}://{back.netloc}{back.path}" == (
        "http://testserver.local/spapi/callback"
    )
    assert (query["state"], query["selling_partner_id"]) == ("state-123", HEALTHY)
    assert token == refresh_token(HEALTHY)
    with pytest.raises(SpapiAuthError):  # codes are single-use
        ops.exchange_authorization_code(query["spapi_oauth_code"], "http://testserver.local/spapi/callback")
    assert fake.stats()["lwa"]["served"] == 2  # an auth error is final: no retry


def test_consent_url_parameters(settings):
    settings.SPAPI_APP_DRAFT = True

    query = parse_qs(urlsplit(ops.consent_url("s1")).query)

    assert query == {
        "application_id": [SCENARIO["lwa"]["app_id"]], "state": ["s1"],
        "redirect_uri": ["http://testserver.local/spapi/callback"], "version": ["beta"],
    }
    settings.SPAPI_APP_ID = ""
    with pytest.raises(SpapiConfigurationError):
        ops.consent_url("s1")


def test_library_clients_point_at_the_configured_endpoint_and_lwa(fake, healthy):
    catalog = build_client(healthy, "searchCatalogItems", marketplace_id=DE)
    offers = build_client(healthy, "getItemOffersBatch")

    assert type(catalog).__name__ == "CatalogItemsV20220401" and catalog.version == "2022-04-01"
    assert type(offers).__name__ == "ProductsV0"
    assert (catalog.endpoint, catalog.marketplace_id, catalog.region) == (fake.url, DE, "eu-west-1")
    assert "AccessTokenClient" in [c.__name__ for c in type(catalog._auth).__mro__]
    assert catalog._auth.token_url == fake.lwa_token_url


def test_without_overrides_clients_use_amazons_regional_endpoints(settings, healthy):
    settings.SPAPI_ENDPOINT = ""
    settings.SPAPI_LWA_TOKEN_URL = ""

    client = build_client(healthy, "getListingsRestrictions", marketplace_id=DE)  # no request is made

    assert client.endpoint == "https://sellingpartnerapi-eu.amazon.com"
    assert client._auth.token_url == "https://api.amazon.com/auth/o2/token"
    assert build_client(healthy, "getReport").endpoint == "https://sellingpartnerapi-na.amazon.com"


def test_credentials_never_come_from_the_environment(settings, monkeypatch, healthy):
    # given: the library's environment variables name another seller's token and credentials
    monkeypatch.setenv("SP_API_REFRESH_TOKEN", refresh_token(INFRINGER))
    monkeypatch.setenv("LWA_APP_ID", SCENARIO["lwa"]["client_id"])
    monkeypatch.setenv("LWA_CLIENT_SECRET", SCENARIO["lwa"]["client_secret"])

    # when / then: the connection's token is the one used
    participations = ops.get_marketplace_participations(healthy)
    assert {p.marketplace_id for p in participations} == {US, CA, "A1AM78C64UM0Y8"}

    # and without LWA credentials in settings nothing falls back to the environment
    settings.SPAPI_LWA_CLIENT_SECRET = ""
    with pytest.raises(SpapiConfigurationError):
        ops.get_marketplace_participations(healthy)


@pytest.mark.parametrize("variable", ["SP_API_DEFAULT_MARKETPLACE", "AWS_ENV"])
def test_library_hostile_environment_is_refused(monkeypatch, healthy, variable):
    monkeypatch.setenv(variable, "SANDBOX" if variable == "AWS_ENV" else "DE")

    with pytest.raises(SpapiConfigurationError):
        ops.get_marketplace_participations(healthy)


def test_calls_are_paced_by_the_bucket(fake, healthy):
    # getItemOffersBatch: 0.1/s, burst 1 → 5/s at the tests' speed-up of 50
    started = time.monotonic()
    for _ in range(4):
        ops.get_item_offers_batch(healthy, US, ["B0ACME0001"])
    elapsed = time.monotonic() - started

    assert elapsed >= 3 / (0.1 * SPEEDUP) * 0.95
    stats = fake.stats()["getItemOffersBatch"]
    assert stats["served"] == 4 and stats["throttled"] <= 1  # an occasional loopback-jitter 429 is retried


def test_the_token_is_taken_as_the_request_leaves_after_the_lwa_exchange(fake, healthy, monkeypatch):
    # given: no access token cached yet, and a limiter that notes what the fake has served when
    # a token is taken
    limiter = ratelimit.get_limiter()
    taken = []

    def acquire(seller_id, operation, **kwargs):
        taken.append((operation, fake.stats()["lwa"]["served"]))
        return type(limiter).acquire(limiter, seller_id, operation, **kwargs)

    monkeypatch.setattr(limiter, "acquire", acquire)

    # when
    ops.get_marketplace_participations(healthy)

    # then: the LWA exchange (a network call of its own) came before the operation's token
    assert taken == [("getMarketplaceParticipations", 1)]


def test_a_smaller_rate_limit_header_is_honoured(settings):
    # given: Amazon announces 1 request/s for restrictions instead of the plan's 5
    scenario = {**SCENARIO, "rate_limits": {"getListingsRestrictions": 1}}
    pace = SPEEDUP * (1 - ratelimit.PACING_MARGIN)
    with FakeSpapi(scenario, speedup=SPEEDUP) as reduced:
        point_at(settings, reduced)
        conn = connection(HEALTHY)
        limiter = ratelimit.get_limiter()
        assert limiter.effective_rate(HEALTHY, "getListingsRestrictions") == pytest.approx(5 * pace)

        # when
        ops.get_listings_restrictions(conn, "B0ACME0001", HEALTHY, US)

        # then: stored for this bucket only, and the next calls keep to it
        assert limiter.effective_rate(HEALTHY, "getListingsRestrictions") == pytest.approx(1 * pace)
        assert limiter.effective_rate(INFRINGER, "getListingsRestrictions") == pytest.approx(5 * pace)
        for _ in range(12):  # burst 10, then 50/s
            ops.get_listings_restrictions(conn, "B0ACME0001", HEALTHY, US)
        assert reduced.stats()["getListingsRestrictions"]["throttled"] <= 1


@pytest.mark.django_db
def test_connection_of_a_seller(marketplaces):
    from tests.factories import SellerFactory, marketplace

    seller = SellerFactory(seller_id="A7CONNECTED0007", home_marketplace=marketplace("DE"))

    conn = connection_for(seller)
    us = connection_for(seller, marketplace=US)

    assert (conn.seller_id, conn.refresh_token, conn.marketplace_id, conn.region) == (
        "A7CONNECTED0007", "Atzr|test-A7CONNECTED0007", DE, "EU",
    )
    assert (us.marketplace_id, us.region) == (US, "NA")
    with pytest.raises(SpapiNotConnected):
        connection_for(SellerFactory(connected=False))


def test_a_connection_needs_a_token():
    with pytest.raises(SpapiNotConnected):
        SpapiConnection(seller_id=HEALTHY, refresh_token="")


def test_the_low_level_call_returns_the_raw_answer(healthy):
    from spapi_client.client import call

    answer = call(healthy, "getMarketplaceParticipations", lambda api: api.get_marketplace_participation())

    assert (answer.status, answer.attempts, answer.rate_limit) == (200, 1, 0.016)
    assert answer.body["payload"][0]["marketplace"]["id"] == US
