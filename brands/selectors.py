"""Who may do what on a brand, and what a user may see."""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.errors import NotAllowed, NotFound
from sellers.models import Seller

from .models import Asin, AsinMarketplace, Brand, BrandMembership, Role

MANAGING_ROLES = (Role.OWNER, Role.MANAGER)


def is_ops(user) -> bool:
    """Platform operators: staff, or members of the ``ops`` group (read-only everywhere)."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return user.groups.filter(name="ops").exists()


def role_of(user, brand: Brand) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return (
        BrandMembership.objects.filter(brand=brand, user=user).values_list("role", flat=True).first()
    )


def is_ops_request(request) -> bool:
    """:func:`is_ops` for the request's user, asked once per request (the access check, the
    navigation and the page's own query all want it)."""
    if "_sellerauth_is_ops" not in request.__dict__:
        request._sellerauth_is_ops = is_ops(request.user)
    return request._sellerauth_is_ops


def brands_visible_to(user, *, ops: bool | None = None) -> QuerySet[Brand]:
    """``ops``: the caller's :func:`is_ops`, when already known."""
    if is_ops(user) if ops is None else ops:
        return Brand.objects.all()
    if user is None or not user.is_authenticated:
        return Brand.objects.none()
    return Brand.objects.filter(memberships__user=user)


def require_brand_role(actor, brand: Brand, roles=MANAGING_ROLES) -> str | None:
    """Raise unless the actor holds one of ``roles`` on the brand. System actors (tasks,
    commands without a user) pass. A user with no membership at all gets NotFound: the brand
    is invisible to them."""
    if actor.is_system:
        return None
    role = role_of(actor.user, brand)
    if role is None:
        if is_ops(actor.user):
            raise NotAllowed("Ops staff have read-only access to brands.")
        raise NotFound("Brand not found.", code="NOT_FOUND")
    if role not in roles:
        raise NotAllowed(f"Your role on this brand ({role}) does not allow this.")
    return role


def spapi_account_choices(brand: Brand) -> QuerySet[Seller]:
    """The seller accounts a brand may name as its SP-API account: those a member of the brand
    is linked to (has connected through SP-API)."""
    return Seller.objects.filter(memberships__user__brand_memberships__brand=brand).distinct()


def count_subquery(queryset, group_field: str, counted: Count | None = None) -> Coalesce:
    """An annotation: ``counted`` (default: distinct sellers) over the rows of ``queryset``, a
    queryset filtered on ``OuterRef`` and grouped by ``group_field``; 0 when there is none."""
    rows = queryset.order_by().values(group_field).annotate(n=counted or Count("seller_id", distinct=True)).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def brands_with_usage(queryset):
    """Brands annotated with ``sellers_used`` (distinct sellers with a live grant) and ``asin_count``."""
    from authorizations.models import Grant
    from authorizations.rules import effective_live_q

    now = timezone.now()
    live_sellers = Grant.objects.filter(effective_live_q(now), brand=OuterRef("pk"), seller__is_test_account=False)
    return queryset.select_related("spapi_account").annotate(
        sellers_used=count_subquery(live_sellers, "brand"),
        asin_count=count_subquery(Asin.objects.filter(brand=OuterRef("pk")), "brand", Count("id")),
    )


def asins_with_usage(queryset):
    """ASINs annotated with ``sellers_used`` (distinct sellers with a live grant), presences prefetched."""
    from authorizations.models import Grant
    from authorizations.rules import effective_live_q

    live = Grant.objects.filter(effective_live_q(timezone.now()), asin=OuterRef("pk"))
    return queryset.annotate(sellers_used=count_subquery(live, "asin")).prefetch_related(
        Prefetch("presences", queryset=AsinMarketplace.objects.order_by("marketplace_id"))
    )


# -- the brand dashboard -------------------------------------------------------------------------

def asins_at_seller_limit(brand: Brand, *, now=None) -> list[Asin]:
    """The brand's ASINs whose live grants are held by ``MAX_SELLERS_PER_ASIN`` distinct sellers
    or more (no room for another seller), fullest first, each with ``sellers_used``. Two
    queries, whatever the catalog's size: one ``GROUP BY`` over the brand's live grants (index
    ``grant_brand_status_idx``), then the ASIN rows of the groups that reach the limit."""
    from django.conf import settings

    from authorizations.models import Grant
    from authorizations.rules import effective_live_q

    now = now or timezone.now()
    full = dict(
        Grant.objects.filter(effective_live_q(now), brand=brand).order_by().values("asin_id")
        .annotate(n=Count("seller_id", distinct=True)).filter(n__gte=settings.MAX_SELLERS_PER_ASIN)
        .values_list("asin_id", "n")
    )
    if not full:
        return []
    asins = list(Asin.objects.filter(pk__in=list(full)))
    for asin in asins:
        asin.sellers_used = full[asin.pk]
    asins.sort(key=lambda a: (-a.sellers_used, a.asin))
    return asins


def brand_change_version():
    """An annotation for a brand queryset: the sequence number of the brand's latest audit event.
    Every change to the brand's catalog, grants, requests and findings is recorded on that
    stream in the transaction of the change, so the number moves with any of them."""
    from django.db.models import CharField
    from django.db.models.functions import Cast, Concat

    from audit.models import AuditStream
    from audit.services import BRAND_STREAM_PREFIX

    stream = Concat(Value(BRAND_STREAM_PREFIX), Cast(OuterRef("pk"), CharField()))
    head = AuditStream.objects.filter(name=stream).values("last_seq")
    return Coalesce(Subquery(head[:1]), Value(0))


DASHBOARD_STATS_SECONDS = 60


