"""Deny by default: every API and page query starts from what the user may see.

Brand members see their brands' grants, requests, sellers holding grants there, and audit
trail; partners see their own sellers' grants and requests; ops see everything (read-only).
Anything else is invisible (404, never 403)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from audit.models import AuditEvent
from brands.models import Asin, Brand, BrandMembership
from brands.selectors import is_ops
from sellers.models import Seller, SellerMembership

from . import selectors
from .models import AuthorizationRequest, Grant
from .selectors import PreparedQuery


def _member_brand_ids(user) -> QuerySet:
    return Brand.objects.filter(memberships__user=user).values("id")


def _partner_seller_ids(user) -> QuerySet:
    return Seller.objects.filter(memberships__user=user).values("id")


def sellers_visible_to(user) -> QuerySet[Seller]:
    if is_ops(user):
        return Seller.objects.all()
    if user is None or not user.is_authenticated:
        return Seller.objects.none()
    holding = Grant.objects.filter(brand_id__in=_member_brand_ids(user)).values("seller_id")
    return Seller.objects.filter(Q(memberships__user=user) | Q(id__in=holding)).distinct()


def grants_visible_to(user) -> QuerySet[Grant]:
    if is_ops(user):
        return Grant.objects.all()
    if user is None or not user.is_authenticated:
        return Grant.objects.none()
    return Grant.objects.filter(Q(brand_id__in=_member_brand_ids(user)) | Q(seller_id__in=_partner_seller_ids(user)))


def requests_visible_to(user) -> QuerySet[AuthorizationRequest]:
    if is_ops(user):
        return AuthorizationRequest.objects.all()
    if user is None or not user.is_authenticated:
        return AuthorizationRequest.objects.none()
    return AuthorizationRequest.objects.filter(
        Q(brand_id__in=_member_brand_ids(user)) | Q(seller_id__in=_partner_seller_ids(user))
    )


def audit_events_visible_to(user) -> QuerySet[AuditEvent]:
    """Ops: every event. Brand members: their brands' events. Partners: none."""
    if is_ops(user):
        return AuditEvent.objects.all()
    if user is None or not user.is_authenticated:
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(brand_id__in=list(Brand.objects.filter(memberships__user=user).values_list("id", flat=True)))


# -- the check and the diagnosis ---------------------------------------------------------------

@dataclass(frozen=True)
class CheckScope:
    """What a user may ask the check and the diagnosis about: anyone linked to the seller, any
    member of the ASIN's brand, ops (API.md "Check and diagnosis").

    An ASIN code is unique per brand only, so another brand's catalog can hold the same code.
    A caller who may ask only as a member of the ASIN's brand must then see only their own
    brands' grants (``needs_brand_filter``): importing a competitor's ASIN must not reveal the
    competitor's grants."""

    everything: bool = False
    seller_ids: frozenset[str] = frozenset()  # of the sellers asked about, those the user is linked to
    brand_asins: frozenset[str] = frozenset()  # of the ASINs asked about, those in the user's brands' catalogs
    shared_asins: frozenset[str] = frozenset()  # of those, the ones some other brand's catalog holds too

    def allows(self, seller_id: str, asin: str) -> bool:
        return self.everything or seller_id in self.seller_ids or asin in self.brand_asins

    def as_partner(self, seller_id: str) -> bool:
        return self.everything or seller_id in self.seller_ids

    def needs_brand_filter(self, seller_id: str, asin: str) -> bool:
        return not self.as_partner(seller_id) and asin in self.shared_asins


def _member_brands(user) -> QuerySet:
    return BrandMembership.objects.filter(user_id=user.pk).values("brand_id")


