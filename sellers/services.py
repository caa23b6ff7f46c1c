"""Every write to sellers: connections, participations, health (with automatic enforcement)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.context import Actor
from brands.selectors import is_ops
from config.db import locking_atomic
from config.errors import InvalidInput, NotAllowed

from . import crypto
from .health import HealthAssessment, HealthReportError, assess
from .models import AccountStatus, Marketplace, Participation, Seller, SellerConnection, SellerMembership

SELLER_ID_RE = re.compile(r"^[A-Z0-9]{10,20}$")
UNSET: Any = object()


def clean_seller_id(value: object, *, field_name: str = "seller_id") -> str:
    if not isinstance(value, str) or not SELLER_ID_RE.match(value.strip()):
        raise InvalidInput(_("“%(value)s” is not a seller id (10 to 20 capital letters or digits).") % {"value": str(value)[:40]},
                           code="INVALID_SELLER_ID", field=field_name, seller_id=str(value)[:40])
    return value.strip()


def _seller_snapshot(seller: Seller) -> dict:
    return {
        "name": seller.name,
        "home_marketplace": seller.home_marketplace_id,
        "health_score": seller.health_score,
        "infringement_count": seller.infringement_count,
        "account_status": seller.account_status,
        "is_test_account": seller.is_test_account,
    }


def _seller_event(action: str, seller: Seller, *, before: dict | None, after: dict | None = None, reason: str = ""):
    return audit.event(action, object_type="seller", object_id=seller.seller_id, seller_id=seller.seller_id,
                       before=before, after=after if after is not None else _seller_snapshot(seller), reason=reason)


def seller_connect(*, actor: Actor, user, seller_id: str, refresh_token: str, name: str = "") -> Seller:
    """Store a seller's SP-API authorization (encrypted) and link ``user`` as its partner.
    Creates the seller on first connection; a reconnection replaces the token."""
    seller_id = clean_seller_id(seller_id, field_name="selling_partner_id")
    if not refresh_token:
        raise InvalidInput(_("The authorization returned no refresh token."), code="INVALID_TOKEN")
    now = timezone.now()
    with locking_atomic():
        seller, created = Seller.objects.select_for_update().get_or_create(
            seller_id=seller_id, defaults={"name": name or seller_id})
        events = []
        if created:
            events.append(_seller_event("seller.created", seller, before=None))
        connection, _new = SellerConnection.objects.select_for_update().get_or_create(
            seller=seller, defaults={"connected_at": now})
        connection.refresh_token_encrypted = crypto.encrypt(refresh_token)
        connection.connected_at, connection.revoked_at, connection.connected_by = now, None, user
        connection.save()
        SellerMembership.objects.get_or_create(user=user, seller=seller)
        events.append(audit.event("connection.created", object_type="connection", object_id=seller.seller_id,
                                  seller_id=seller.seller_id, after={"connected_by": user.get_username()}))
        audit.record_many(actor, events, at=now)
    return seller


def seller_disconnect(*, actor: Actor, seller: Seller) -> None:
    """Forget the stored refresh token (the partner can reconnect later)."""
    with locking_atomic():
        _require_partner_or_system(actor, seller)
        connection = SellerConnection.objects.select_for_update().filter(seller=seller).first()
        if connection is None or connection.revoked_at is not None:
            return
        connection.refresh_token_encrypted, connection.revoked_at = "", timezone.now()
        connection.save(update_fields=["refresh_token_encrypted", "revoked_at"])
        audit.record_many(actor, [audit.event("connection.revoked", object_type="connection", object_id=seller.seller_id,
                                              seller_id=seller.seller_id)])


def _require_partner_or_system(actor: Actor, seller: Seller) -> None:
    if actor.is_system:
        return
    if not SellerMembership.objects.filter(user=actor.user, seller=seller).exists():
        raise NotAllowed(_("Only the seller's own partners can change it."))


def seller_update(*, actor: Actor, seller: Seller, home_marketplace: str | None = UNSET,
                  is_test_account: bool = UNSET) -> Seller:
    """A partner picks the home marketplace (one it participates in); ops flag test accounts."""
    with locking_atomic():
        seller = Seller.objects.select_for_update().get(pk=seller.pk)
        before = _seller_snapshot(seller)
        if is_test_account is not UNSET:
            if not (actor.is_system or is_ops(actor.user)):
                raise NotAllowed(_("Only ops staff can mark a test account."), field="is_test_account")
            seller.is_test_account = bool(is_test_account)
        if home_marketplace is not UNSET:
            _require_partner_or_system(actor, seller)
            code = "UK" if home_marketplace == "GB" else home_marketplace
            if not seller.participations.filter(marketplace_id=code, is_participating=True).exists():
                raise InvalidInput(_("“%(value)s” is not a marketplace this seller participates in.") % {"value": home_marketplace},
                                   code="INVALID_MARKETPLACE", field="home_marketplace", marketplace=str(home_marketplace))
            seller.home_marketplace_id = code
        seller.save()
        audit.record_many(actor, [_seller_event("seller.updated", seller, before=before)])
    return seller


def seller_participations_apply(*, actor: Actor, seller: Seller, marketplace_ids: Sequence[str]) -> Seller:
    """Replace the seller's participations with Amazon's answer (marketplace ids, in its order).
    The home marketplace defaults to the first one and is kept while still participating."""
    known = {m.marketplace_id: m for m in Marketplace.objects.filter(marketplace_id__in=list(marketplace_ids))}
    codes = [known[mid].code for mid in dict.fromkeys(marketplace_ids) if mid in known]
    now = timezone.now()
    with locking_atomic():
        seller = Seller.objects.select_for_update().get(pk=seller.pk)
        before_codes = sorted(seller.participations.filter(is_participating=True).values_list("marketplace_id", flat=True))
        before = _seller_snapshot(seller)
        seller.participations.exclude(marketplace_id__in=codes).delete()
        existing = set(seller.participations.values_list("marketplace_id", flat=True))
        Participation.objects.bulk_create([Participation(seller=seller, marketplace_id=c) for c in codes if c not in existing])
        seller.participations.filter(marketplace_id__in=codes).update(is_participating=True, updated_at=now)
        if seller.home_marketplace_id not in codes:
            seller.home_marketplace_id = codes[0] if codes else None
        seller.last_synced_at = now
        seller.save(update_fields=["home_marketplace", "last_synced_at", "updated_at"])
        if sorted(codes) != before_codes or before["home_marketplace"] != seller.home_marketplace_id:
            audit.record_many(actor, [_seller_event(
                "seller.participations_updated", seller, before={**before, "marketplaces": before_codes},
                after={**_seller_snapshot(seller), "marketplaces": sorted(codes)})], at=now)
    return seller


@dataclass
class HealthApplyResult:
    assessment: HealthAssessment
    suspended: list = field(default_factory=list)
    failing_codes: list[str] = field(default_factory=list)


def health_failures(seller: Seller) -> list[tuple[str, str]]:
    """The health rules a seller's current facts fail: (code, words)."""
    failing = []
    if seller.health_score is not None and seller.health_score < settings.MIN_HEALTH_SCORE:
        failing.append(("SELLER_HEALTH_BELOW_MIN",
                        f"health score {seller.health_score} below {settings.MIN_HEALTH_SCORE}"))
    if seller.infringement_count > settings.MAX_INFRINGEMENTS:
        failing.append(("SELLER_HAS_INFRINGEMENTS", f"{seller.infringement_count} infringement complaint(s)"))
    if seller.account_status == AccountStatus.DEACTIVATED:
        failing.append(("SELLER_ACCOUNT_RESTRICTED", "account deactivated"))
    return failing


