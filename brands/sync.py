"""Catalog verification: applying what Amazon's catalog says about a brand's ASINs, and the
brand sync that fetches it (SPAPI.md "catalog verification"; DOMAIN.md ``ASIN_NOT_IN_MARKETPLACE``).

Two layers, like every sync here:

- :func:`catalog_results_apply` writes one batch of catalog answers (one marketplace, up to 20
  ASINs) onto the brand's ASIN presences: one transaction that locks the brand row first (the
  global lock order), writes, and records audit events for what changed, with a single
  :func:`audit.services.record_many` call. It never talks to Amazon; the demo feeds it answers
  it made up, the brand sync feeds it ``searchCatalogItems``.
- :func:`brand_catalog_sync` (and :func:`brand_sync`, catalog then offers) runs on the brand's
  SP-API account: it reads the plan, calls Amazon *outside* any transaction, and hands each
  answer to the apply function. A batch applied stays applied if a later batch fails; running
  again is harmless (it writes the same statuses, and audits only changes).

Category: an ASIN has one category but each marketplace's catalog names its own tree, in its own
language ("Books", "Bücher", "本"). ``EXCLUDED_CATEGORIES`` are English names, so taking the
category from a German or Japanese tree would silently open a book to authorization, and taking
it from every marketplace would make it flap between "Home & Kitchen" (US) and "Home" (CA) on
every sync. The ASIN's category therefore follows one *reference* marketplace: the first, in
:data:`CATEGORY_MARKETPLACES` order, in which the brand lists it. Other marketplaces still record
their own ``catalog_category`` on the presence.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from django.utils import timezone

from audit import services as audit
from audit.context import Actor
from audit.services import EventSpec
from config.db import locking_atomic
from sellers.crypto import DecryptionError
from sellers.models import Marketplace, Seller
from spapi_client import operations
from spapi_client.client import CallStats, SpapiConnection, connection_for
from spapi_client.errors import SpapiNotConnected
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from spapi_client.runs import enqueue, run_create, run_progress

from .models import Asin, AsinMarketplace, Brand, PresenceStatus

__all__ = [
    "TASK_NAME",
    "CATEGORY_MARKETPLACES",
    "BrandSyncError",
    "SyncTracker",
    "catalog_results_apply",
    "brand_synced_mark",
    "brand_connection",
    "brand_presence_plan",
    "brand_of_run",
    "brand_catalog_sync",
    "brand_sync",
    "brand_sync_request",
]

TASK_NAME = "brands.sync_brand"  # the audit actor of every change a brand sync makes
BATCH_SIZE = operations.MAX_ASINS_PER_CALL  # 20 ASINs per searchCatalogItems / getItemOffersBatch
# Marketplaces whose catalog names categories in English, most authoritative first (see above).
CATEGORY_MARKETPLACES: tuple[str, ...] = ("US", "UK", "CA", "AU", "IE", "IN", "SG", "AE", "ZA")
# A PENDING or RUNNING brand run younger than this is "already under way": asking again returns it.
# Longer than the task's hard time limit, so a run lost with its worker does not block for ever.
RUN_BUSY_FOR = timedelta(hours=2)

TEXT_MAX = AsinMarketplace._meta.get_field("catalog_brand").max_length

BRAND_KINDS = (SyncKind.BRAND, SyncKind.BRAND_CATALOG, SyncKind.BRAND_OFFERS)


class CatalogAnswer(Protocol):
    """What the apply function reads from one catalog item (``spapi_client.operations.CatalogItem``)."""

    brand: str
    category: str


class BrandSyncError(Exception):
    """A brand sync that cannot run (no SP-API account, not connected, brand gone): final, and
    its message is shown to the brand owner and ops as the run's error."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# -- applying one batch of catalog answers -------------------------------------------------------

def _same_brand(catalog_brand: str, brand_name: str) -> bool:
    return catalog_brand.strip().casefold() == brand_name.strip().casefold() and bool(catalog_brand.strip())


def _text(value: str | None) -> str:
    """A catalog string as stored (catalog_brand, catalog_category and category hold 200 characters)."""
    return (value or "").strip()[:TEXT_MAX]


