"""Shared helpers of the brand page tests (tests/web/test_brand_*.py)."""
from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from authorizations.models import AuthorizationRequest, Grant, GrantStatus, UnauthorizedOffer
from brands.models import Asin, AsinMarketplace, PresenceStatus
from tests.factories import SellerFactory, marketplace

# Every brand page (GET), by URL name: all take the brand id only.
READ_PAGES = ("dashboard", "asins", "asins_import", "findings", "findings_export", "members", "settings", "audit")


def url(name: str, brand, query: str = "") -> str:
    path = reverse(f"brands:{name}", kwargs={"brand_id": brand.pk})
    return f"{path}?{query}" if query else path


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def make_asins(brand, count: int, *, prefix: str = "C", markets=("US", "DE"), status=PresenceStatus.VERIFIED,
               title: str = "Catalog item") -> list[Asin]:
    """``count`` ASINs written in bulk (codes ``<prefix>`` + 9 digits), each present in ``markets``."""
    for code in markets:
        marketplace(code)
    asins = Asin.objects.bulk_create([
        Asin(brand=brand, asin=f"{prefix}{n:09d}", gcid=f"GC{n:014d}" if n % 3 else None, title=f"{title} {n}",
             category="Home & Kitchen")
        for n in range(count)
    ], batch_size=2000)
    asins = list(Asin.objects.filter(brand=brand, asin__startswith=prefix).order_by("asin"))
    AsinMarketplace.objects.bulk_create([
        AsinMarketplace(asin=a, marketplace_id=code, status=status,
                        verified_at=timezone.now() if status == PresenceStatus.VERIFIED else None)
        for a in asins for code in markets
    ], batch_size=2000)
    return asins


def grant(asin, seller, *, market="US", status=GrantStatus.ACTIVE, created_days_ago: float = 0,
          valid_until=None, ended_days_ago: float | None = None) -> Grant:
    """A grant written directly, with its history times set (created, status changed)."""
    marketplace(market)
    now = timezone.now()
    created = now - dt.timedelta(days=created_days_ago)
    row = Grant.objects.create(
        brand_id=asin.brand_id, seller=seller, asin=asin, marketplace_id=market, status=status,
        valid_from=created, valid_until=valid_until,
        status_changed_at=now - dt.timedelta(days=ended_days_ago) if ended_days_ago is not None else created,
    )
    Grant.objects.filter(pk=row.pk).update(created_at=created)
    row.created_at = created
    return row


def sellers(n: int, *, prefix: str = "AWEB") -> list:
    return [SellerFactory(seller_id=f"{prefix}{i:08d}", name=f"Web Seller {i}", participates_in=["US", "DE"])
            for i in range(n)]


def finding(brand, asin, seller_id: str, *, market="US", first_days_ago: float = 1, resolved_days_ago=None,
            name: str = "", price="19.99") -> UnauthorizedOffer:
    marketplace(market)
    now = timezone.now()
    return UnauthorizedOffer.objects.create(
        brand=brand, asin=asin, marketplace_id=market, offering_seller_id=seller_id, seller_name=name,
        price=price, currency="USD", is_buy_box_winner=False,
        first_seen_at=now - dt.timedelta(days=first_days_ago), last_seen_at=now - dt.timedelta(hours=1),
        resolved_at=now - dt.timedelta(days=resolved_days_ago) if resolved_days_ago is not None else None,
        resolution="DISAPPEARED" if resolved_days_ago is not None else "",
    )


def request_for(brand, seller, *, asins=("B0ALPHA001",), markets=("US",), created_days_ago: float = 0):
    return AuthorizationRequest.objects.create(
        brand=brand, seller=seller, asins=list(asins), marketplaces=list(markets),
        created_at=timezone.now() - dt.timedelta(days=created_days_ago),
    )