def seller_health_apply(*, actor: Actor, seller: Seller, report: dict | bytes | str) -> HealthApplyResult:
    """Apply an account health report: score, infringements, account status — and suspend the
    seller's active grants at once when it now fails the health rules. A malformed report raises
    :class:`InvalidInput` (``INVALID_HEALTH_REPORT``) and changes nothing."""
    from authorizations.services import grants_suspend_for_seller  # noqa: PLC0415 (apps layered: sellers < authorizations)

    now = timezone.now()
    with locking_atomic():
        seller = Seller.objects.select_for_update().get(pk=seller.pk)
        participating = list(
            Marketplace.objects.filter(participations__seller=seller, participations__is_participating=True)
            .values_list("marketplace_id", flat=True)
        )
        try:
            assessment = assess(report, marketplace_ids=participating)
        except HealthReportError as exc:
            raise InvalidInput(str(exc.message if hasattr(exc, "message") else exc), code="INVALID_HEALTH_REPORT",
                               field=getattr(exc, "field", None)) from None
        before = _seller_snapshot(seller)
        seller.health_score = assessment.score
        seller.health_checked_at = now
        seller.health_breakdown = assessment.breakdown()
        seller.infringement_count = assessment.infringement_count
        seller.account_status = assessment.account_status
        seller.save(update_fields=["health_score", "health_checked_at", "health_breakdown", "infringement_count",
                                   "account_status", "updated_at"])
        audit.record_many(actor, [_seller_event("seller.health_updated", seller, before=before)], at=now)
        failing = health_failures(seller)
        suspended = []
        if failing:
            suspended = grants_suspend_for_seller(
                actor=actor, seller=seller, reason_code=failing[0][0],
                reason="Automatic suspension: " + "; ".join(words for _code, words in failing),
            )
    return HealthApplyResult(assessment=assessment, suspended=suspended, failing_codes=[c for c, _w in failing])
