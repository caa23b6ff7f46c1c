"""The fake server itself: Amazon's 429, tolerance of the library's quirks, control endpoints,
paging, the management command."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from spapi_client import operations as ops
from spapi_client.errors import SpapiAuthError
from spapi_client.fake import QUOTA_EXCEEDED_BODY, FakeSpapi

from .conftest import BRAND_OWNER, HEALTHY, SCENARIO, SPEEDUP, US, connection, point_at, refresh_token

ROOT = Path(__file__).resolve().parents[2]


def access_token(fake, seller_id: str = HEALTHY) -> str:
    answer = httpx.post(fake.lwa_token_url, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token(seller_id),
        "client_id": SCENARIO["lwa"]["client_id"], "client_secret": SCENARIO["lwa"]["client_secret"],
    })
    assert answer.status_code == 200
    return answer.json()["access_token"]


def test_over_the_bucket_the_fake_answers_amazons_429():
    # given: getItemOffersBatch at 0.1/s × 5, burst 1 — a token every 2 s, so that two requests
    # in a row are within one even on a busy machine
    speedup = 5
    with FakeSpapi(SCENARIO, speedup=speedup) as fake:
        token = access_token(fake)
        url = f"{fake.url}/batches/products/pricing/v0/itemOffers"
        body = {"requests": [{"uri": "/products/pricing/v0/items/B0ACME0001/offers", "method": "GET",
                              "MarketplaceId": US, "ItemCondition": "New"}]}

        first = httpx.post(url, json=body, headers={"x-amz-access-token": token})
        second = httpx.post(url, json=body, headers={"x-amz-access-token": token})  # burst 1

        assert first.status_code == 200 and first.headers["x-amzn-RateLimit-Limit"] == "0.1"
        assert second.status_code == 429 and second.content == QUOTA_EXCEEDED_BODY
        assert second.content == (b'{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the '
                                  b'requested resource.","details":""}]}')
        assert "x-amzn-RateLimit-Limit" not in second.headers
        assert fake.stats()["getItemOffersBatch"] == {"served": 1, "throttled": 1, "faulted": 0}
        time.sleep(1 / (0.1 * speedup))
        assert httpx.post(url, json=body, headers={"x-amz-access-token": token}).status_code == 200


def test_host_header_and_extra_marketplace_parameters_are_ignored(fake):
    answer = httpx.get(
        f"{fake.url}/sellers/v1/marketplaceParticipations",
        params={"MarketplaceId": US, "MarketplaceIds": US, "marketplace_ids": US, "marketplaceIds": US, "x": "y"},
        headers={"x-amz-access-token": access_token(fake), "Host": "27.0.0.1:8100"},  # endpoint[8:] of http://...
    )

    assert answer.status_code == 200 and answer.json()["payload"][0]["marketplace"]["id"] == US


def test_without_a_valid_access_token_the_fake_refuses(fake):
    answer = httpx.get(f"{fake.url}/sellers/v1/marketplaceParticipations", headers={"x-amz-access-token": "Atza|x"})

    assert answer.status_code == 403 and answer.json()["errors"][0]["code"] == "Unauthorized"


def test_lwa_checks_the_client_credentials(settings, healthy):
    settings.SPAPI_LWA_CLIENT_SECRET = "wrong"

    with pytest.raises(SpapiAuthError) as raised:
        ops.get_marketplace_participations(healthy)

    assert raised.value.status == 401 and raised.value.amazon_code == "invalid_client"


def test_control_endpoints(fake):
    bad = httpx.post(f"{fake.url}/_fake/faults", json={"operation": "getReport", "kind": "teapot"})
    unknown = httpx.post(f"{fake.url}/_fake/faults", json={"operation": "getOrders", "kind": "429"})
    ok = httpx.post(f"{fake.url}/_fake/faults", json={"operation": "*", "kind": "503", "count": 1})
    faulted = httpx.get(f"{fake.url}/sellers/v1/marketplaceParticipations")
    reset = httpx.post(f"{fake.url}/_fake/reset")

    assert (bad.status_code, unknown.status_code, ok.status_code) == (400, 400, 200)
    assert faulted.status_code == 503
    assert reset.status_code == 200
    assert httpx.get(f"{fake.url}/_fake/stats").json()["getMarketplaceParticipations"] == {
        "served": 0, "throttled": 0, "faulted": 0}


def test_consent_seller_can_be_chosen(fake):
    chosen = httpx.post(f"{fake.url}/_fake/consent", json={"seller_id": BRAND_OWNER})
    unknown = httpx.post(f"{fake.url}/_fake/consent", json={"seller_id": "A0NOBODY00000"})

    answer = httpx.get(ops.consent_url("s"), follow_redirects=False)

    assert (chosen.status_code, unknown.status_code) == (200, 400)
    assert f"selling_partner_id={BRAND_OWNER}" in answer.headers["location"]


def test_documents_are_served_without_a_token_and_unknown_ones_refused(fake):
    conn = connection(HEALTHY)
    status = ops.wait_for_report(conn, ops.create_health_report(conn, [US]), poll_seconds=0.01)

    document = httpx.get(f"{fake.url}/_fake/documents/{status.document_id}")
    missing = httpx.get(f"{fake.url}/_fake/documents/nope")

    assert document.status_code == 200 and document.content[:2] == b"\x1f\x8b"  # the scenario gzips it
    assert missing.status_code == 403


def test_catalog_pages_and_the_client_follows_them(settings, monkeypatch):
    # given: 12 ASINs in the catalog
    catalog = {f"B0PAGE{n:04d}": {US: {"brand": "Pager", "title": f"Item {n}", "classification": ["Toys & Games"]}}
               for n in range(12)}
    with FakeSpapi({**SCENARIO, "catalog": catalog}, speedup=SPEEDUP) as paged:
        point_at(settings, paged)
        token = access_token(paged, BRAND_OWNER)

        # when: asked without pageSize, the fake (like Amazon) answers 10 items and a next token
        first = httpx.get(f"{paged.url}/catalog/2022-04-01/items", headers={"x-amz-access-token": token}, params={
            "identifiers": ",".join(catalog), "identifiersType": "ASIN", "marketplaceIds": US})
        too_big = httpx.get(f"{paged.url}/catalog/2022-04-01/items", headers={"x-amz-access-token": token}, params={
            "identifiers": ",".join(catalog), "identifiersType": "ASIN", "marketplaceIds": US, "pageSize": 21})
        monkeypatch.setattr(ops, "CATALOG_PAGE_SIZE", 5)
        items = ops.search_catalog_items(connection(BRAND_OWNER), US, list(catalog))

        # then
        assert len(first.json()["items"]) == 10 and first.json()["pagination"]["nextToken"]
        assert too_big.status_code == 400
        assert set(items) == set(catalog)
        assert paged.stats()["searchCatalogItems"]["served"] == 2 + 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_management_command_serves_the_fake():
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "fake_spapi", "--port", str(port), "--speedup", "50"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/_fake/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        assert answer.json() == {"ok": True}
        token = httpx.post(f"http://127.0.0.1:{port}/auth/o2/token", data={
            "grant_type": "refresh_token", "refresh_token": refresh_token(HEALTHY),
            "client_id": SCENARIO["lwa"]["client_id"], "client_secret": SCENARIO["lwa"]["client_secret"]})
        assert token.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
