"""Unauthorized-offer findings: who offers a brand's ASIN without an active grant (DOMAIN.md),
from Amazon's offers data (``getItemOffersBatch``, new condition), on the brand's SP-API account.

- :func:`offers_apply` writes one batch of offers answers (one marketplace, up to 20 ASINs): one
  transaction that locks the brand row first (the global lock order) and its open findings,
  opens or refreshes a finding per unauthorized offering seller, resolves the findings whose
  seller stopped offering (``DISAPPEARED``) or now holds an active grant (``GRANTED``), and
  records ``finding.opened`` / ``finding.resolved`` on the brand's audit stream.
- :func:`brand_offers_sync` fetches the answers, outside any transaction, batch by batch.

Idempotent: a re-delivered task (or the same scan twice) finds the open finding and refreshes
it; the partial unique index ``finding_one_open_per_offer`` is the last line of defence. A batch
seen earlier than a finding's ``last_seen_at`` (a late re-delivery) neither moves that time
back nor resolves what a newer scan saw.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from audit import services as audit
from audit.context import Actor
from audit.services import EventSpec
from brands.models import Asin, Brand
from brands.sync import (
    TASK_NAME, SyncTracker, batch_count, batches, brand_connection, brand_of_run, brand_presence_plan,
)
from config.db import locking_atomic
from sellers.models import Marketplace, Seller
from spapi_client import operations
from spapi_client.client import SpapiConnection
from spapi_client.models import SyncRun
from spapi_client.operations import Offer

from .models import FindingResolution, Grant, GrantStatus, UnauthorizedOffer

__all__ = ["offers_apply", "brand_offers_sync"]

PRICE_QUANTUM = Decimal("0.01")
PRICE_MAX = Decimal("9999999999.99")  # max_digits=12, decimal_places=2


def _price(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    value = value.quantize(PRICE_QUANTUM)
    return value if -PRICE_MAX <= value <= PRICE_MAX else None


def _by_seller(offers: Sequence[Offer]) -> dict[str, Offer]:
    """One offer per seller (a seller may list an ASIN more than once): its buy-box winner, else
    its lowest price."""
    chosen: dict[str, Offer] = {}
    for offer in offers:
        seller_id = (offer.seller_id or "").strip().upper()
        current = chosen.get(seller_id)
        if seller_id and (current is None or _better(offer, current)):
            chosen[seller_id] = offer
    return chosen


def _better(offer: Offer, current: Offer) -> bool:
    if offer.is_buy_box_winner != current.is_buy_box_winner:
        return offer.is_buy_box_winner
    if current.price is None:
        return offer.price is not None
    return offer.price is not None and offer.price < current.price


def _authorized(brand: Brand, asin_ids: list[int], code: str, at: dt.datetime) -> set[tuple[int, str]]:
    """(asin id, seller id) holding an ACTIVE grant inside its term at ``at`` (a suspended, pending
    or expired grant does not authorize an offer)."""
    in_term = Q(valid_from__lte=at) & (Q(valid_until__isnull=True) | Q(valid_until__gt=at))
    rows = (Grant.objects.filter(in_term, brand=brand, asin_id__in=asin_ids, marketplace_id=code,
                                 status=GrantStatus.ACTIVE)
            .order_by().values_list("asin_id", "seller__seller_id"))
    return set(rows)


def offers_apply(
    *,
    actor: Actor,
    brand: Brand,
    marketplace: Marketplace | str,
    offers_by_asin: Mapping[str, Sequence[Offer]],
    asked: Iterable[str],
    seen_at: dt.datetime,
) -> dict[str, int]:
    """Write one batch of Amazon's offers for the ``asked`` ASIN codes of ``brand`` in ``marketplace``.

    ``offers_by_asin`` holds the ASINs Amazon answered (``[]``: nobody offers it); an asked ASIN
    missing from it was not answered (refused inside the batch) and its findings are left as they
    are, except that a finding whose seller now holds an active grant is resolved ``GRANTED``.
    The brand's own SP-API account is never a finding.

    Returns counts: ``offers_seen`` (offering sellers, the brand's own excepted),
    ``offers_unauthorized``, ``findings_opened``, ``findings_refreshed``,
    ``findings_resolved_disappeared``, ``findings_resolved_granted``, ``offers_unanswered``.
    """
    if timezone.is_naive(seen_at):
        raise ValueError("seen_at must be timezone-aware")
    code = marketplace.code if isinstance(marketplace, Marketplace) else str(marketplace).upper()
    codes = list(dict.fromkeys(str(a).strip().upper() for a in asked))
    answered = {str(k).strip().upper(): _by_seller(v) for k, v in offers_by_asin.items()}
    counts = Counter({key: 0 for key in ("offers_seen", "offers_unauthorized", "findings_opened", "findings_refreshed",
                                         "findings_resolved_disappeared", "findings_resolved_granted",
                                         "offers_unanswered")})
    if not codes:
        return dict(counts)
    with locking_atomic():
        locked = Brand.objects.select_for_update().get(pk=brand.pk)
        own = (Seller.objects.filter(pk=locked.spapi_account_id).values_list("seller_id", flat=True).first()
               if locked.spapi_account_id else None)
        asins = {a.asin: a for a in Asin.objects.filter(brand=locked, asin__in=codes).order_by("asin")}
        asin_ids = [a.pk for a in asins.values()]
        authorized = _authorized(locked, asin_ids, code, seen_at)
        open_findings = {
            (f.asin_id, f.offering_seller_id): f
            for f in UnauthorizedOffer.objects.select_for_update()
            .filter(asin_id__in=asin_ids, marketplace_id=code, resolved_at__isnull=True).order_by("pk")
        }
        offering_ids = {s for offers in answered.values() for s in offers}
        names = dict(Seller.objects.filter(seller_id__in=offering_ids).values_list("seller_id", "name"))

        created: list[UnauthorizedOffer] = []
        refreshed: list[UnauthorizedOffer] = []
        offering: set[tuple[int, str]] = set()
        for asin_code, asin in asins.items():
            offers = answered.get(asin_code)
            if offers is None:
                counts["offers_unanswered"] += 1
                continue
            for seller_id, offer in sorted(offers.items()):
                if seller_id == own:
                    continue
                counts["offers_seen"] += 1
                key = (asin.pk, seller_id)
                offering.add(key)
                if key in authorized:
                    continue
                counts["offers_unauthorized"] += 1
                finding = open_findings.get(key)
                if finding is None:
                    created.append(UnauthorizedOffer(
                        brand=locked, asin=asin, marketplace_id=code, offering_seller_id=seller_id[:20],
                        seller_name=names.get(seller_id, ""), price=_price(offer.price), currency=offer.currency[:3],
                        is_buy_box_winner=offer.is_buy_box_winner, first_seen_at=seen_at, last_seen_at=seen_at,
                    ))
                elif seen_at >= finding.last_seen_at:
                    finding.last_seen_at = seen_at
                    finding.price, finding.currency = _price(offer.price), offer.currency[:3]
                    finding.is_buy_box_winner = offer.is_buy_box_winner
                    finding.seller_name = names.get(seller_id, finding.seller_name)
                    refreshed.append(finding)
                    counts["findings_refreshed"] += 1
                else:  # a late re-delivery of an older scan: a newer one already saw this offer
                    counts["findings_refreshed"] += 1

        resolved: list[UnauthorizedOffer] = []
        answered_ids = {asins[c].pk for c in answered if c in asins}
        for key, finding in open_findings.items():
            asin_id, seller_id = key
            if key in authorized or seller_id == own:
                resolution = FindingResolution.GRANTED
            elif asin_id in answered_ids and key not in offering and finding.last_seen_at <= seen_at:
                resolution = FindingResolution.DISAPPEARED
            else:
                continue
            finding.resolved_at, finding.resolution = seen_at, resolution
            resolved.append(finding)
            counts["findings_resolved_" + resolution.lower()] += 1

        if refreshed:
            UnauthorizedOffer.objects.bulk_update(
                refreshed, ["last_seen_at", "price", "currency", "is_buy_box_winner", "seller_name"])
        if resolved:
            UnauthorizedOffer.objects.bulk_update(resolved, ["resolved_at", "resolution"])
        UnauthorizedOffer.objects.bulk_create(created)
        counts["findings_opened"] = len(created)
        asin_codes = {a.pk: a.asin for a in asins.values()}
        events = [_opened_event(f, asin_codes[f.asin_id], code) for f in created]
        events += [_resolved_event(f, asin_codes[f.asin_id], code) for f in resolved]
        audit.record_many(actor, events)
    return dict(counts)


def _finding_facts(finding: UnauthorizedOffer, asin: str, code: str) -> dict[str, Any]:
    return {"asin": asin, "marketplace": code, "seller_id": finding.offering_seller_id,
            "seller_name": finding.seller_name, "price": finding.price, "currency": finding.currency,
            "is_buy_box_winner": finding.is_buy_box_winner, "first_seen_at": finding.first_seen_at,
            "last_seen_at": finding.last_seen_at}


def _opened_event(finding: UnauthorizedOffer, asin: str, code: str) -> EventSpec:
    return audit.event(
        "finding.opened", object_type="finding", object_id=finding.pk, brand_id=finding.brand_id,
        seller_id=finding.offering_seller_id, after=_finding_facts(finding, asin, code),
        reason=f"Offers scan: seller {finding.offering_seller_id} offers {asin} in {code} without an active "
               "authorization.",
    )


_RESOLVED_REASONS = {
    FindingResolution.DISAPPEARED: "Offers scan: seller {seller} no longer offers {asin} in {code}.",
    FindingResolution.GRANTED: "Offers scan: seller {seller} now holds an active authorization for {asin} in {code}.",
}


def _resolved_event(finding: UnauthorizedOffer, asin: str, code: str) -> EventSpec:
    return audit.event(
        "finding.resolved", object_type="finding", object_id=finding.pk, brand_id=finding.brand_id,
        seller_id=finding.offering_seller_id, before={"resolved_at": None},
        after={**_finding_facts(finding, asin, code), "resolved_at": finding.resolved_at,
               "resolution": finding.resolution},
        reason=_RESOLVED_REASONS[FindingResolution(finding.resolution)].format(
            seller=finding.offering_seller_id, asin=asin, code=code),
    )


def brand_offers_sync(run: SyncRun, *, actor: Actor | None = None, tracker: SyncTracker | None = None,
                      brand: Brand | None = None, connection: SpapiConnection | None = None) -> dict[str, Any]:
    """Scan who offers every (marketplace, ASIN) the brand lists, on the brand's SP-API account:
    one ``getItemOffersBatch`` per 20 ASINs of a marketplace, each answer applied in its own
    transaction, progress after each. Raises like :func:`brands.sync.brand_catalog_sync`."""
    actor = actor or Actor.task(TASK_NAME)
    tracker = tracker or SyncTracker(run)
    brand = brand or brand_of_run(run)
    connection = connection or brand_connection(brand)
    plan = brand_presence_plan(brand)
    stats = tracker.begin("offers", batches=batch_count(plan))
    for market, asins in plan:
        for chunk in batches(asins):
            offers = operations.get_item_offers_batch(connection, market.marketplace_id, chunk, stats=stats)
            tracker.add(offers_apply(actor=actor, brand=brand, marketplace=market, offers_by_asin=offers,
                                     asked=chunk, seen_at=timezone.now()))
            tracker.step()
    return tracker.as_counts()
