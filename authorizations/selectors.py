"""Reads of grants that need care: the check (hot path), the batch check, the diagnosis."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Collection, Iterable, Mapping, Sequence

from django.conf import settings
from django.db.models import BooleanField, Case, CharField, Count, F, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from audit.models import AuditEvent
from brands.models import Asin, Brand, RegistryStatus
from sellers.models import Seller

from . import rules
from config.db import PreparedQuery

from .models import LIVE_STATUS_VALUES, Grant, GrantStatus


@dataclass(frozen=True)
class CheckResult:
    authorized: bool
    grant_id: int | None = None
    status: str | None = None
    valid_until: dt.datetime | None = None
    brand_id: int | None = field(default=None, compare=False)  # whose grant it is (not in the API)

    def as_dict(self) -> dict[str, Any]:
        return {"authorized": self.authorized, "grant_id": self.grant_id, "status": self.status,
                "valid_until": self.valid_until}


NOT_AUTHORIZED = CheckResult(authorized=False)
_CHECK_FIELDS = ("id", "status", "valid_from", "valid_until", "brand__registry_status",
                 "seller__seller_id", "asin__asin", "marketplace_id", "brand_id")


# -- prepared statements (PostgreSQL) ----------------------------------------------------------

def live_grants_sql(seller: str, asin: str, marketplace: str) -> str:
    """``FROM ... WHERE ...`` of the live grants (``g``, with ``s``eller, ``a``SIN and ``b``rand)
    of the seller code, ASIN code and marketplace given as SQL expressions (``$1``, ...): the
    lookup of every prepared check statement."""
    return (
        f"FROM {Grant._meta.db_table} g "
        f"JOIN {Seller._meta.db_table} s ON s.id = g.seller_id "
        f"JOIN {Asin._meta.db_table} a ON a.id = g.asin_id "
        f"JOIN {Brand._meta.db_table} b ON b.id = g.brand_id "
        f"WHERE s.seller_id = {seller} AND a.asin = {asin} AND g.marketplace_id = {marketplace} "
        f"AND g.status IN ({', '.join(repr(v) for v in LIVE_STATUS_VALUES)})"
    )


def _check_sql() -> str:
    return (
        f"SELECT g.id, g.status, g.valid_from, g.valid_until, b.registry_status, s.seller_id, a.asin, "
        f"g.marketplace_id, g.brand_id {live_grants_sql('$1', '$2', '$3')} "
        f"AND ($4::bigint[] IS NULL OR g.brand_id = ANY($4))"
    )


# The check's one query: seller code, ASIN code, marketplace, brand ids (NULL: any brand).
CHECK_QUERY = PreparedQuery("sellerauth_check", ("text", "text", "text", "bigint[]"), _check_sql)


def _check_batch_sql() -> str:
    # Seller and ASIN ids first (materialised), so that each item then costs one probe of the
    # live-grant index (seller, ASIN, marketplace): a plan made once, for any number of items.
    return (
        f"WITH q AS MATERIALIZED ("
        f"SELECT s.id AS seller_pk, a.id AS asin_pk, q.seller_id, q.asin, q.marketplace "
        f"FROM unnest($1::text[], $2::text[], $3::text[]) AS q(seller_id, asin, marketplace) "
        f"JOIN {Seller._meta.db_table} s ON s.seller_id = q.seller_id "
        f"JOIN {Asin._meta.db_table} a ON a.asin = q.asin) "
        f"SELECT g.id, g.status, g.valid_from, g.valid_until, b.registry_status, q.seller_id, q.asin, "
        f"q.marketplace, g.brand_id FROM q "
        f"JOIN {Grant._meta.db_table} g ON g.seller_id = q.seller_pk AND g.asin_id = q.asin_pk "
        f"AND g.marketplace_id = q.marketplace "
        f"AND g.status IN ({', '.join(repr(v) for v in LIVE_STATUS_VALUES)}) "
        f"JOIN {Brand._meta.db_table} b ON b.id = g.brand_id"
    )


# The batch check's one query: the items' seller codes, ASIN codes and marketplaces, in step.
CHECK_BATCH_QUERY = PreparedQuery("sellerauth_check_batch", ("text[]", "text[]", "text[]"), _check_batch_sql)


def verdict(row: Sequence[Any], now: dt.datetime) -> CheckResult:
    """The answer a live grant's check row gives at ``now`` (row: the columns of ``_CHECK_FIELDS``)."""
    grant_id, status, valid_from, valid_until, registry_status = row[:5]
    brand_id = row[8]
    if valid_until is not None and valid_until <= now:
        return CheckResult(False, grant_id, GrantStatus.EXPIRED.value, valid_until, brand_id)
    authorized = status == GrantStatus.ACTIVE and registry_status == RegistryStatus.ACTIVE and valid_from <= now
    return CheckResult(authorized, grant_id, status, valid_until, brand_id)