def _check_scope_sql() -> str:
    User = get_user_model()
    groups = User.groups.through._meta.db_table
    return (
        f"SELECT EXISTS(SELECT 1 FROM {groups} ug JOIN {Group._meta.db_table} g ON g.id = ug.group_id "
        f"              WHERE ug.user_id = u.id AND g.name = 'ops') AS ops, "
        f"EXISTS(SELECT 1 FROM {SellerMembership._meta.db_table} m JOIN {Seller._meta.db_table} s ON s.id = m.seller_id "
        f"       WHERE m.user_id = u.id AND s.seller_id = $2) AS partner, "
        f"EXISTS(SELECT 1 FROM {Asin._meta.db_table} a JOIN {BrandMembership._meta.db_table} bm ON bm.brand_id = a.brand_id "
        f"       WHERE a.asin = $3 AND bm.user_id = u.id) AS member, "
        f"EXISTS(SELECT 1 FROM {Asin._meta.db_table} a WHERE a.asin = $3 AND NOT EXISTS("
        f"       SELECT 1 FROM {BrandMembership._meta.db_table} bm WHERE bm.brand_id = a.brand_id AND bm.user_id = u.id)) "
        f"AS shared FROM {User._meta.db_table} u WHERE u.id = $1"
    )


# check_scope's one query (user id, seller code, ASIN code) -> (ops, partner, member, shared).
CHECK_SCOPE_QUERY = PreparedQuery("sellerauth_check_scope", ("bigint", "text", "text"), _check_scope_sql)


def check_scope(user, *, seller_id: str, asin: str) -> CheckScope:
    """The scope for one (seller, ASIN): a single query (none for staff)."""
    if user is None or not user.is_authenticated:
        return CheckScope()
    if user.is_staff or user.is_superuser:
        return CheckScope(everything=True)
    if PreparedQuery.available():
        rows = CHECK_SCOPE_QUERY.fetchall([user.pk, seller_id, asin])
        return _scope_of(rows[0] if rows else None, seller_id, asin)
    mine = _member_brands(user)
    row = (
        get_user_model().objects.filter(pk=user.pk)
        .annotate(
            ops=Exists(Group.objects.filter(user=OuterRef("pk"), name="ops")),
            partner=Exists(SellerMembership.objects.filter(user=OuterRef("pk"), seller__seller_id=seller_id)),
            member=Exists(Asin.objects.filter(asin=asin, brand_id__in=mine)),
            shared=Exists(Asin.objects.filter(asin=asin).exclude(brand_id__in=mine)),
        )
        .values_list("ops", "partner", "member", "shared")
        .first()
    )
    return _scope_of(row, seller_id, asin)


def brand_limits(items: list[tuple[str, str, str]], scope: CheckScope, user) -> dict[tuple[str, str, str], frozenset[int]]:
    """For the items the caller may ask about only as a brand member while another brand's
    catalog holds the same ASIN code: their own brands (one query, and only in that case)."""
    limited = [item for item in items if scope.needs_brand_filter(item[0], item[1])]
    if not limited:
        return {}
    own = frozenset(BrandMembership.objects.filter(user_id=user.pk).values_list("brand_id", flat=True))
    return {item: own for item in limited}


def _scoped_check_sql() -> str:
    # The scope's row, then the live grants (at most a handful) of (seller, ASIN, marketplace),
    # each with whether the caller is a member of its brand; none is read for a caller who may
    # not ask. The grant columns follow selectors' check rows.
    return (
        f"WITH sc AS MATERIALIZED ({_check_scope_sql()}) "  # the scope's EXISTS once, not again in the join
        f"SELECT sc.ops, sc.partner, sc.member, sc.shared, "
        f"g.id, g.status, g.valid_from, g.valid_until, g.registry_status, $2::text, $3::text, $4::text, g.brand_id, g.own "
        f"FROM sc LEFT JOIN LATERAL ("
        f"SELECT g.id, g.status, g.valid_from, g.valid_until, b.registry_status, g.brand_id, "
        f"EXISTS(SELECT 1 FROM {BrandMembership._meta.db_table} bm WHERE bm.brand_id = g.brand_id AND bm.user_id = $1) AS own "
        f"{selectors.live_grants_sql('$2', '$3', '$4')} "
        f"AND (sc.ops OR sc.partner OR sc.member)) g ON true"
    )


# scoped_check's one query (user id, seller code, ASIN code, marketplace).
SCOPED_CHECK_QUERY = PreparedQuery("sellerauth_scoped_check", ("bigint", "text", "text", "text"), _scoped_check_sql)