def _category_reference(asin_ids: Iterable[int]) -> dict[int, str]:
    """asin id -> the marketplace whose catalog sets the ASIN's category (see the module doc)."""
    rank = {code: index for index, code in enumerate(CATEGORY_MARKETPLACES)}
    reference: dict[int, str] = {}
    rows = AsinMarketplace.objects.filter(asin_id__in=list(asin_ids), marketplace_id__in=CATEGORY_MARKETPLACES)
    for asin_id, code in rows.values_list("asin_id", "marketplace_id"):
        if asin_id not in reference or rank[code] < rank[reference[asin_id]]:
            reference[asin_id] = code
    return reference


@dataclass
class _Outcome:
    presence: AsinMarketplace
    status: str
    catalog_brand: str
    catalog_category: str

    @property
    def changed(self) -> bool:
        before = self.presence
        if self.status != before.status:
            return True
        # Still under another brand, but now a different one: the owner should hear of it.
        return self.status == PresenceStatus.BRAND_MISMATCH and self.catalog_brand != before.catalog_brand


def catalog_results_apply(
    *,
    actor: Actor,
    brand: Brand,
    marketplace: Marketplace | str,
    items_by_asin: Mapping[str, CatalogAnswer],
    asked: Iterable[str],
) -> dict[str, int]:
    """Write Amazon's catalog answer for the ``asked`` ASIN codes of ``brand`` in ``marketplace``.

    For each asked ASIN the brand lists in that marketplace: an item whose brand is the brand's
    name (case-insensitive, trimmed) → ``VERIFIED`` (``verified_at`` now, catalog brand and
    category; the ASIN's category follows its reference marketplace's catalog); an item under
    another brand → ``BRAND_MISMATCH`` (the owner is told by an ``asin.brand_mismatch`` event and
    the ASIN list's status); no item → ``NOT_FOUND``. Asked ASINs the brand does not list there
    are ignored. Audit events only for changes: ``asin.verified``, ``asin.brand_mismatch``,
    ``asin.not_found`` (one each per batch, listing the ASINs) and ``asin.updated`` per ASIN whose
    category changed.

    Returns counts: ``presences_checked`` (presences judged), ``verified``, ``not_found``, ``mismatched``
    (this batch's verdicts), ``catalog_changed`` (presences whose status changed),
    ``categories_updated``.
    """
    code = marketplace.code if isinstance(marketplace, Marketplace) else str(marketplace).upper()
    codes = list(dict.fromkeys(str(a).strip().upper() for a in asked))
    items = {str(k).strip().upper(): v for k, v in items_by_asin.items()}
    counts = Counter({"presences_checked": 0, "verified": 0, "not_found": 0, "mismatched": 0, "catalog_changed": 0,
                      "categories_updated": 0})
    if not codes:
        return dict(counts)
    with locking_atomic():
        locked = Brand.objects.select_for_update().get(pk=brand.pk)
        now = timezone.now()  # under the brand's lock: the brand stream's times follow its order
        presences = list(
            AsinMarketplace.objects.select_related("asin")
            .filter(asin__brand=locked, marketplace_id=code, asin__asin__in=codes)
            .order_by("asin__asin")
        )
        reference = _category_reference(p.asin_id for p in presences) if code in CATEGORY_MARKETPLACES else {}
        outcomes: list[_Outcome] = []
        new_categories: dict[int, tuple[Asin, str]] = {}
        for presence in presences:
            item = items.get(presence.asin.asin)
            if item is None:
                outcome = _Outcome(presence, PresenceStatus.NOT_FOUND, "", "")
                counts["not_found"] += 1
            elif _same_brand(item.brand or "", locked.name):
                outcome = _Outcome(presence, PresenceStatus.VERIFIED, _text(item.brand), _text(item.category))
                counts["verified"] += 1
                category = outcome.catalog_category
                if category and reference.get(presence.asin_id) == code and category != presence.asin.category:
                    new_categories[presence.asin_id] = (presence.asin, category)
            else:
                outcome = _Outcome(presence, PresenceStatus.BRAND_MISMATCH, _text(item.brand), _text(item.category))
                counts["mismatched"] += 1
            counts["presences_checked"] += 1
            outcomes.append(outcome)

        _write_presences(outcomes, now)
        events = _presence_events(locked, code, [o for o in outcomes if o.changed])
        counts["catalog_changed"] = sum(1 for o in outcomes if o.changed)
        events += _write_categories(locked, code, new_categories, now)
        counts["categories_updated"] = len(new_categories)
        audit.record_many(actor, events, at=now)
    return dict(counts)


