"""The demo's Amazon: the project's fake SP-API server (:mod:`spapi_client.fake`) on a free
loopback port, with a world built from the demo's, and the app's settings pointed at it while the
demo serves (:func:`fake_spapi_running`).

What the fake knows (:func:`fake_scenario`, built when the demo starts from its database and
``scenario.json``):

- sellers: every demo seller, with the refresh token the demo connected it with
  (:func:`demo.world.demo_refresh_token`), its marketplaces and an account health report made from
  its latest health profile (what the demo's last health sync read), so that a seller sync finds
  the world as loaded; and the Seller Central accounts of ``amazon.to_connect``, which only Amazon
  knows: the consent page signs in as the first (Northwind Retail Australia, for the ``partner``
  login). ``POST /_fake/consent {"seller_id": ...}`` picks another, e.g. Summit Trail Supply,
  disconnected in the story, to reconnect it;
- catalog: every (ASIN, marketplace) the brands list, under the brand's name but for the listings
  the demo's catalog sync found under another brand; the presences it never verified are listed
  too, so a brand sync verifies them;
- offers: sellers offer what they hold an active grant on; those whose grant was suspended, has
  ended or was revoked by an emergency stop still offer it, and so does a reseller the app has
  never heard of (``amazon.unknown_reseller``) on every hero ASIN: a brand sync opens findings
  for those. Amazon shows no offers of a deactivated account;
- listings restrictions: Amazon gates the sellers of ``amazon.gated`` on their first granted
  ASIN, which the diagnosis shows after a seller sync.

Amazon's rate limits run :data:`RATE_SPEEDUP` times faster, on the fake and in the client alike,
so that a brand sync (run inside the request: Celery is eager in the demo) takes seconds.
"""
from __future__ import annotations

import datetime as dt
import random
import zlib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from authorizations.models import Grant, GrantStatus
from authorizations.rules import effective_live_q
from brands.models import AsinMarketplace, PresenceStatus
from sellers.models import AccountStatus, Marketplace
from spapi_client.fake import FakeSpapi

from .health_reports import health_report
from .world import BrandPlan, Generator, SellerPlan, demo_refresh_token, load_scenario

RATE_SPEEDUP = 50
REPORT_POLLS = 2  # a health report is DONE at the second getReport ...
REPORT_POLL_SECONDS = 1  # ... one second after the first
LWA = {"client_id": "amzn1.application-oa2-client.demo", "client_secret": "demo-lwa-client-secret",
       "app_id": "amzn1.sp.solution.demo-app"}
APPROVAL_LINK = "https://sellercentral.amazon.com/hz/approvalrequest/restrictions/approve?asin={asin}&itemcondition=new"


def fake_scenario(scenario: dict[str, Any] | None = None, *, at: dt.datetime | None = None) -> dict[str, Any]:
    """The fake SP-API's scenario for the demo world in the database (see the module doc)."""
    scenario = scenario or load_scenario()
    at = at or timezone.now()
    market_ids = dict(Marketplace.objects.values_list("code", "marketplace_id"))
    brand_plans, seller_plans = Generator(scenario).plans()
    amazon = scenario["amazon"]
    sellers = _sellers(scenario, seller_plans, market_ids, at)
    for gate in amazon["gated"]:
        seller_id = next(p.seller_id for p in seller_plans if p.key == gate["seller"])
        sellers[seller_id]["restrictions"] = _restriction(seller_id, gate, market_ids, at)
    return {
        "_comment": "The demo world as Amazon shows it: built by demo/spapi.py when the demo starts.",
        "lwa": LWA,
        "consent": {"seller_id": amazon["to_connect"][0]["seller_id"]},
        "report_polls": REPORT_POLLS,
        "sellers": sellers,
        "catalog": _catalog(market_ids),
        "offers": _offers(brand_plans, amazon["unknown_reseller"], market_ids, at),
    }


def _sellers(scenario: dict[str, Any], plans: list[SellerPlan], market_ids: dict[str, str],
             at: dt.datetime) -> dict[str, dict[str, Any]]:
    groups, profiles = scenario["marketplace_groups"], scenario["health_profiles"]
    accounts = [(p.seller_id, p.name, p.markets, p.health[-1]) for p in plans]
    accounts += [(s["seller_id"], s["name"], groups[s["markets"]], s["health"])
                 for s in scenario["amazon"]["to_connect"]]
    rng = random.Random(scenario["seed"])
    sellers = {}
    for seller_id, name, markets, profile in accounts:
        marketplace_ids = [market_ids[m] for m in markets]
        sellers[seller_id] = {
            "name": name, "store_name": name, "refresh_token": demo_refresh_token(seller_id),
            "participations": marketplace_ids, "report": {"gzip": True},
            "health_report": health_report(profiles[profile], marketplace_ids, at=at, rng=rng),
        }
    return sellers