def best(results: Iterable[CheckResult]) -> CheckResult:
    results = list(results)
    if not results:
        return NOT_AUTHORIZED
    return next((r for r in results if r.authorized), results[0])


def check(*, seller_id: str, asin: str, marketplace: str, brand_ids: Collection[int] | None = None,
          now: dt.datetime | None = None) -> CheckResult:
    """Is the seller authorized for the ASIN in the marketplace right now? One indexed query
    over live grants; a grant past ``valid_until`` is not authorized, whatever its status says.

    ``brand_ids`` limits the answer to those brands' grants (an ASIN code is unique per brand
    only: a caller who asks as a brand member must not see another brand's grant)."""
    now = now or timezone.now()
    if PreparedQuery.available():
        rows = CHECK_QUERY.fetchall([seller_id, asin, marketplace, None if brand_ids is None else sorted(brand_ids)])
        return best(verdict(row, now) for row in rows)
    query = Grant.objects.filter(seller__seller_id=seller_id, asin__asin=asin, marketplace_id=marketplace,
                                 status__in=LIVE_STATUS_VALUES)
    if brand_ids is not None:
        query = query.filter(brand_id__in=list(brand_ids))
    return best(verdict(row, now) for row in query.order_by().values_list(*_CHECK_FIELDS))


def check_batch(items: Sequence[tuple[str, str, str]], *,
                brand_ids: Mapping[tuple[str, str, str], Collection[int]] | None = None,
                now: dt.datetime | None = None) -> list[CheckResult]:
    """The check for many (seller_id, asin, marketplace) at once, in one query; results in order.
    ``brand_ids`` limits the answer for the items it names to those brands' grants."""
    now = now or timezone.now()
    if not items:
        return []
    items = [tuple(item) for item in items]  # JSON gives lists; keys must be hashable
    wanted = set(items)
    if PreparedQuery.available():
        # Exactly the items asked about: one probe of the live-grant index per item.
        sellers, asins, markets = zip(*wanted)
        rows = CHECK_BATCH_QUERY.fetchall([list(sellers), list(asins), list(markets)])
    else:
        # Three IN lists rather than one OR per item: an OR chain of 1,000 terms exceeds SQLite's
        # expression depth. The superset is narrowed here.
        rows = (
            Grant.objects.filter(
                seller__seller_id__in={s for s, _, _ in wanted},
                asin__asin__in={a for _, a, _ in wanted},
                marketplace_id__in={m for _, _, m in wanted},
                status__in=LIVE_STATUS_VALUES,
            )
            .order_by()
            .values_list(*_CHECK_FIELDS)
        )
    found: dict[tuple[str, str, str], list[CheckResult]] = {}
    for row in rows:
        key = (row[5], row[6], row[7])
        if key in wanted:
            found.setdefault(key, []).append(verdict(row, now))
    brand_ids = brand_ids or {}

    def candidates(item: tuple[str, str, str]) -> list[CheckResult]:
        allowed = brand_ids.get(item)
        results = found.get(item, [])
        return results if allowed is None else [r for r in results if r.brand_id in allowed]

    return [best(candidates(item)) for item in items]


@dataclass
class Diagnosis:
    authorized: bool
    checks: list[dict[str, Any]] = field(default_factory=list)
    grant: Grant | None = None
    grants: list[Grant] = field(default_factory=list)
    history: list[AuditEvent] = field(default_factory=list)
    brand: Brand | None = None


