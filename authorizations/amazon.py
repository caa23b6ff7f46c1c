"""Amazon's own gating of a seller (``getListingsRestrictions``), as the last seller sync read it.

Shown beside our verdict in the diagnosis (API.md ``amazon``); informational only — it never
decides a grant. Written by :func:`sellers.sync.restrictions_apply`.
"""
from __future__ import annotations

from typing import Any

from sellers.models import Seller

from .models import ListingRestrictionCheck


def amazon_restrictions(seller: Seller, asin: str, marketplace: str) -> dict[str, Any] | None:
    """``{checked_at, restrictions: [{reason_code, message, links}]}`` for (seller, ASIN,
    marketplace code), or None when no sync has asked Amazon yet. ``restrictions == []`` means
    Amazon lets the seller list it."""
    check = (
        ListingRestrictionCheck.objects.filter(seller=seller, asin=asin, marketplace_id=marketplace)
        .only("checked_at", "restrictions").first()
    )
    if check is None:
        return None
    restrictions = [
        {
            "reason_code": item.get("reason_code"),
            "message": item.get("message", ""),
            "links": list(item.get("links") or []),
        }
        for item in (check.restrictions or [])
        if isinstance(item, dict)
    ]
    return {"checked_at": check.checked_at, "restrictions": restrictions}
