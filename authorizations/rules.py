"""The rules of DOMAIN.md: whether seller S may hold a grant for ASIN A in marketplace M.

:func:`evaluate` judges a whole request (one seller × many ASINs × many marketplaces) in a
constant number of queries and returns *every* failure, each scoped to what it is about: the
brand or seller as a whole, one marketplace, one ASIN, or one (ASIN, marketplace) pair. The
grant services, the diagnosis, the API and the UI all use it; nothing else decides eligibility.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Iterable, Sequence

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brands.models import Asin, AsinMarketplace, Brand, PresenceStatus, RegistryStatus
from config.errors import ErrorItem
from sellers.models import AccountStatus, Marketplace, Seller, SellerConnection

from .models import LIVE_STATUS_VALUES, Grant


class Code(StrEnum):
    BRAND_REGISTRY_INACTIVE = "BRAND_REGISTRY_INACTIVE"
    ASIN_UNKNOWN = "ASIN_UNKNOWN"
    ASIN_NOT_BRAND_REGISTERED = "ASIN_NOT_BRAND_REGISTERED"
    ASIN_NOT_IN_MARKETPLACE = "ASIN_NOT_IN_MARKETPLACE"
    CATEGORY_EXCLUDED = "CATEGORY_EXCLUDED"
    MARKETPLACE_UNSUPPORTED = "MARKETPLACE_UNSUPPORTED"
    MARKETPLACE_NOT_IN_SCOPE = "MARKETPLACE_NOT_IN_SCOPE"
    SELLER_NOT_CONNECTED = "SELLER_NOT_CONNECTED"
    SELLER_NOT_PARTICIPATING = "SELLER_NOT_PARTICIPATING"
    SELLER_HEALTH_BELOW_MIN = "SELLER_HEALTH_BELOW_MIN"
    SELLER_HEALTH_STALE = "SELLER_HEALTH_STALE"
    SELLER_HAS_INFRINGEMENTS = "SELLER_HAS_INFRINGEMENTS"
    SELLER_ACCOUNT_RESTRICTED = "SELLER_ACCOUNT_RESTRICTED"
    BRAND_SELLER_LIMIT = "BRAND_SELLER_LIMIT"
    ASIN_SELLER_LIMIT = "ASIN_SELLER_LIMIT"
    INVALID_TERM = "INVALID_TERM"
    ALREADY_GRANTED = "ALREADY_GRANTED"


# What each rule asks for, in words (shown beside pass/fail in the diagnosis, UI and API).
RULE_TITLES: dict[Code, str] = {
    Code.BRAND_REGISTRY_INACTIVE: _("The brand's Brand Registry status is ACTIVE"),
    Code.ASIN_UNKNOWN: _("The ASIN is in the brand's catalog"),
    Code.ASIN_NOT_BRAND_REGISTERED: _("The ASIN has a GCID (registered to the brand)"),
    Code.ASIN_NOT_IN_MARKETPLACE: _("Amazon's catalog shows the ASIN in this marketplace under the brand"),
    Code.CATEGORY_EXCLUDED: _("The product category is open to authorization (not books, music, video or software)"),
    Code.MARKETPLACE_UNSUPPORTED: _("The marketplace is supported"),
    Code.MARKETPLACE_NOT_IN_SCOPE: _("The marketplace is within the authorization's scope"),
    Code.SELLER_NOT_CONNECTED: _("The seller has connected its Seller Central account"),
    Code.SELLER_NOT_PARTICIPATING: _("The seller participates in this marketplace"),
    Code.SELLER_HEALTH_BELOW_MIN: _("The seller's health score is at least the minimum"),
    Code.SELLER_HEALTH_STALE: _("The seller's health was read recently"),
    Code.SELLER_HAS_INFRINGEMENTS: _("The seller has no intellectual-property complaints"),
    Code.SELLER_ACCOUNT_RESTRICTED: _("The seller's account is not deactivated"),
    Code.BRAND_SELLER_LIMIT: _("The brand stays within its limit of authorized sellers"),
    Code.ASIN_SELLER_LIMIT: _("The ASIN stays within its limit of authorized sellers"),
    Code.INVALID_TERM: _("The term ends after it starts, and in the future"),
    Code.ALREADY_GRANTED: _("The seller does not already hold this authorization"),
}

RULE_ORDER: tuple[Code, ...] = tuple(RULE_TITLES)


def effective_live_q(now: dt.datetime, prefix: str = "") -> Q:
    """Live *and* inside its term: a grant past ``valid_until`` is expired everywhere at once,
    whether or not the periodic task has written EXPIRED on it yet."""
    return Q(**{f"{prefix}status__in": LIVE_STATUS_VALUES}) & (
        Q(**{f"{prefix}valid_until__isnull": True}) | Q(**{f"{prefix}valid_until__gt": now})
    )


def is_excluded_category(category: str) -> bool:
    normal = (category or "").strip().lower()
    return bool(normal) and normal in {c.strip().lower() for c in settings.EXCLUDED_CATEGORIES}


@dataclass
class Evaluation:
    """The verdict on a request: every failure, the pairs already granted, the pairs that pass."""

    failures: list[ErrorItem] = field(default_factory=list)
    already_granted: list[tuple[str, str]] = field(default_factory=list)
    eligible: list[tuple[Asin, Marketplace]] = field(default_factory=list)
    marketplaces: list[str] = field(default_factory=list)
    # Facts the diagnosis shows beside the verdict.
    asin_sellers: dict[str, int] = field(default_factory=dict)
    brand_sellers: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def failed_codes(self) -> set[str]:
        return {f.code for f in self.failures}


def _fail(code: Code, detail: str, *, asin: str | None = None, marketplace: str | None = None,
          seller_id: str | None = None) -> ErrorItem:
    return ErrorItem(code=code.value, detail=str(detail), asin=asin, marketplace=marketplace, seller_id=seller_id)


def resolve_marketplaces(seller: Seller, marketplace_codes: Sequence[str] | None) -> list[str]:
    """A grant that names no marketplace covers the seller's home marketplace only."""
    if marketplace_codes:
        return list(dict.fromkeys(marketplace_codes))
    return [seller.home_marketplace_id] if seller.home_marketplace_id else []