def diagnose(*, seller: Seller, asin: str, marketplace: str, brands: Iterable[Brand] | None = None,
             now: dt.datetime | None = None) -> Diagnosis:
    """Why can (or can't) ``seller`` sell ``asin`` in ``marketplace``: every rule, pass or fail in
    words, the grant that governs it, and that grant's history (who revoked or suspended it, why).

    ``brands`` limits which brands' catalogs and grants are considered (the caller's visibility
    when asking as a brand member: the same ASIN code may sit in another brand's catalog)."""
    now = now or timezone.now()
    brand_ids = None if brands is None else [b.pk for b in brands]
    asins = Asin.objects.filter(asin=asin).select_related("brand")
    grants_here = Grant.objects.filter(seller=seller, asin__asin=asin, marketplace_id=marketplace)
    if brand_ids is not None:
        asins = asins.filter(brand_id__in=brand_ids)
        grants_here = grants_here.filter(brand_id__in=brand_ids)
    asin_rows = list(asins)
    grants = list(grants_here.select_related("brand", "asin", "granted_by", "approved_by").order_by("-created_at", "-id"))
    current = next((g for g in grants if g.status in LIVE_STATUS_VALUES), grants[0] if grants else None)
    brand = current.brand if current else (asin_rows[0].brand if asin_rows else None)
    checked = check(seller_id=seller.seller_id, asin=asin, marketplace=marketplace, brand_ids=brand_ids, now=now)
    diagnosis = Diagnosis(authorized=checked.authorized, grant=current, grants=grants, brand=brand)

    evaluation = rules.evaluate(
        brand=brand, seller=seller, asin_codes=[asin], marketplace_codes=[marketplace],
        own_grant_ids=[current.pk] if current and current.status in LIVE_STATUS_VALUES else [],
        check_term=False, now=now,
    )
    failed: dict[str, str] = {}
    for failure in evaluation.failures:
        failed.setdefault(failure.code, failure.detail)
    for code in rules.RULE_ORDER:
        if code == rules.Code.ALREADY_GRANTED:
            continue
        if code == rules.Code.MARKETPLACE_NOT_IN_SCOPE and code.value not in failed:
            passed, detail = _scope_check(grants, marketplace, seller, asin, brand_ids, now)
        elif code == rules.Code.INVALID_TERM:
            passed, detail = _term_check(current, now)
        elif brand is None and code in rules.BRAND_DEPENDENT:
            passed = False
            detail = gettext("Not evaluated: ASIN %(asin)s is in no brand catalog you can see.") % {"asin": asin}
        else:
            passed, detail = code.value not in failed, failed.get(code.value, "")
        diagnosis.checks.append({"code": code.value, "passed": passed, "title": str(rules.RULE_TITLES[code]),
                                 "detail": detail})
    if grants:
        diagnosis.history = list(
            AuditEvent.objects.filter(object_type="grant", object_id__in=[str(g.pk) for g in grants]).order_by("at", "id")
        )
    return diagnosis


def _scope_check(grants: list[Grant], marketplace: str, seller: Seller, asin: str,
                 brand_ids: list[int] | None, now: dt.datetime) -> tuple[bool, str]:
    live_here = [g for g in grants if g.status in LIVE_STATUS_VALUES]
    if live_here:
        return True, ""
    elsewhere = Grant.objects.filter(rules.effective_live_q(now), seller=seller, asin__asin=asin)
    if brand_ids is not None:
        elsewhere = elsewhere.filter(brand_id__in=brand_ids)
    other = sorted(
        elsewhere.exclude(marketplace_id=marketplace).order_by().values_list("marketplace_id", flat=True).distinct()
    )
    if other:
        return False, gettext("The seller's authorization for %(asin)s covers %(covered)s, not %(m)s.") % {
            "asin": asin, "covered": ", ".join(other), "m": marketplace}
    return False, gettext("The seller holds no authorization for %(asin)s in %(m)s.") % {"asin": asin, "m": marketplace}


def _term_check(grant: Grant | None, now: dt.datetime) -> tuple[bool, str]:
    if grant is None:
        return True, ""
    if grant.valid_until is not None and grant.valid_until <= now:
        return False, gettext("The authorization ended on %(date)s.") % {"date": grant.valid_until.isoformat()}
    if grant.valid_from > now:
        return False, gettext("The authorization starts on %(date)s.") % {"date": grant.valid_from.isoformat()}
    return True, ""


# -- the brand owner's pages: a brand's grants, as a user sees them -----------------------------