def _write_presences(outcomes: list[_Outcome], now) -> None:
    """One UPDATE per distinct outcome (a batch has at most 20 presences). A presence that is
    still VERIFIED gets a fresh ``verified_at`` (the last sync that showed it); one still NOT_FOUND
    or under the same other brand is not written at all."""
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for outcome in outcomes:
        presence = outcome.presence
        unchanged = (presence.status, presence.catalog_brand, presence.catalog_category) == (
            outcome.status, outcome.catalog_brand, outcome.catalog_category)
        if unchanged and outcome.status != PresenceStatus.VERIFIED:
            continue
        groups[(outcome.status, outcome.catalog_brand, outcome.catalog_category)].append(presence.pk)
    for (status, catalog_brand, catalog_category), pks in groups.items():
        AsinMarketplace.objects.filter(pk__in=pks).update(
            status=status, catalog_brand=catalog_brand, catalog_category=catalog_category,
            verified_at=now if status == PresenceStatus.VERIFIED else None,
        )


_PRESENCE_ACTIONS = (
    (PresenceStatus.VERIFIED, "asin.verified", "Catalog sync: Amazon's catalog shows these ASINs in %s under this brand."),
    (PresenceStatus.BRAND_MISMATCH, "asin.brand_mismatch",
     "Catalog sync: Amazon's catalog shows these ASINs in %s under another brand; they cannot be authorized there "
     "until the listing is corrected."),
    (PresenceStatus.NOT_FOUND, "asin.not_found", "Catalog sync: Amazon's catalog does not show these ASINs in %s."),
)


def _presence_events(brand: Brand, code: str, changed: list[_Outcome]) -> list[EventSpec]:
    """One event per verdict for the batch's changes, on the brand: ``after.marketplaces`` lists
    the ASINs, ``before.statuses`` what each was."""
    events = []
    for status, action, reason in _PRESENCE_ACTIONS:
        group = sorted((o for o in changed if o.status == status), key=lambda o: o.presence.asin.asin)
        if not group:
            continue
        after: dict[str, Any] = {"count": len(group), "marketplaces": {code: [o.presence.asin.asin for o in group]}}
        if status == PresenceStatus.BRAND_MISMATCH:
            after["catalog_brands"] = {o.presence.asin.asin: o.catalog_brand for o in group}
        before = {"statuses": {o.presence.asin.asin: o.presence.status for o in group}}
        events.append(audit.event(action, object_type="brand", object_id=brand.pk, brand_id=brand.pk,
                                  before=before, after=after, reason=reason % code))
    return events


def _write_categories(brand: Brand, code: str, new_categories: dict[int, tuple[Asin, str]], now) -> list[EventSpec]:
    if not new_categories:
        return []
    # The ASIN rows after the brand's (the global lock order), in pk order.
    list(Asin.objects.select_for_update().filter(pk__in=list(new_categories)).order_by("pk").values_list("pk"))
    events = []
    for asin_id, (asin, category) in sorted(new_categories.items()):
        Asin.objects.filter(pk=asin_id).update(category=category, updated_at=now)
        events.append(audit.event(
            "asin.updated", object_type="asin", object_id=asin.asin, brand_id=brand.pk,
            before={"category": asin.category}, after={"category": category},
            reason=f"Catalog sync: Amazon's catalog in {code} classifies the ASIN under “{category}”.",
        ))
        asin.category = category
    return events


