"""E-mail that the workers send: the alert after a seller sync suspended grants (or found the
seller failing the health rules), and the daily expiring-soon notice.

One message per recipient, never one per grant: a user who is both a partner of the seller and
the owner of two affected brands gets a single e-mail with a section for each role.

Mail goes through Django's backend (``EMAIL_BACKEND``; the console in the demo, SMTP in
production) and only after the transaction that made the change has committed: callers register
:func:`seller_alert_send` with ``transaction.on_commit``. Nothing here writes to the database.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from brands.models import Brand, BrandMembership
from brands.selectors import MANAGING_ROLES
from sellers.models import Seller, SellerMembership

from .models import LIVE_STATUS_VALUES, Grant, GrantStatus

logger = logging.getLogger(__name__)

SUBJECT_PREFIX = "[Seller authorizations] "
RULE_WORDS = {
    "SELLER_HEALTH_BELOW_MIN": "health score below the minimum",
    "SELLER_HAS_INFRINGEMENTS": "intellectual-property / infringement complaints",
    "SELLER_ACCOUNT_RESTRICTED": "Amazon account deactivated",
}


@dataclass
class Recipient:
    """What one user is told: as a partner of sellers, and as an owner/manager of brands."""

    user: object
    partner_of: list[Seller] = field(default_factory=list)
    brands: list[Brand] = field(default_factory=list)


def _managers_of(brand_ids: Iterable[int]) -> dict[int, list]:
    """brand id → its owners and managers (users with an e-mail address)."""
    found: dict[int, list] = defaultdict(list)
    rows = (BrandMembership.objects.filter(brand_id__in=set(brand_ids), role__in=[r.value for r in MANAGING_ROLES])
            .exclude(user__email="").filter(user__is_active=True).select_related("user").order_by("brand_id", "user_id"))
    for membership in rows:
        found[membership.brand_id].append(membership.user)
    return found


def _partners_of(seller_ids: Iterable[int]) -> dict[int, list]:
    """seller pk → the users linked to it (with an e-mail address)."""
    found: dict[int, list] = defaultdict(list)
    rows = (SellerMembership.objects.filter(seller_id__in=set(seller_ids)).exclude(user__email="")
            .filter(user__is_active=True).select_related("user").order_by("seller_id", "user_id"))
    for membership in rows:
        found[membership.seller_id].append(membership.user)
    return found


def _site_url() -> str:
    return str(getattr(settings, "SITE_URL", "")).rstrip("/")


def _grant_line(grant: Grant, *, with_seller: bool, with_brand: bool) -> str:
    parts = [f"{grant.asin.asin} in {grant.marketplace_id}"]
    if with_seller:
        parts.append(f"seller {grant.seller.name} ({grant.seller.seller_id})")
    if with_brand:
        parts.append(f"brand {grant.brand.name}")
    if grant.valid_until is not None:
        parts.append(f"until {grant.valid_until.strftime('%Y-%m-%d %H:%M')} UTC")
    return "  - " + ", ".join(parts) + f" [grant {grant.pk}]"


def _send(messages: Sequence[EmailMessage]) -> int:
    if not messages:
        return 0
    with get_connection() as connection:
        return connection.send_messages(list(messages)) or 0


def _message(user, subject: str, body: str) -> EmailMessage:
    return EmailMessage(subject=SUBJECT_PREFIX + subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL,
                        to=[user.email])


# -- the alert after a seller sync --------------------------------------------------------------

def seller_alert_compose(*, seller: Seller, suspended: Sequence[Grant], failing_codes: Sequence[str],
                         affected_brand_ids: Iterable[int]) -> list[EmailMessage]:
    """One message per recipient: the seller's partners, and the owners/managers of the brands
    whose grants were suspended (or on which the seller holds a live grant)."""
    brand_ids = set(affected_brand_ids) | {g.brand_id for g in suspended}
    managers = _managers_of(brand_ids)
    partners = _partners_of([seller.pk])[seller.pk]
    brands = {b.pk: b for b in Brand.objects.filter(pk__in=brand_ids)}
    recipients: dict[int, Recipient] = {}
    for user in partners:
        recipients.setdefault(user.pk, Recipient(user)).partner_of.append(seller)
    for brand_id, users in managers.items():
        for user in users:
            recipients.setdefault(user.pk, Recipient(user)).brands.append(brands[brand_id])

    why = "; ".join(RULE_WORDS.get(code, code) for code in failing_codes) or "the seller no longer passes the health rules"
    facts = (f"Health score {seller.health_score if seller.health_score is not None else 'unknown'} "
             f"(minimum {settings.MIN_HEALTH_SCORE}), {seller.infringement_count} infringement complaint(s), "
             f"account status {seller.account_status}.")
    subject = (f"{len(suspended)} authorization(s) of {seller.name} ({seller.seller_id}) suspended" if suspended
               else f"{seller.name} ({seller.seller_id}) fails the health rules")
    messages = []
    for recipient in recipients.values():
        lines = [f"Hello {recipient.user.get_username()},", "",
                 f"The latest Amazon sync of seller {seller.name} ({seller.seller_id}) found: {why}.", facts, ""]
        if recipient.partner_of:
            own = list(suspended)
            lines.append("As a partner of this seller account:")
            if own:
                lines.append(f"{len(own)} of its authorizations were suspended automatically:")
                lines.extend(_grant_line(g, with_seller=False, with_brand=True) for g in own)
            else:
                lines.append("No authorization was active to suspend, but new ones will be refused until this is fixed.")
            lines.append("A brand owner can reinstate them once the seller passes the rules again.")
            lines.append("")
        for brand in recipient.brands:
            own = [g for g in suspended if g.brand_id == brand.pk]
            lines.append(f"Brand {brand.name}:")
            if own:
                lines.append(f"{len(own)} authorization(s) of this seller on your brand were suspended automatically:")
                lines.extend(_grant_line(g, with_seller=False, with_brand=False) for g in own)
            else:
                lines.append("The seller holds authorizations on your brand; none was active to suspend.")
            lines.append("")
        lines.append(f"Details: {_site_url()}/api/v1/sellers/{seller.seller_id}")
        messages.append(_message(recipient.user, subject, "\n".join(lines)))
    return messages


def seller_alert_send(seller_pk: int, suspended_grant_ids: Sequence[int], failing_codes: Sequence[str]) -> int:
    """Send the alert (run it with ``transaction.on_commit``): how many messages went out."""
    seller = Seller.objects.filter(pk=seller_pk).first()
    if seller is None:
        return 0
    suspended = list(Grant.objects.filter(pk__in=list(suspended_grant_ids))
                     .select_related("asin", "brand", "seller").order_by("brand_id", "asin__asin", "marketplace_id"))
    live_brand_ids = (Grant.objects.filter(seller=seller, status__in=LIVE_STATUS_VALUES)
                      .order_by().values_list("brand_id", flat=True).distinct())
    messages = seller_alert_compose(seller=seller, suspended=suspended, failing_codes=list(failing_codes),
                                    affected_brand_ids=list(live_brand_ids))
    sent = _send(messages)
    logger.info("seller alert for %s: %d message(s) sent", seller.seller_id, sent)
    return sent


# -- the daily expiring-soon notice ---------------------------------------------------------------

def expiring_grants(*, now: dt.datetime, days: int) -> list[Grant]:
    """ACTIVE grants whose term ends within ``days`` (the same set as
    ``GET /grants?expiring_within_days=``)."""
    return list(
        Grant.objects.filter(status=GrantStatus.ACTIVE, valid_until__gt=now, valid_until__lte=now + dt.timedelta(days=days))
        .select_related("asin", "brand", "seller").order_by("valid_until", "pk")
    )


def expiring_notices_compose(*, now: dt.datetime, days: int) -> dict[int, EmailMessage]:
    """user pk → the one message that user gets today: a section per brand they own or manage
    (that brand's expiring grants) and a section per seller they are a partner of (its own)."""
    grants = expiring_grants(now=now, days=days)
    if not grants:
        return {}
    by_brand: dict[int, list[Grant]] = defaultdict(list)
    by_seller: dict[int, list[Grant]] = defaultdict(list)
    for grant in grants:
        by_brand[grant.brand_id].append(grant)
        by_seller[grant.seller_id].append(grant)
    managers = _managers_of(by_brand)
    partners = _partners_of(by_seller)
    recipients: dict[int, Recipient] = {}
    for brand_id, users in managers.items():
        for user in users:
            recipients.setdefault(user.pk, Recipient(user)).brands.append(by_brand[brand_id][0].brand)
    for seller_pk, users in partners.items():
        for user in users:
            recipients.setdefault(user.pk, Recipient(user)).partner_of.append(by_seller[seller_pk][0].seller)

    messages: dict[int, EmailMessage] = {}
    for user_pk, recipient in recipients.items():
        count = 0
        lines = [f"Hello {recipient.user.get_username()},", "",
                 f"These authorizations end within {days} days ({now:%Y-%m-%d}):", ""]
        for brand in sorted(recipient.brands, key=lambda b: (b.name, b.pk)):
            own = by_brand[brand.pk]
            count += len(own)
            lines.append(f"Brand {brand.name} — {len(own)} authorization(s):")
            lines.extend(_grant_line(g, with_seller=True, with_brand=False) for g in own)
            lines.append("")
        for seller in sorted(recipient.partner_of, key=lambda s: s.seller_id):
            own = by_seller[seller.pk]
            count += len(own)
            lines.append(f"Your seller account {seller.name} ({seller.seller_id}) — {len(own)} authorization(s):")
            lines.extend(_grant_line(g, with_seller=False, with_brand=True) for g in own)
            lines.append("")
        lines.append(f"The list: {_site_url()}/api/v1/grants?expiring_within_days={days}")
        messages[user_pk] = _message(recipient.user, f"{count} authorization(s) expiring within {days} days",
                                     "\n".join(lines))
    return messages


def send_one(message: EmailMessage) -> int:
    return _send([message])