def scoped_check(user, *, seller_id: str, asin: str, marketplace: str,
                 now: dt.datetime | None = None) -> selectors.CheckResult | None:
    """``GET /api/v1/check`` for ``user``: the answer as the caller may see it, or None when the
    caller may not ask about this seller and ASIN (the API's 404).

    On PostgreSQL one prepared statement reads the caller's scope and the grants together; a
    caller who asks only as a brand member, about an ASIN code another brand's catalog holds too,
    is answered from their own brands' grants alone (see :class:`CheckScope`)."""
    if user is None or not user.is_authenticated:
        return None
    if user.is_staff or user.is_superuser:
        return selectors.check(seller_id=seller_id, asin=asin, marketplace=marketplace, now=now)
    if not PreparedQuery.available():
        scope = check_scope(user, seller_id=seller_id, asin=asin)
        if not scope.allows(seller_id, asin):
            return None
        item = (seller_id, asin, marketplace)
        own = brand_limits([item], scope, user).get(item)
        return selectors.check(seller_id=seller_id, asin=asin, marketplace=marketplace, brand_ids=own, now=now)
    rows = SCOPED_CHECK_QUERY.fetchall([user.pk, seller_id, asin, marketplace])
    scope = _scope_of(rows[0][:4] if rows else None, seller_id, asin)
    if not scope.allows(seller_id, asin):
        return None
    own_only = scope.needs_brand_filter(seller_id, asin)
    now = now or timezone.now()
    return selectors.best(selectors.verdict(row[4:13], now) for row in rows
                          if row[4] is not None and (row[13] or not own_only))


def _scope_of(row: tuple | None, seller_id: str, asin: str) -> CheckScope:
    if row is None:
        return CheckScope()
    ops, partner, member, shared = row
    return CheckScope(
        everything=bool(ops),
        seller_ids=frozenset({seller_id} if partner else ()),
        brand_asins=frozenset({asin} if member else ()),
        shared_asins=frozenset({asin} if member and shared else ()),
    )


# check_scope_many's two queries: of these sellers, those the user is linked to; these ASINs'
# catalog rows, each with whether the user is a member of its brand.
LINKED_SELLERS_QUERY = PreparedQuery("sellerauth_linked_sellers", ("bigint", "text[]"), lambda: (
    f"SELECT s.seller_id FROM {SellerMembership._meta.db_table} m JOIN {Seller._meta.db_table} s ON s.id = m.seller_id "
    f"WHERE m.user_id = $1 AND s.seller_id = ANY($2)"))
ASIN_CATALOGS_QUERY = PreparedQuery("sellerauth_asin_catalogs", ("bigint", "text[]"), lambda: (
    f"SELECT a.asin, EXISTS(SELECT 1 FROM {BrandMembership._meta.db_table} bm "
    f"WHERE bm.user_id = $1 AND bm.brand_id = a.brand_id) FROM {Asin._meta.db_table} a WHERE a.asin = ANY($2)"))


def check_scope_many(user, *, seller_ids: Iterable[str], asins: Iterable[str]) -> CheckScope:
    """The scope for many (seller, ASIN) pairs in a constant number of queries (at most 3)."""
    if user is None or not user.is_authenticated:
        return CheckScope()
    if is_ops(user):
        return CheckScope(everything=True)
    if PreparedQuery.available():
        linked = frozenset(row[0] for row in LINKED_SELLERS_QUERY.fetchall([user.pk, sorted(set(seller_ids))]))
        rows = ASIN_CATALOGS_QUERY.fetchall([user.pk, sorted(set(asins))])
    else:
        linked = frozenset(
            SellerMembership.objects.filter(user_id=user.pk, seller__seller_id__in=set(seller_ids))
            .values_list("seller__seller_id", flat=True)
        )
        rows = (
            Asin.objects.filter(asin__in=set(asins)).order_by()
            .annotate(is_mine=Exists(BrandMembership.objects.filter(user_id=user.pk, brand_id=OuterRef("brand_id"))))
            .values_list("asin", "is_mine")
        )
    mine: set[str] = set()
    others: set[str] = set()
    for code, is_mine in rows:
        (mine if is_mine else others).add(code)
    return CheckScope(seller_ids=linked, brand_asins=frozenset(mine), shared_asins=frozenset(mine & others))


def can_check(user, *, seller_id: str, asin: str) -> bool:
    """The check: anyone linked to the seller, any member of the ASIN's brand, ops."""
    return check_scope(user, seller_id=seller_id, asin=asin).allows(seller_id, asin)