def brand_synced_mark(*, brand: Brand, at=None) -> None:
    """Record that the brand's data was last synced from Amazon at ``at`` (bookkeeping, not audited)."""
    at = at or timezone.now()
    Brand.objects.filter(pk=brand.pk).update(last_synced_at=at)
    brand.last_synced_at = at


# -- running a brand sync -------------------------------------------------------------------------

@dataclass
class SyncTracker:
    """Progress and counts of one brand run, across its phases (catalog, offers). Kept by the
    caller so that a failed run still records what it did before failing."""

    run: SyncRun
    done: int = 0
    expected: dict[str, int] = field(default_factory=dict)  # phase -> batches
    stats: dict[str, CallStats] = field(default_factory=dict)  # phase -> SP-API call counts
    counts: Counter = field(default_factory=Counter)
    phase: str = ""

    def begin(self, phase: str, *, batches: int) -> CallStats:
        self.phase = phase
        self.expected[phase] = batches
        run_progress(self.run, done=self.done, total=max(self.total, self.done))
        return self.stats.setdefault(phase, CallStats())

    def plan(self, phase: str, *, batches: int) -> None:
        """Announce a later phase's batches, so that the total is right from the start."""
        self.expected.setdefault(phase, batches)

    @property
    def total(self) -> int:
        return sum(self.expected.values())

    def add(self, counts: Mapping[str, int]) -> None:
        self.counts.update(counts)

    def step(self) -> None:
        self.done += 1
        run_progress(self.run, done=self.done)

    def as_counts(self) -> dict[str, Any]:
        calls = Counter()
        for phase, stats in self.stats.items():
            values = stats.as_dict()
            calls.update({k: v for k, v in values.items() if k != "rate_wait_seconds"})
            calls[f"{phase}_calls"] = values["calls"]
            calls["rate_wait_seconds"] += values["rate_wait_seconds"]
        result: dict[str, Any] = {key: calls.get(key, 0) for key in ("calls", "attempts", "retries", "throttled",
                                                                       "failures")}
        result["rate_wait_seconds"] = round(calls.get("rate_wait_seconds", 0.0), 3)
        result.update({k: v for k, v in calls.items() if k.endswith("_calls")})
        result.update(self.counts)
        result["batches"] = self.done
        return result


def brand_connection(brand: Brand) -> SpapiConnection:
    """The SP-API connection the brand's catalog verification and offers monitoring run on."""
    if brand.spapi_account_id is None:
        raise BrandSyncError(
            "The brand has no SP-API account: connect a Seller Central account, name it as the brand's "
            "SP-API account (spapi_account), then sync again.", code="NO_SPAPI_ACCOUNT")
    seller = Seller.objects.select_related("home_marketplace").get(pk=brand.spapi_account_id)
    try:
        return connection_for(seller)
    except SpapiNotConnected:
        raise BrandSyncError(
            f"The brand's SP-API account {seller.seller_id} is not connected (its authorization was revoked or "
            "never completed): reconnect it, then sync again.", code="SPAPI_ACCOUNT_NOT_CONNECTED") from None
    except DecryptionError:
        raise BrandSyncError(
            f"The stored authorization of the brand's SP-API account {seller.seller_id} cannot be decrypted with the "
            "configured keys (FIELD_ENCRYPTION_KEY): reconnect the account.", code="SPAPI_ACCOUNT_UNREADABLE") from None


def brand_presence_plan(brand: Brand) -> list[tuple[Marketplace, list[str]]]:
    """Every (marketplace, ASIN) the brand lists, grouped by marketplace (by code), ASINs sorted."""
    markets = {m.code: m for m in Marketplace.objects.all()}
    by_market: dict[str, list[str]] = defaultdict(list)
    rows = (AsinMarketplace.objects.filter(asin__brand=brand)
            .order_by("marketplace_id", "asin__asin").values_list("marketplace_id", "asin__asin"))
    for code, asin in rows.iterator(chunk_size=5000):
        by_market[code].append(asin)
    return [(markets[code], asins) for code, asins in sorted(by_market.items())]


