"""The demo's catalog sync: answers it made up itself, applied by the real service.

Loading the world calls no SP-API (once the demo serves, its fake SP-API, demo/spapi.py, answers
with a catalog built from what this wrote). It decides which (ASIN, marketplace) presences Amazon's catalog would
show under the brand and which under another brand, turns that into catalog items, and hands
them to :func:`brands.sync.catalog_results_apply` — the one piece of code that applies catalog
results, the same the brand sync uses — marketplace by marketplace, as a worker actor.
"""
from __future__ import annotations

from typing import Iterable

from django.db import transaction
from django.utils import timezone

from audit.context import Actor
from brands import sync
from brands.models import Asin, Brand
from sellers.models import Marketplace
from spapi_client.operations import CatalogItem

SYNC_TASK_NAME = "demo.catalog_sync"


def catalog_results_apply(
    *,
    brand: Brand,
    verified: Iterable[tuple[str, str]],
    mismatched: Iterable[tuple[str, str, str]] = (),
    actor: Actor | None = None,
) -> dict[str, int]:
    """Apply a made-up catalog answer: ``verified`` (ASIN code, marketplace code) pairs show the
    item under the brand's own name and the ASIN's own category; ``mismatched`` (ASIN,
    marketplace, other brand name) under another brand. Only those pairs are asked (the rest stay
    as they are); presences the brand never listed are ignored. Marketplaces are applied in the
    order they first appear (verified pairs first). Marks the brand synced."""
    actor = actor or Actor.task(SYNC_TASK_NAME)
    answers: dict[str, dict[str, str]] = {}  # marketplace code -> {ASIN: catalog brand}
    for code, market in verified:
        answers.setdefault(market, {})[code] = brand.name
    for code, market, other in mismatched:
        answers.setdefault(market, {})[code] = other
    codes = {code for by_asin in answers.values() for code in by_asin}
    asins = {a.asin: a for a in Asin.objects.filter(brand=brand, asin__in=codes)}
    markets = {m.code: m for m in Marketplace.objects.filter(code__in=answers)}
    totals = {"verified": 0, "mismatched": 0}
    with transaction.atomic():
        for market_code, by_asin in answers.items():
            market = markets.get(market_code)
            if market is None:
                continue
            items = {
                code: CatalogItem(asin=code, marketplace_id=market.marketplace_id, brand=catalog_brand,
                                  title=asins[code].title, classification=asins[code].category,
                                  category=asins[code].category)
                for code, catalog_brand in by_asin.items() if code in asins
            }
            done = sync.catalog_results_apply(actor=actor, brand=brand, marketplace=market, items_by_asin=items,
                                              asked=list(items))
            totals["verified"] += done["verified"]
            totals["mismatched"] += done["mismatched"]
        sync.brand_synced_mark(brand=brand, at=timezone.now())
    return totals
