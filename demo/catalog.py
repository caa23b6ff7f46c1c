"""What a catalog sync would write, for the demo: there is no sync service yet.

Amazon's Catalog Items API tells, per ASIN and marketplace, under which brand the catalog shows
the item. :func:`catalog_results_apply` writes such an answer onto the brand's ASIN presences the
way the real sync must — one transaction, the brand row locked first (the global lock order),
and one audit event per brand batch recorded with :func:`audit.services.record_many` before
commit, by a worker actor.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from django.utils import timezone

from audit import services as audit
from audit.context import Actor
from brands.models import AsinMarketplace, Brand, PresenceStatus
from config.db import locking_atomic

SYNC_TASK_NAME = "demo.catalog_sync"


def catalog_results_apply(
    *,
    brand: Brand,
    verified: Iterable[tuple[str, str]],
    mismatched: Iterable[tuple[str, str, str]] = (),
    actor: Actor | None = None,
) -> dict[str, int]:
    """Mark ``verified`` (ASIN code, marketplace code) presences of ``brand`` VERIFIED, with the
    catalog's brand name (the brand's own) and category and the time; ``mismatched`` (ASIN,
    marketplace, other brand name) ones BRAND_MISMATCH. Presences the brand never listed are
    ignored. Records ``asin.verified`` (and ``asin.brand_mismatch``) once for the batch."""
    actor = actor or Actor.task(SYNC_TASK_NAME)
    verified = set(verified)
    mismatched = {(code, market): other for code, market, other in mismatched}
    wanted = verified | set(mismatched)
    now = timezone.now()
    with locking_atomic():
        locked = Brand.objects.select_for_update().get(pk=brand.pk)
        presences = list(
            AsinMarketplace.objects.select_related("asin")
            .filter(asin__brand=locked, asin__asin__in={code for code, _m in wanted})
            .order_by("asin__asin", "marketplace_id")
        )
        done: dict[str, dict[str, list[str]]] = {"verified": defaultdict(list), "mismatched": defaultdict(list)}
        # One UPDATE per outcome (status, catalog brand, category), not one per presence.
        outcomes: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        for presence in presences:
            key = (presence.asin.asin, presence.marketplace_id)
            if key in verified:
                status, catalog_brand = PresenceStatus.VERIFIED, locked.name
                done["verified"][presence.marketplace_id].append(presence.asin.asin)
            elif key in mismatched:
                status, catalog_brand = PresenceStatus.BRAND_MISMATCH, mismatched[key]
                done["mismatched"][presence.marketplace_id].append(f"{presence.asin.asin}:{catalog_brand}")
            else:
                continue
            outcomes[(status, catalog_brand, presence.asin.category)].append(presence.pk)
        for (status, catalog_brand, category), pks in outcomes.items():
            for start in range(0, len(pks), 500):
                AsinMarketplace.objects.filter(pk__in=pks[start:start + 500]).update(
                    status=status, catalog_brand=catalog_brand, catalog_category=category, verified_at=now)
        locked.last_synced_at = now
        locked.save(update_fields=["last_synced_at", "updated_at"])
        events = []
        for action, kind in (("asin.verified", "verified"), ("asin.brand_mismatch", "mismatched")):
            by_market = done[kind]
            if by_market:
                events.append(audit.event(
                    action, object_type="brand", object_id=locked.pk, brand_id=locked.pk,
                    after={"count": sum(len(v) for v in by_market.values()),
                           "marketplaces": {m: sorted(v) for m, v in sorted(by_market.items())}},
                    reason="Catalog sync: Amazon's catalog shows these ASINs under "
                           + ("this brand." if kind == "verified" else "another brand."),
                ))
        audit.record_many(actor, events, at=now)
    return {kind: sum(len(v) for v in by_market.values()) for kind, by_market in done.items()}