# Rules that need the ASIN's brand: not evaluable for an ASIN in no (visible) catalog.
BRAND_DEPENDENT: frozenset[Code] = frozenset({
    Code.BRAND_REGISTRY_INACTIVE, Code.BRAND_SELLER_LIMIT, Code.ASIN_NOT_BRAND_REGISTERED,
    Code.ASIN_NOT_IN_MARKETPLACE, Code.CATEGORY_EXCLUDED, Code.ASIN_SELLER_LIMIT,
})


def evaluate(
    *,
    brand: Brand | None,
    seller: Seller,
    asin_codes: Sequence[str],
    marketplace_codes: Sequence[str] | None,
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
    scope: Iterable[str] | None = None,
    own_grant_ids: Iterable[int] = (),
    check_term: bool = True,
    now: dt.datetime | None = None,
) -> Evaluation:
    """Judge ``seller`` × ``asin_codes`` × marketplaces on ``brand``.

    ``marketplace_codes`` must already be known codes (input validation is the caller's);
    ``None`` or empty means the seller's home marketplace. ``scope`` restricts marketplaces
    further (a request's scope). ``own_grant_ids`` are grants being re-judged (approve,
    reinstate): they do not count as ALREADY_GRANTED. ``brand`` None (an ASIN in no catalog,
    for the diagnosis) judges the seller and marketplaces and reports ASIN_UNKNOWN.
    """
    now = now or timezone.now()
    valid_from = valid_from or now
    own_grant_ids = set(own_grant_ids)
    seller_code = seller.seller_id
    result = Evaluation()
    failures = result.failures
    asin_codes = list(dict.fromkeys(asin_codes))
    mcodes = resolve_marketplaces(seller, marketplace_codes)
    result.marketplaces = mcodes

    # -- the facts, in a constant number of queries ------------------------------------------
    markets = {m.code: m for m in Marketplace.objects.filter(code__in=mcodes)}
    participating = set(
        seller.participations.filter(is_participating=True).values_list("marketplace_id", flat=True)
    )
    connected = SellerConnection.objects.filter(
        seller=seller, revoked_at__isnull=True
    ).exclude(refresh_token_encrypted="").exists()
    asins = {a.asin: a for a in Asin.objects.filter(brand=brand, asin__in=asin_codes)} if brand else {}
    asin_ids = [a.pk for a in asins.values()]
    presence = {
        (asin_id, mcode): (status, catalog_brand)
        for asin_id, mcode, status, catalog_brand in AsinMarketplace.objects.filter(
            asin_id__in=asin_ids, marketplace_id__in=mcodes
        ).values_list("asin_id", "marketplace_id", "status", "catalog_brand")
    }
    live = effective_live_q(now)
    own_live: dict[int, set[str]] = defaultdict(set)  # asin id -> marketplaces the seller holds live
    own_pairs: set[tuple[int, str]] = set()
    for grant_id, asin_id, mcode in Grant.objects.filter(live, seller=seller, asin_id__in=asin_ids).values_list(
        "id", "asin_id", "marketplace_id"
    ):
        own_live[asin_id].add(mcode)
        if grant_id not in own_grant_ids:
            own_pairs.add((asin_id, mcode))
    asin_counts = dict(
        Grant.objects.filter(live, asin_id__in=asin_ids)
        .values("asin_id")
        .annotate(n=Count("seller_id", distinct=True))
        .values_list("asin_id", "n")
    )
    # ``order_by()``: with the model's default ordering the DISTINCT would run over
    # (seller, created_at, id) and fetch every live grant of the brand instead of its sellers.
    brand_sellers = set(
        Grant.objects.filter(live, brand=brand, seller__is_test_account=False)
        .order_by()
        .values_list("seller_id", flat=True)
        .distinct()
    ) if brand else set()
    result.brand_sellers = len(brand_sellers)
    result.asin_sellers = {a.asin: asin_counts.get(a.pk, 0) for a in asins.values()}

    # -- brand and seller as a whole ---------------------------------------------------------
    global_fail = False

    def fail_all(code: Code, detail: str) -> None:
        nonlocal global_fail
        global_fail = True
        failures.append(_fail(code, detail, seller_id=seller_code))

    if brand is not None and brand.registry_status != RegistryStatus.ACTIVE:
        fail_all(Code.BRAND_REGISTRY_INACTIVE, _("Brand “%(brand)s” has registry status %(status)s, not ACTIVE.")
                 % {"brand": brand.name, "status": brand.registry_status})
    if not mcodes:
        fail_all(Code.MARKETPLACE_NOT_IN_SCOPE,
                 _("No marketplace was named and seller %(seller)s has no home marketplace.") % {"seller": seller_code})
    if not connected:
        fail_all(Code.SELLER_NOT_CONNECTED,
                 _("Seller %(seller)s has not connected its Seller Central account.") % {"seller": seller_code})
    min_score = settings.MIN_HEALTH_SCORE
    if seller.health_score is None:
        fail_all(Code.SELLER_HEALTH_BELOW_MIN,
                 _("Seller %(seller)s has no health score yet (minimum %(min)s).") % {"seller": seller_code, "min": min_score})
    elif seller.health_score < min_score:
        fail_all(Code.SELLER_HEALTH_BELOW_MIN, _("Seller %(seller)s has health score %(score)s, below the minimum %(min)s.")
                 % {"seller": seller_code, "score": seller.health_score, "min": min_score})
    max_age = dt.timedelta(days=settings.HEALTH_MAX_AGE_DAYS)
    if seller.health_checked_at is None:
        fail_all(Code.SELLER_HEALTH_STALE, _("Seller %(seller)s's health has never been read.") % {"seller": seller_code})
    elif now - seller.health_checked_at > max_age:
        fail_all(Code.SELLER_HEALTH_STALE, _("Seller %(seller)s's health was last read on %(date)s, more than %(days)s days ago.")
                 % {"seller": seller_code, "date": seller.health_checked_at.date().isoformat(),
                    "days": settings.HEALTH_MAX_AGE_DAYS})
    if seller.infringement_count > settings.MAX_INFRINGEMENTS:
        fail_all(Code.SELLER_HAS_INFRINGEMENTS, _("Seller %(seller)s has %(count)s intellectual-property complaint(s).")
                 % {"seller": seller_code, "count": seller.infringement_count})
    if seller.account_status == AccountStatus.DEACTIVATED:
        fail_all(Code.SELLER_ACCOUNT_RESTRICTED, _("Seller %(seller)s's account is deactivated.") % {"seller": seller_code})
    limit = settings.MAX_SELLERS_PER_BRAND
    if brand is not None and not seller.is_test_account and seller.pk not in brand_sellers \
            and len(brand_sellers) + 1 > limit:
        fail_all(Code.BRAND_SELLER_LIMIT, _("Brand “%(brand)s” already has %(count)s of %(limit)s authorized sellers.")
                 % {"brand": brand.name, "count": len(brand_sellers), "limit": limit})
    if check_term and valid_until is not None and (valid_until <= valid_from or valid_until <= now):
        fail_all(Code.INVALID_TERM, _("The term must end after it starts and in the future (valid_until %(until)s).")
                 % {"until": valid_until.isoformat()})

    # -- per marketplace ---------------------------------------------------------------------
    bad_markets: set[str] = set()
    scope_set = set(scope) if scope is not None else None
    for mcode in mcodes:
        market = markets.get(mcode)
        if market is None or not market.supported:
            bad_markets.add(mcode)
            failures.append(_fail(Code.MARKETPLACE_UNSUPPORTED, _("Marketplace %(m)s is not supported.") % {"m": mcode},
                                  marketplace=mcode))
        if scope_set is not None and mcode not in scope_set:
            bad_markets.add(mcode)
            failures.append(_fail(Code.MARKETPLACE_NOT_IN_SCOPE,
                                  _("Marketplace %(m)s is outside the requested scope (%(scope)s).")
                                  % {"m": mcode, "scope": ", ".join(sorted(scope_set)) or "-"}, marketplace=mcode))
        if mcode not in participating:
            bad_markets.add(mcode)
            failures.append(_fail(Code.SELLER_NOT_PARTICIPATING,
                                  _("Seller %(seller)s does not participate in marketplace %(m)s.")
                                  % {"seller": seller_code, "m": mcode}, marketplace=mcode, seller_id=seller_code))

    # -- per ASIN and per (ASIN, marketplace) ------------------------------------------------
    asin_limit = settings.MAX_SELLERS_PER_ASIN
    for code in asin_codes:
        asin = asins.get(code)
        if asin is None:
            words = (_("ASIN %(asin)s is not in brand “%(brand)s”'s catalog.") % {"asin": code, "brand": brand.name}
                     if brand else _("ASIN %(asin)s is in no brand catalog you can see.") % {"asin": code})
            failures.append(_fail(Code.ASIN_UNKNOWN, words, asin=code))
            continue
        asin_ok = True
        if not asin.gcid:
            asin_ok = False
            failures.append(_fail(Code.ASIN_NOT_BRAND_REGISTERED,
                                  _("ASIN %(asin)s has no GCID: it is not registered to the brand.") % {"asin": code},
                                  asin=code))
        if is_excluded_category(asin.category):
            asin_ok = False
            failures.append(_fail(Code.CATEGORY_EXCLUDED,
                                  _("ASIN %(asin)s is in category “%(category)s”, which is not open to authorization.")
                                  % {"asin": code, "category": asin.category}, asin=code))
        holders = asin_counts.get(asin.pk, 0)
        if asin.pk not in own_live and holders + 1 > asin_limit:
            asin_ok = False
            failures.append(_fail(Code.ASIN_SELLER_LIMIT,
                                  _("ASIN %(asin)s already has %(count)s of %(limit)s authorized sellers.")
                                  % {"asin": code, "count": holders, "limit": asin_limit}, asin=code))
        for mcode in mcodes:
            if (asin.pk, mcode) in own_pairs:
                result.already_granted.append((code, mcode))
                continue
            pair_ok = asin_ok and mcode not in bad_markets
            status, catalog_brand = presence.get((asin.pk, mcode), (None, ""))
            if status != PresenceStatus.VERIFIED:
                pair_ok = False
                failures.append(_fail(Code.ASIN_NOT_IN_MARKETPLACE, _presence_detail(code, mcode, status, catalog_brand),
                                      asin=code, marketplace=mcode))
            if pair_ok and not global_fail and mcode in markets:
                result.eligible.append((asin, markets[mcode]))
    return result


def _presence_detail(asin: str, mcode: str, status: str | None, catalog_brand: str) -> str:
    if status is None:
        return str(_("ASIN %(asin)s is not listed for marketplace %(m)s in the brand's catalog.") % {"asin": asin, "m": mcode})
    if status == PresenceStatus.UNVERIFIED:
        return str(_("ASIN %(asin)s in %(m)s is not yet verified by a catalog sync.") % {"asin": asin, "m": mcode})
    if status == PresenceStatus.BRAND_MISMATCH:
        return str(_("Amazon's catalog shows ASIN %(asin)s in %(m)s under brand “%(other)s”.")
                   % {"asin": asin, "m": mcode, "other": catalog_brand})
    return str(_("Amazon's catalog does not show ASIN %(asin)s in %(m)s.") % {"asin": asin, "m": mcode})