def _restriction(seller_id: str, gate: dict[str, str], market_ids: dict[str, str],
                 at: dt.datetime) -> dict[str, dict[str, list[dict[str, Any]]]]:
    grant = (Grant.objects.filter(effective_live_q(at), seller__seller_id=seller_id, status=GrantStatus.ACTIVE)
             .select_related("asin").order_by("asin__asin", "marketplace_id").first())
    if grant is None:
        return {}
    code = grant.asin.asin
    links = []
    if gate["reason_code"] == "APPROVAL_REQUIRED":
        links = [{"resource": APPROVAL_LINK.format(asin=code), "verb": "GET",
                  "title": "Request Approval via Seller Central.", "type": "text/html"}]
    return {code: {market_ids[grant.marketplace_id]: [
        {"reasonCode": gate["reason_code"], "message": gate["message"], "links": links}]}}


def _catalog(market_ids: dict[str, str]) -> dict[str, dict[str, dict[str, Any]]]:
    catalog: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    presences = AsinMarketplace.objects.select_related("asin__brand").order_by("asin__asin", "marketplace_id")
    for presence in presences:
        asin = presence.asin
        mismatched = presence.status == PresenceStatus.BRAND_MISMATCH
        catalog[asin.asin][market_ids[presence.marketplace_id]] = {
            "brand": presence.catalog_brand if mismatched else asin.brand.name,
            "title": asin.title,
            "classification": [asin.category] if asin.category else [],
        }
    return dict(catalog)


def _offers(brand_plans: list[BrandPlan], unknown_reseller: str, market_ids: dict[str, str],
            at: dt.datetime) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Who offers what: see the module doc. One offer per seller; the cheapest wins the buy box."""
    offered = (
        Q(status=GrantStatus.ACTIVE) | Q(status=GrantStatus.SUSPENDED) | Q(status=GrantStatus.EXPIRED)
        | Q(status=GrantStatus.REVOKED, status_reason_code="REVOKE_ALL")
    )
    rows = (Grant.objects.filter(offered).exclude(seller__account_status=AccountStatus.DEACTIVATED)
            .values_list("asin__asin", "marketplace_id", "seller__seller_id").distinct())
    sellers: dict[tuple[str, str], set[str]] = defaultdict(set)
    for asin, code, seller_id in rows:
        sellers[(asin, code)].add(seller_id)
    for brand in brand_plans:
        for asin in brand.heroes:
            for code in asin.marketplaces:
                sellers[(asin.code, code)].add(unknown_reseller)
    offers: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
    for (asin, code), seller_ids in sorted(sellers.items()):
        listed = sorted(({"seller_id": s, "price": _price(asin, s), "fba": _stable(s) % 2 == 0} for s in seller_ids),
                        key=lambda o: (o["price"], o["seller_id"]))
        listed[0]["buy_box"] = True
        offers[asin][market_ids[code]] = listed
    return dict(offers)


def _stable(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _price(asin: str, seller_id: str) -> float:
    """A price that is the same at every start: the ASIN's list price, ±10 % by seller."""
    base = Decimal(15 + _stable(asin) % 135) + Decimal("0.99")
    factor = Decimal(90 + _stable(asin + seller_id) % 21) / 100
    return float((base * factor).quantize(Decimal("0.01")))


@contextmanager
def fake_spapi_running(*, site_url: str, scenario: dict[str, Any] | None = None) -> Iterator[FakeSpapi]:
    """Serve the fake SP-API on a free loopback port with :func:`fake_scenario`; inside, the app's
    settings point at it, with ``SITE_URL`` = ``site_url`` (where its consent page sends the
    browser back to ``/spapi/callback``). Whatever the environment says, the demo never reaches
    Amazon."""
    fake = FakeSpapi(fake_scenario(scenario), speedup=RATE_SPEEDUP).start()
    values = {**fake.app_settings(), "SITE_URL": site_url.rstrip("/"), "SPAPI_REPORT_POLL_SECONDS": REPORT_POLL_SECONDS}
    saved = {name: getattr(settings, name) for name in values}
    # Set at run time, in this process only: the fake's port is known once it serves.
    for name, value in values.items():
        setattr(settings, name, value)
    try:
        yield fake
    finally:
        for name, value in saved.items():
            setattr(settings, name, value)
        fake.stop()
