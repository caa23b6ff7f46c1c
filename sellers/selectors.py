"""Reads of sellers that need care."""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import crypto
from .models import Seller, SellerConnection


def refresh_token_of(seller: Seller) -> str | None:
    """The seller's SP-API refresh token, decrypted, for ``spapi_client`` to call Amazon with;
    None when the seller is not (or no longer) connected. Never log or store what it returns.
    Raises :class:`crypto.DecryptionError` when no configured key can read the stored token."""
    ciphertext = (
        SellerConnection.objects.filter(seller=seller, revoked_at__isnull=True)
        .exclude(refresh_token_encrypted="")
        .values_list("refresh_token_encrypted", flat=True)
        .first()
    )
    return None if ciphertext is None else crypto.decrypt(ciphertext)


# -- the partner's own world (the partner pages) -------------------------------------------------
# Partners see their own sellers only: what those hold and asked for, never another seller's.
# The grant and request queries start from authorizations.visibility (deny by default) and keep
# the rows of the user's own sellers. Imports of authorizations and brands happen inside the
# functions: apps are layered sellers < brands < authorizations.


def partner_sellers(user) -> QuerySet[Seller]:
    """The sellers ``user`` is a partner of (linked by connecting them); none for anonymous."""
    if user is None or not user.is_authenticated:
        return Seller.objects.none()
    return Seller.objects.filter(memberships__user=user)  # a membership is unique per (user, seller)


def partner_sellers_overview(user, *, now: dt.datetime | None = None) -> QuerySet[Seller]:
    """The user's sellers with what the list shows, in one query: the connection, the home
    marketplace and ``live_grants`` (grants live and inside their term)."""
    from authorizations.models import Grant  # noqa: PLC0415
    from authorizations.rules import effective_live_q  # noqa: PLC0415

    live = (Grant.objects.filter(effective_live_q(now or timezone.now()), seller=OuterRef("pk"))
            .order_by().values("seller").annotate(n=Count("pk")).values("n"))
    return (partner_sellers(user).select_related("connection", "home_marketplace")
            .annotate(live_grants=Coalesce(Subquery(live), 0)))


def partner_grants(user) -> QuerySet:
    """Every grant the user's own sellers hold, on any brand."""
    from authorizations.visibility import grants_visible_to  # noqa: PLC0415

    return grants_visible_to(user).filter(seller__in=partner_sellers(user).values("pk"))


def partner_requests(user) -> QuerySet:
    """The authorization requests of the user's own sellers."""
    from authorizations.visibility import requests_visible_to  # noqa: PLC0415

    return requests_visible_to(user).filter(seller__in=partner_sellers(user).values("pk"))


def grant_status_q(status: str, now: dt.datetime | None = None) -> Q:
    """Grants whose status *as shown* is ``status``: a live grant past ``valid_until`` shows
    EXPIRED (as :func:`authorizations.services.effective_status` says), whatever is stored."""
    from authorizations.models import LIVE_STATUS_VALUES, GrantStatus  # noqa: PLC0415

    now = now or timezone.now()
    in_term = Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    if status == GrantStatus.EXPIRED:
        return Q(status=status) | Q(status__in=LIVE_STATUS_VALUES, valid_until__lte=now)
    if status in LIVE_STATUS_VALUES:
        return in_term & Q(status=status)
    return Q(status=status)


REQUESTABLE_BRANDS_SHOWN = 10


def requestable_brands(name: str = "", *, limit: int = REQUESTABLE_BRANDS_SHOWN) -> QuerySet:
    """Brands a partner may ask for authorizations, found by name: registry status ACTIVE and a
    catalog of at least one ASIN. Only what a partner needs is read (id and name): never the
    registry number, the catalog, the members or who holds grants. An empty ``name`` finds none
    (a partner searches; the list of brands is not browsed)."""
    from brands.models import Asin, Brand, RegistryStatus  # noqa: PLC0415

    name = (name or "").strip()
    if not name:
        return Brand.objects.none()
    return (Brand.objects.filter(registry_status=RegistryStatus.ACTIVE, name__icontains=name[:200])
            .filter(Exists(Asin.objects.filter(brand=OuterRef("pk"))))
            .only("id", "name").order_by("name", "id")[:limit])


def requestable_brand(brand_id) -> Any:
    """One requestable brand by id (see :func:`requestable_brands`), or None."""
    from brands.models import Asin, Brand, RegistryStatus  # noqa: PLC0415

    try:
        pk = int(brand_id)
    except (TypeError, ValueError):
        return None
    if pk < 1 or pk > 2**63 - 1:
        return None
    return (Brand.objects.filter(pk=pk, registry_status=RegistryStatus.ACTIVE)
            .filter(Exists(Asin.objects.filter(brand=OuterRef("pk")))).only("id", "name").first())
