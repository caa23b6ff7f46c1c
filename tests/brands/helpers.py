"""Small readers shared by the brands tests."""
from __future__ import annotations

from audit.models import AuditEvent
from brands.models import Asin, Brand


def events(brand: Brand, action: str | None = None) -> list[AuditEvent]:
    """The brand's audit events, oldest first, optionally of one action."""
    found = AuditEvent.objects.filter(brand_id=brand.pk).order_by("seq")
    return list(found.filter(action=action) if action else found)


def written(brand: Brand) -> tuple[int, int]:
    """What an import may write: (ASINs in the brand's catalog, the brand's audit events)."""
    return Asin.objects.filter(brand=brand).count(), AuditEvent.objects.filter(brand_id=brand.pk).count()
