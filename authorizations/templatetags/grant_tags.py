"""Words for the codes grants carry: a status as users see it, a rule's title."""
from django import template

from authorizations.models import LIVE_STATUS_VALUES, GrantStatus, RequestStatus
from authorizations.rules import RULE_TITLES, Code

register = template.Library()

_STATUS_LABELS = {**dict(RequestStatus.choices), **dict(GrantStatus.choices)}


@register.filter
def status_label(code: str) -> str:
    """``{{ grant.shown_status|status_label }}`` → "Pending approval" (translated)."""
    label = _STATUS_LABELS.get(code)
    return str(label) if label is not None else code


@register.filter
def rule_title(code: str) -> str:
    """``{{ "SELLER_HEALTH_BELOW_MIN"|rule_title }}`` → what the rule asks for, in words."""
    try:
        return str(RULE_TITLES[Code(code)])
    except ValueError:
        return ""


@register.filter
def get_count(mapping, key) -> int:
    """``{{ by_status|get_count:code }}``: a count from a dict, 0 when absent."""
    return (mapping or {}).get(key, 0)


@register.filter
def is_live(status: str) -> bool:
    """Whether a status (as users see it) still holds access or a slot: pending, active, suspended."""
    return status in LIVE_STATUS_VALUES
