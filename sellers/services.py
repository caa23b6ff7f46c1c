"""Every write to sellers: connections, participations, health (with automatic enforcement)."""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterable

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


MARKETPLACE_FIELDS = ("code", "marketplace_id", "country_code", "region", "name", "currency", "supported")


def marketplace_save(*, actor: Actor, marketplace: Marketplace, created: bool = False) -> Marketplace:
    """Save a marketplace as ops staff edited it (support is data: switched without a deploy),
    with an audit event when anything changed. The code, its primary key, never changes."""
    with locking_atomic():
        old = None if created else Marketplace.objects.select_for_update().filter(pk=marketplace.pk).first()
        before = None if old is None else {name: getattr(old, name) for name in MARKETPLACE_FIELDS}
        after = {name: getattr(marketplace, name) for name in MARKETPLACE_FIELDS}
        if before == after:
            return marketplace
        if created:
            marketplace.save(force_insert=True)
        else:
            marketplace.save()
        audit.record_many(actor, [audit.event("marketplace.created" if before is None else "marketplace.updated",
                                              object_type="marketplace", object_id=marketplace.code,
                                              before=before, after=after)])
    return marketplace


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
    Creates the seller on first connection; a reconnection replaces the token. The token never
    reaches an audit event: only who connected, and when."""
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
        connection, new_connection = (
            SellerConnection.objects.select_for_update(of=("self",)).select_related("connected_by")
            .get_or_create(seller=seller, defaults={"connected_at": now})
        )
        before = None if new_connection else _connection_snapshot(connection)
        connection.refresh_token_encrypted = crypto.encrypt(refresh_token)
        connection.connected_at, connection.revoked_at, connection.connected_by = now, None, user
        connection.save()
        membership, linked = SellerMembership.objects.get_or_create(user=user, seller=seller)
        if linked:  # a new partner of the seller: a change of who may act for it
            events.append(audit.event("membership.added", object_type="seller_membership", object_id=membership.pk,
                                      seller_id=seller.seller_id, after={"user": user.get_username()}))
        events.append(audit.event("connection.created", object_type="connection", object_id=seller.seller_id,
                                  seller_id=seller.seller_id, before=before, after=_connection_snapshot(connection)))
        audit.record_many(actor, events)
    return seller


def _connection_snapshot(connection: SellerConnection) -> dict:
    """What an audit event may say about a connection (never the token, not even encrypted)."""
    by = connection.connected_by
    return {"connected_by": by.get_username() if by is not None else None, "connected_at": connection.connected_at,
            "revoked_at": connection.revoked_at}


def seller_disconnect(*, actor: Actor, seller: Seller, reason: str = "") -> None:
    """Forget the stored refresh token (the partner can reconnect later). ``reason``, when the
    partner gave one, is recorded on the audit event."""
    with locking_atomic():
        _require_partner_or_system(actor, seller)
        connection = SellerConnection.objects.select_for_update(of=("self",)).select_related("connected_by") \
            .filter(seller=seller).first()
        if connection is None or connection.revoked_at is not None:
            return
        before = _connection_snapshot(connection)
        connection.refresh_token_encrypted, connection.revoked_at = "", timezone.now()
        connection.save(update_fields=["refresh_token_encrypted", "revoked_at"])
        audit.record_many(actor, [audit.event("connection.revoked", object_type="connection", object_id=seller.seller_id,
                                              seller_id=seller.seller_id, before=before,
                                              after=_connection_snapshot(connection), reason=reason.strip())],
                          at=connection.revoked_at)


def connection_tokens_rotate(*, actor: Actor, batch_size: int = 500) -> int:
    """Re-encrypt every stored refresh token with the newest key.

    Key rotation: put the new key first in ``FIELD_ENCRYPTION_KEY`` (new,old), run this, then drop
    the old key. Returns how many tokens were re-encrypted. A token that no configured key can
    read raises :class:`crypto.DecryptionError` and its batch is left as it was."""
    rotated = 0
    last_pk = 0
    while True:
        with locking_atomic():
            batch = list(SellerConnection.objects.select_for_update(of=("self",)).select_related("seller")
                         .filter(pk__gt=last_pk).exclude(refresh_token_encrypted="").order_by("pk")[:batch_size])
            if not batch:
                return rotated
            for connection in batch:
                connection.refresh_token_encrypted = crypto.rotate(connection.refresh_token_encrypted)
            SellerConnection.objects.bulk_update(batch, ["refresh_token_encrypted"])
            audit.record_many(actor, [audit.event("connection.key_rotated", object_type="connection",
                                                  object_id=c.seller.seller_id, seller_id=c.seller.seller_id)
                                      for c in batch])
            rotated += len(batch)
            last_pk = batch[-1].pk


def _require_partner_or_system(actor: Actor, seller: Seller) -> None:
    if actor.is_system:
        return
    if not SellerMembership.objects.filter(user=actor.user, seller=seller).exists():
        raise NotAllowed(_("Only the seller's own partners can change it."))


def _marketplace_code(value: object) -> object:
    """Our code for a marketplace as a partner may type it: ``us``, ``GB`` (Amazon's for ``UK``)."""
    if not isinstance(value, str):
        return value
    code = value.strip().upper()
    return "UK" if code == "GB" else code


def seller_update(*, actor: Actor, seller: Seller, home_marketplace: str | None = UNSET,
                  is_test_account: bool = UNSET) -> Seller:
    """A partner picks the home marketplace (one it participates in); ops flag test accounts.
    Turning a test account into a real one re-checks the seller limit of every brand where it
    holds a live grant (it starts counting there). An event is recorded only when something changed."""
    if not (actor.is_system or is_ops(actor.user)
            or SellerMembership.objects.filter(user=actor.user, seller=seller).exists()):
        raise NotAllowed(_("Only the seller's own partners or ops staff can change it."))
    with locking_atomic():
        if is_test_account is False and seller.is_test_account:
            _lock_brands_where_live(seller)  # brands before the seller: the global lock order
        seller = Seller.objects.select_for_update().get(pk=seller.pk)
        before = _seller_snapshot(seller)
        if is_test_account is not UNSET:
            if not (actor.is_system or is_ops(actor.user)):
                raise NotAllowed(_("Only ops staff can mark a test account."), field="is_test_account")
            if before["is_test_account"] and not is_test_account:
                _require_room_as_real_seller(seller)
            seller.is_test_account = bool(is_test_account)
        if home_marketplace is not UNSET:
            _require_partner_or_system(actor, seller)
            code = _marketplace_code(home_marketplace)
            if not isinstance(code, str) or \
                    not seller.participations.filter(marketplace_id=code, is_participating=True).exists():
                raise InvalidInput(_("“%(value)s” is not a marketplace this seller participates in.")
                                   % {"value": str(home_marketplace)[:20]},
                                   code="INVALID_MARKETPLACE", field="home_marketplace", marketplace=str(home_marketplace)[:20])
            seller.home_marketplace_id = code
        if _seller_snapshot(seller) != before:
            seller.save(update_fields=["is_test_account", "home_marketplace", "updated_at"])
            audit.record_many(actor, [_seller_event("seller.updated", seller, before=before)])
    return seller


def _live_brand_ids(seller: Seller) -> list[int]:
    from authorizations.models import Grant  # noqa: PLC0415 (apps layered: sellers < authorizations)
    from authorizations.rules import effective_live_q  # noqa: PLC0415

    return sorted(set(Grant.objects.filter(effective_live_q(timezone.now()), seller=seller)
                      .order_by().values_list("brand_id", flat=True)))


def _lock_brands_where_live(seller: Seller) -> None:
    from brands.models import Brand  # noqa: PLC0415

    list(Brand.objects.select_for_update().filter(pk__in=_live_brand_ids(seller)).order_by("pk").values_list("pk"))


def _require_room_as_real_seller(seller: Seller) -> None:
    """BRAND_SELLER_LIMIT for every brand the seller would start counting toward."""
    from authorizations.models import Grant  # noqa: PLC0415
    from authorizations.rules import Code, effective_live_q  # noqa: PLC0415
    from brands.models import Brand  # noqa: PLC0415
    from config.errors import ErrorItem, RuleViolation  # noqa: PLC0415

    limit = settings.MAX_SELLERS_PER_BRAND
    failures = []
    for brand in Brand.objects.filter(pk__in=_live_brand_ids(seller)).order_by("pk"):
        used = (Grant.objects.filter(effective_live_q(timezone.now()), brand=brand, seller__is_test_account=False)
                .order_by().values("seller_id").distinct().count())
        if used + 1 > limit:
            failures.append(ErrorItem(code=Code.BRAND_SELLER_LIMIT.value, seller_id=seller.seller_id,
                                      detail=_("Brand “%(brand)s” already has %(count)s of %(limit)s authorized sellers; "
                                               "this seller would count once it is no longer a test account.")
                                      % {"brand": brand.name, "count": used, "limit": limit}))
    if failures:
        raise RuleViolation(failures)


def seller_participations_apply(*, actor: Actor, seller: Seller, marketplace_ids: Iterable[str],
                                store_name: str = "") -> Seller:
    """Replace the seller's participations with Amazon's answer (marketplace ids, in its order).
    The home marketplace defaults to the first one and is kept while still participating.
    Marketplace ids we do not know are ignored. ``store_name`` (Amazon's ``storeName``) names a
    seller that has no name yet (one created by connecting it is named by its seller id)."""
    answer = [mid for mid in dict.fromkeys(marketplace_ids) if isinstance(mid, str)]  # read once: may be a generator
    known = {m.marketplace_id: m.code for m in Marketplace.objects.filter(marketplace_id__in=answer)}
    codes = [known[mid] for mid in answer if mid in known]
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
        store_name = (store_name or "").strip()[:200]
        if store_name and seller.name == seller.seller_id:
            seller.name = store_name
        seller.last_synced_at = now
        seller.save(update_fields=["name", "home_marketplace", "last_synced_at", "updated_at"])
        if sorted(codes) != before_codes or before["home_marketplace"] != seller.home_marketplace_id \
                or before["name"] != seller.name:
            audit.record_many(actor, [_seller_event(
                "seller.participations_updated", seller, before={**before, "marketplaces": before_codes},
                after={**_seller_snapshot(seller), "marketplaces": sorted(codes)})])
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


# Amazon serves report documents gzipped or not; an account health report is a few kilobytes.
MAX_HEALTH_REPORT_BYTES = 10 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


def _gunzip_report(raw: bytes | bytearray | str | dict) -> bytes | bytearray | str | dict:
    """The report document as downloaded: gunzip it when it is gzipped (bounded in size)."""
    if not isinstance(raw, (bytes, bytearray)) or not raw.startswith(_GZIP_MAGIC):
        return raw
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(bytes(raw), MAX_HEALTH_REPORT_BYTES + 1)
    except zlib.error as exc:
        raise HealthReportError(f"health report is not valid gzip: {exc}") from None
    if len(data) > MAX_HEALTH_REPORT_BYTES:
        raise HealthReportError(f"health report is larger than {MAX_HEALTH_REPORT_BYTES} bytes uncompressed")
    if not inflater.eof:
        raise HealthReportError("health report is truncated gzip")
    return data


def seller_health_apply(*, actor: Actor, seller: Seller, report: dict | bytes | str) -> HealthApplyResult:
    """Apply an account health report: score, infringements, account status — and suspend the
    seller's active grants at once when it now fails the health rules. A malformed report raises
    :class:`InvalidInput` (``INVALID_HEALTH_REPORT``, naming the seller and, where there is one, the
    field) and changes nothing."""
    from authorizations.services import grants_suspend_for_seller  # noqa: PLC0415 (apps layered: sellers < authorizations)

    now = timezone.now()
    with locking_atomic():
        seller = Seller.objects.select_for_update().get(pk=seller.pk)
        participating = list(
            Marketplace.objects.filter(participations__seller=seller, participations__is_participating=True)
            .values_list("marketplace_id", flat=True)
        )
        # A seller whose participations were never read is judged on the whole report (assess()
        # considers every marketplace when given none): strict rather than blind.
        try:
            assessment = assess(_gunzip_report(report), marketplace_ids=participating)
        except HealthReportError as exc:
            raise InvalidInput(exc.message, code="INVALID_HEALTH_REPORT", field=exc.field,
                               seller_id=seller.seller_id) from None
        before = _seller_snapshot(seller)
        seller.health_score = assessment.score
        seller.health_checked_at = now
        seller.health_breakdown = assessment.breakdown()
        seller.infringement_count = assessment.infringement_count
        seller.account_status = assessment.account_status
        seller.save(update_fields=["health_score", "health_checked_at", "health_breakdown", "infringement_count",
                                   "account_status", "updated_at"])
        failing = health_failures(seller)
        suspended = []
        if failing:
            # Grant rows, then their brands' audit streams, are locked in there ...
            suspended = grants_suspend_for_seller(
                actor=actor, seller=seller, reason_code=failing[0][0],
                reason="Automatic suspension: " + "; ".join(words for _code, words in failing),
            )
        # ... and the seller's stream last: audit stream heads are the last locks a transaction
        # takes, in name order ("brand:…" < "seller:…"), so writers never wait on each other in a cycle.
        audit.record_many(actor, [_seller_event("seller.health_updated", seller, before=before)])
    return HealthApplyResult(assessment=assessment, suspended=suspended, failing_codes=[c for c, _w in failing])
