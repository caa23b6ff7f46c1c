"""Template helpers of the brand pages: ``{% brand_access brand as access %}`` (the user's role
on the brand, shared with the view through the request: no extra query when the view looked
it up), and ``{{ value|audit_value }}`` for before/after values of audit events."""
from __future__ import annotations

import json
import re

from django import template

from brands.web.access import BrandAccess, brand_access as _brand_access

register = template.Library()


@register.simple_tag(takes_context=True)
def brand_access(context, brand) -> BrandAccess | None:
    request = context.get("request")
    if request is None or brand is None:
        return None
    return _brand_access(request, brand)


@register.filter
def audit_value(value) -> str:
    """An audit event's before/after value as text: lists joined, objects as compact JSON."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    moment = _ISO_MOMENT.match(text)
    if moment:  # a time, as the audit log stores it (ISO 8601, UTC)
        return f"{moment['date']} {moment['time']}"
    return text if text != "" else "—"


_ISO_MOMENT = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2})(:\d{2}(\.\d+)?)?(Z|[+-]00:00)$")


PRESENCE_BADGES = {"VERIFIED": ("ok", "✓"), "UNVERIFIED": ("", "?"), "NOT_FOUND": ("fail", "✕"),
                   "BRAND_MISMATCH": ("fail", "✕")}


@register.filter
def presence_badge(status: str) -> str:
    """The badge class of an ASIN presence's catalog status."""
    return PRESENCE_BADGES.get(status, ("", ""))[0]


@register.filter
def presence_mark(status: str) -> str:
    """The sign shown with a presence's marketplace code (its status is also in words, for
    screen readers and on hover)."""
    return PRESENCE_BADGES.get(status, ("", ""))[1]


@register.filter
def presence_label(status: str) -> str:
    """A presence's status in words: ``get_status_display`` hashed every choice's translated
    label on each call (four translations per badge, 150 badges on a catalog page)."""
    from brands.models import PresenceStatus

    try:
        return str(PresenceStatus(status).label)
    except ValueError:
        return status
