"""Transient failures are retried (bounded, counted); final ones are not. Faults come from the
fake server's control endpoint, over HTTP, as a test or benchmark would inject them."""
from __future__ import annotations

import socket

import httpx
import pytest

from spapi_client import operations as ops
from spapi_client.client import CallStats
from spapi_client.errors import (
    SpapiAuthError,
    SpapiClientError,
    SpapiConnectionError,
    SpapiMalformedResponse,
    SpapiRateLimitTimeout,
    SpapiServerError,
    SpapiThrottled,
    SpapiTimeout,
    SpapiTransientError,
)

from .conftest import HEALTHY, US, connection


def inject(fake, operation: str, kind: str, count: int = 1, delay: float | None = None) -> None:
    body = {"operation": operation, "kind": kind, "count": count}
    if delay is not None:
        body["delay"] = delay
    response = httpx.post(f"{fake.url}/_fake/faults", json=body)
    assert response.status_code == 200, response.text


def served(fake, operation: str) -> dict[str, int]:
    return httpx.get(f"{fake.url}/_fake/stats").json()[operation]


@pytest.mark.parametrize("kind", ["429", "429empty"])
def test_a_429_burst_is_retried_then_succeeds(fake, healthy, kind):
    # given: three 429s in a row (Amazon's QuotaExceeded body, or no body at all)
    inject(fake, "getListingsRestrictions", kind, count=3)
    stats = CallStats()

    # when
    restrictions = ops.get_listings_restrictions(healthy, "B0ACME0002", HEALTHY, US, stats=stats)

    # then
    assert restrictions[0].reason_code == "APPROVAL_REQUIRED"
    assert (stats.calls, stats.attempts, stats.retries, stats.throttled, stats.failures) == (1, 4, 3, 3, 0)
    assert served(fake, "getListingsRestrictions") == {"served": 1, "throttled": 0, "faulted": 3}


def test_throttling_beyond_the_attempts_gives_up_transiently(fake, healthy):
    inject(fake, "getListingsRestrictions", "429", count=10)

    with pytest.raises(SpapiThrottled) as raised:
        ops.get_listings_restrictions(healthy, "B0ACME0002", HEALTHY, US)

    assert raised.value.attempts == 4 and raised.value.transient
    assert raised.value.amazon_code == "QuotaExceeded"
    assert served(fake, "getListingsRestrictions")["faulted"] == 4


def test_an_html_500_is_transient_not_an_empty_success(fake, healthy):
    inject(fake, "getMarketplaceParticipations", "html500", count=1)
    stats = CallStats()

    participations = ops.get_marketplace_participations(healthy, stats=stats)

    assert len(participations) == 3 and stats.attempts == 2


def test_html_500s_all_the_way_raise_a_server_error(fake, healthy):
    inject(fake, "getReport", "html500", count=4)

    with pytest.raises(SpapiServerError) as raised:
        ops.get_report(healthy, "123")

    error = raised.value
    assert isinstance(error, SpapiTransientError) and error.status == 500 and error.attempts == 4
    assert "non-JSON text/html body" in str(error)


@pytest.mark.parametrize("kind", ["500", "503"])
def test_json_5xx_are_retried(fake, healthy, kind):
    inject(fake, "searchCatalogItems", kind, count=2)
    stats = CallStats()

    items = ops.search_catalog_items(healthy, US, ["B0ACME0001"], stats=stats)

    assert set(items) == {"B0ACME0001"} and stats.attempts == 3


def test_a_timeout_is_retried(settings, fake, healthy):
    settings.SPAPI_TIMEOUT = 0.3
    inject(fake, "getItemOffersBatch", "timeout", count=1, delay=1.0)
    stats = CallStats()

    offers = ops.get_item_offers_batch(healthy, US, ["B0ACME0001"], stats=stats)

    assert len(offers["B0ACME0001"]) == 2 and stats.attempts == 2 and stats.retries == 1


def test_timeouts_all_the_way_raise_a_timeout(settings, fake, healthy):
    settings.SPAPI_TIMEOUT = 0.2
    settings.SPAPI_MAX_ATTEMPTS = 2
    inject(fake, "getListingsRestrictions", "timeout", count=2, delay=0.5)

    with pytest.raises(SpapiTimeout) as raised:
        ops.get_listings_restrictions(healthy, "B0ACME0001", HEALTHY, US)

    assert raised.value.attempts == 2 and raised.value.transient


def test_malformed_json_is_final(fake, healthy):
    inject(fake, "getMarketplaceParticipations", "malformed", count=1)
    stats = CallStats()

    with pytest.raises(SpapiMalformedResponse) as raised:
        ops.get_marketplace_participations(healthy, stats=stats)

    assert raised.value.attempts == 1 and not raised.value.transient
    assert (stats.attempts, stats.failures) == (1, 1)
    assert served(fake, "getMarketplaceParticipations") == {"served": 0, "throttled": 0, "faulted": 1}


def test_a_400_is_final(fake, healthy):
    inject(fake, "searchCatalogItems", "400", count=1)

    with pytest.raises(SpapiClientError) as raised:
        ops.search_catalog_items(healthy, US, ["B0ACME0001"])

    assert raised.value.status == 400 and raised.value.attempts == 1 and not raised.value.transient
    assert served(fake, "searchCatalogItems")["faulted"] == 1
    # the next call is fine: nothing left over
    assert ops.search_catalog_items(healthy, US, ["B0ACME0001"])


def test_a_transient_lwa_failure_is_retried(fake, healthy):
    inject(fake, "lwa", "html500", count=1)

    assert ops.get_marketplace_participations(healthy)
    assert served(fake, "lwa") == {"served": 1, "throttled": 0, "faulted": 1}


def test_a_refused_refresh_token_is_final(fake):
    conn = connection(HEALTHY)
    fake.revoke(HEALTHY)

    with pytest.raises(SpapiAuthError) as raised:
        ops.get_marketplace_participations(conn)

    assert raised.value.amazon_code == "invalid_grant" and raised.value.attempts == 1
    assert served(fake, "lwa")["served"] == 1


def test_connection_refused_is_a_transient_connection_error(settings, healthy):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.SPAPI_LWA_TOKEN_URL = f"http://127.0.0.1:{closed_port}/auth/o2/token"

    with pytest.raises(SpapiConnectionError) as raised:
        ops.get_marketplace_participations(healthy)

    assert raised.value.attempts == 4 and raised.value.transient


def test_a_token_further_away_than_the_max_wait_is_not_waited_for(settings, fake, healthy):
    # getItemOffersBatch: burst 1, next token 0.2 s away at the tests' speed-up
    settings.SPAPI_RATE_MAX_WAIT = 0.05
    ops.get_item_offers_batch(healthy, US, ["B0ACME0001"])

    with pytest.raises(SpapiRateLimitTimeout) as raised:
        ops.get_item_offers_batch(healthy, US, ["B0ACME0001"])

    assert raised.value.transient and raised.value.attempts == 1  # not retried inside the call
    assert served(fake, "getItemOffersBatch")["served"] == 1