def grants_annotated(queryset: QuerySet[Grant], *, now: dt.datetime | None = None,
                     expiring_days: int | None = None) -> QuerySet[Grant]:
    """Grants with ``shown_status`` (a live grant past its term shows EXPIRED, DOMAIN.md "Live")
    and ``expiring_soon`` (ACTIVE, and its term ends within ``EXPIRING_SOON_DAYS``): computed in
    the query, so a page can sort and filter on them without a query per row."""
    now = now or timezone.now()
    days = settings.EXPIRING_SOON_DAYS if expiring_days is None else expiring_days
    return queryset.annotate(
        shown_status=Case(
            When(status__in=LIVE_STATUS_VALUES, valid_until__lte=now, then=Value(GrantStatus.EXPIRED.value)),
            default=F("status"), output_field=CharField(),
        ),
        expiring_soon=Case(
            When(status=GrantStatus.ACTIVE, valid_until__gt=now, valid_until__lte=now + dt.timedelta(days=days),
                 then=Value(True)),
            default=Value(False), output_field=BooleanField(),
        ),
    )


def grants_with_status(queryset: QuerySet[Grant], status: str, *, now: dt.datetime | None = None) -> QuerySet[Grant]:
    """Grants whose status, as a user sees it, is ``status``: EXPIRED includes live grants past
    their term; a live status excludes them (the same reading as the API's ``?status=``)."""
    now = now or timezone.now()
    if status == GrantStatus.EXPIRED:
        return queryset.filter(Q(status=status) | Q(status__in=LIVE_STATUS_VALUES, valid_until__lte=now))
    if status in LIVE_STATUS_VALUES:
        return queryset.filter(rules.effective_live_q(now), status=status)
    return queryset.filter(status=status)


def grants_expiring_soon(queryset: QuerySet[Grant], *, days: int | None = None,
                         now: dt.datetime | None = None) -> QuerySet[Grant]:
    """ACTIVE grants whose term ends within ``days`` (default ``EXPIRING_SOON_DAYS``)."""
    now = now or timezone.now()
    days = settings.EXPIRING_SOON_DAYS if days is None else days
    return queryset.filter(status=GrantStatus.ACTIVE, valid_until__gt=now, valid_until__lte=now + dt.timedelta(days=days))


def brand_grant_counts(brand: Brand, *, now: dt.datetime | None = None, sellers_used: bool = False) -> dict[str, int]:
    """The brand's grants by status as users see them, in one query: ``active``, ``pending``,
    ``suspended``, ``expiring_soon`` (ACTIVE, ending within ``EXPIRING_SOON_DAYS``) and
    ``sellers`` (distinct sellers holding a live grant in its term). With ``sellers_used``, in
    the same scan, also ``sellers_used``: those sellers less test accounts (the brand's usage of
    its seller limit, as ``brands.selectors.brands_with_usage`` counts it)."""
    now = now or timezone.now()
    in_term = Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    soon = now + dt.timedelta(days=settings.EXPIRING_SOON_DAYS)
    extra = {}
    if sellers_used:
        extra["sellers_used"] = Count("seller_id", distinct=True, filter=in_term & Q(
            status__in=LIVE_STATUS_VALUES, seller__is_test_account=False))
    return Grant.objects.filter(brand=brand).aggregate(
        active=Count("id", filter=in_term & Q(status=GrantStatus.ACTIVE)),
        pending=Count("id", filter=in_term & Q(status=GrantStatus.PENDING_APPROVAL)),
        suspended=Count("id", filter=in_term & Q(status=GrantStatus.SUSPENDED)),
        expiring_soon=Count("id", filter=Q(status=GrantStatus.ACTIVE, valid_until__gt=now, valid_until__lte=soon)),
        sellers=Count("seller_id", filter=in_term & Q(status__in=LIVE_STATUS_VALUES), distinct=True),
        **extra,
    )


def seller_live_grant_count(brand: Brand, seller: Seller, *, now: dt.datetime | None = None) -> int:
    """How many grants of ``seller`` on ``brand`` are live and in their term: what
    :func:`authorizations.services.grants_revoke_all` would revoke."""
    return Grant.objects.filter(rules.effective_live_q(now or timezone.now()), brand=brand, seller=seller).count()


def pending_grants(brand: Brand, *, now: dt.datetime | None = None) -> QuerySet[Grant]:
    """Grants waiting for a second member's approval (dual control), still inside their term."""
    return Grant.objects.filter(rules.effective_live_q(now or timezone.now()), brand=brand,
                                status=GrantStatus.PENDING_APPROVAL)