def batch_count(plan: list[tuple[Marketplace, list[str]]]) -> int:
    return sum(math.ceil(len(asins) / BATCH_SIZE) for _market, asins in plan)


def batches(asins: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(asins), BATCH_SIZE):
        yield asins[start:start + BATCH_SIZE]


def brand_of_run(run: SyncRun) -> Brand:
    brand = Brand.objects.filter(pk=run.brand_id).select_related("spapi_account").first() if run.brand_id else None
    if brand is None:
        raise BrandSyncError("The brand of this sync no longer exists.", code="BRAND_GONE")
    return brand


def brand_catalog_sync(run: SyncRun, *, actor: Actor | None = None, tracker: SyncTracker | None = None,
                       brand: Brand | None = None, connection: SpapiConnection | None = None) -> dict[str, Any]:
    """Verify every (marketplace, ASIN) the brand lists against Amazon's catalog, on the brand's
    SP-API account: one ``searchCatalogItems`` per 20 ASINs of a marketplace, each answer applied
    in its own transaction, progress after each. Raises :class:`BrandSyncError` (cannot run) or
    :class:`~spapi_client.errors.SpapiError` (Amazon failed; ``.transient`` says whether a retry
    may help)."""
    actor = actor or Actor.task(TASK_NAME)
    tracker = tracker or SyncTracker(run)
    brand = brand or brand_of_run(run)
    connection = connection or brand_connection(brand)
    plan = brand_presence_plan(brand)
    stats = tracker.begin("catalog", batches=batch_count(plan))
    for market, asins in plan:
        for chunk in batches(asins):
            items = operations.search_catalog_items(connection, market.marketplace_id, chunk, stats=stats)
            tracker.add(catalog_results_apply(actor=actor, brand=brand, marketplace=market, items_by_asin=items,
                                              asked=chunk))
            tracker.step()
    return tracker.as_counts()


def brand_sync(run: SyncRun, *, actor: Actor | None = None, tracker: SyncTracker | None = None) -> dict[str, Any]:
    """Run a brand sync by its kind: ``brand`` = catalog verification then offers monitoring,
    ``brand.catalog`` or ``brand.offers`` = one of them. Marks the brand synced on success."""
    from authorizations.findings import brand_offers_sync  # authorizations builds on brands, not the reverse

    actor = actor or Actor.task(TASK_NAME)
    tracker = tracker or SyncTracker(run)
    brand = brand_of_run(run)
    connection = brand_connection(brand)
    kind = run.kind
    if kind not in BRAND_KINDS:
        raise BrandSyncError(f"A {kind} run is not a brand sync.", code="WRONG_KIND")
    if kind == SyncKind.BRAND:
        tracker.plan("offers", batches=batch_count(brand_presence_plan(brand)))
    if kind in (SyncKind.BRAND, SyncKind.BRAND_CATALOG):
        brand_catalog_sync(run, actor=actor, tracker=tracker, brand=brand, connection=connection)
    if kind in (SyncKind.BRAND, SyncKind.BRAND_OFFERS):
        brand_offers_sync(run, actor=actor, tracker=tracker, brand=brand, connection=connection)
    brand_synced_mark(brand=brand)
    return tracker.as_counts()


def brand_sync_request(*, brand: Brand, requested_by=None, kind: str = SyncKind.BRAND) -> tuple[SyncRun, bool]:
    """Ask for a brand sync: a new run (PENDING, its task sent once the transaction commits), or
    the one of that kind already under way for the brand. Returns ``(run, created)``."""
    from .tasks import sync_brand  # the task module imports this one

    with locking_atomic():
        locked = Brand.objects.select_for_update().get(pk=brand.pk)
        busy = (SyncRun.objects.filter(brand=locked, kind=kind, status__in=[SyncStatus.PENDING, SyncStatus.RUNNING],
                                       created_at__gte=timezone.now() - RUN_BUSY_FOR)
                .order_by("-created_at").first())
        if busy is not None:
            return busy, False
        run = run_create(kind=kind, brand=locked, requested_by=requested_by)
        enqueue(run, sync_brand)
    return run, True