def brand_dashboard_statistics(brand: Brand, *, version: int, open_findings: int, now=None) -> dict[str, Any]:
    """The dashboard's aggregates over every grant of the brand — seller usage and grants by
    status (one scan), ASINs at the seller limit — which each read all of a large brand's
    grants, and the 13-week history. The aggregates are kept in the cache under (brand, its change ``version`` from
    :func:`brand_change_version`, the minute): any recorded change is seen on the next view, and
    what only time changes (a term running out) within a minute. The history's last point is now
    (the live grants counted here, ``open_findings``); the 13 before it change once a day. Nothing
    that decides an authorization reads these figures."""
    from django.core.cache import cache

    from authorizations.selectors import brand_grant_counts

    now = now or timezone.now()
    key = f"brands:dashboard:{brand.pk}:{brand.created_at.timestamp():.6f}:{version}:{int(now.timestamp()) // 60}"
    stats = cache.get(key)
    if stats is None:
        counts = brand_grant_counts(brand, now=now, sellers_used=True)
        stats = {"sellers_used": counts.pop("sellers_used"), "asin_count": Asin.objects.filter(brand=brand).count(),
                 "counts": counts, "at_limit": asins_at_seller_limit(brand, now=now)}
        cache.set(key, stats, DASHBOARD_STATS_SECONDS)
    live_now = stats["counts"]["active"] + stats["counts"]["pending"] + stats["counts"]["suspended"]
    return {**stats, "history": _dashboard_history(brand, now) + [(now, live_now, open_findings)]}


def _dashboard_history(brand: Brand, now) -> list[tuple[Any, int, int]]:
    """The 13 weekly points before today of the dashboard's chart, at the start of each day (UTC)
    1 to 13 weeks back. A change is made now, never in the past (rows keep the time they were
    created, ended, seen and resolved), so these points hold all day: read once a day."""
    from django.core.cache import cache

    day = now.astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    key = f"brands:history:{brand.pk}:{brand.created_at.timestamp():.6f}:{day.date().isoformat()}"
    points = cache.get(key)
    if points is None:
        points = brand_history_at(brand, [day - dt.timedelta(weeks=w) for w in range(13, 0, -1)], now=now)
        cache.set(key, points, 25 * 3600)
    return points


def latest_brand_sync(brand: Brand):
    """The brand's most recent catalog/offers sync run (``brand``, ``brand.catalog``,
    ``brand.offers``), or None (index ``syncrun_brand_idx``)."""
    from spapi_client.models import SyncKind, SyncRun

    kinds = (SyncKind.BRAND, SyncKind.BRAND_CATALOG, SyncKind.BRAND_OFFERS)
    return SyncRun.objects.filter(brand=brand, kind__in=kinds).order_by("-created_at").first()


def brand_weekly_history(brand: Brand, *, weeks: int = 13, now=None) -> list[tuple[Any, int, int]]:
    """``(at, live_grants, open_findings)`` at ``weeks + 1`` instants a week apart, ending now
    (13 weeks: the last 91 days), in two aggregate queries.

    Both series come from each row's own timestamps, which is exact because every state a row
    leaves for good is recorded with its time:

    - a grant is live (holds a slot: ``PENDING_APPROVAL``, ``ACTIVE`` or ``SUSPENDED``) from its
      ``created_at`` until it ends. ``REVOKED``, ``REJECTED`` and ``EXPIRED`` are final, so a
      grant in one of them ended at ``status_changed_at`` — or earlier, at ``valid_until``, if
      its term had already run out (DOMAIN.md: a grant past ``valid_until`` is expired at once,
      whatever the periodic task has written). A grant still in a live status ends at
      ``valid_until`` (never, if open-ended). Suspension and reinstatement keep a grant live,
      so they do not matter here.
    - a finding is open from ``first_seen_at`` until ``resolved_at``; a seller seen again after
      a resolution opens a new finding row.

    Each instant is one ``COUNT(...) FILTER (WHERE ...)`` column over the brand's rows (indexes
    ``grant_brand_status_idx`` and ``finding_brand_idx``); rows that ended before the first
    instant are left out first. Reading the audit log instead would cost a scan of every event
    of the brand, for the same answer.
    """
    now = now or timezone.now()
    return brand_history_at(brand, [now - dt.timedelta(weeks=weeks - i) for i in range(weeks + 1)], now=now)


def brand_history_at(brand: Brand, instants: list, *, now=None) -> list[tuple[Any, int, int]]:
    """``(at, live_grants, open_findings)`` at each of ``instants`` (ascending, none after
    ``now``), as :func:`brand_weekly_history` counts them."""
    from django.db.models import Case, F, Q, When
    from django.db.models.functions import Coalesce, Least

    from authorizations.models import LIVE_STATUS_VALUES, Grant, UnauthorizedOffer

    now = now or timezone.now()
    start = instants[0]
    ended = Case(
        When(status__in=LIVE_STATUS_VALUES, then=F("valid_until")),
        default=Least(F("status_changed_at"), Coalesce(F("valid_until"), F("status_changed_at"))),
    )
    grants = (Grant.objects.filter(brand=brand, created_at__lte=now).annotate(ended_at=ended)
              .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start)))
    live = grants.aggregate(**{
        f"g{i}": Count("id", filter=Q(created_at__lte=at) & (Q(ended_at__isnull=True) | Q(ended_at__gt=at)))
        for i, at in enumerate(instants)
    })
    findings = UnauthorizedOffer.objects.filter(brand=brand, first_seen_at__lte=now).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gt=start))
    open_ = findings.aggregate(**{
        f"f{i}": Count("id", filter=Q(first_seen_at__lte=at) & (Q(resolved_at__isnull=True) | Q(resolved_at__gt=at)))
        for i, at in enumerate(instants)
    })
    return [(at, live[f"g{i}"] or 0, open_[f"f{i}"] or 0) for i, at in enumerate(instants)]
