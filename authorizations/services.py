"""Every write to grants and requests. Each function is one transaction that locks what owns
the limits it touches — the brand row, then its ASIN rows in pk order, then the seller row whose
facts the rules read — evaluates the rules, writes, and records its audit events before commit
(audit stream heads are the last locks taken)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from audit import services as audit
from audit.context import Actor
from audit.services import EventSpec
from brands.models import Asin, Brand
from brands.selectors import MANAGING_ROLES, require_brand_role
from config.db import locking_atomic
from config.errors import Conflict, ErrorItem, InvalidInput, InvalidTransition, NotAllowed, RuleViolation, SelfApproval
from sellers.models import Marketplace, Seller, SellerMembership

from . import rules
from .models import LIVE_STATUS_VALUES, AuthorizationRequest, Grant, GrantStatus, RequestStatus

ASIN_RE = re.compile(r"^[A-Z0-9]{10}$")


# -- input validation (shared by services, API and UI) -----------------------------------------

def clean_asin_codes(values: Iterable[object], *, field_name: str = "asins") -> list[str]:
    """Upper-cased, de-duplicated ASIN codes; every malformed one reported."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInput(_("A list of ASINs is expected."), code="INVALID_ASIN", field=field_name)
    codes: list[str] = []
    errors: list[ErrorItem] = []
    for value in values:
        code = value.strip().upper() if isinstance(value, str) else value
        if not isinstance(code, str) or not ASIN_RE.match(code):
            errors.append(ErrorItem(code="INVALID_ASIN", field=field_name, asin=str(value)[:40],
                                    detail=_("“%(value)s” is not an ASIN (10 letters or digits).") % {"value": str(value)[:40]}))
        else:
            codes.append(code)
    if errors:
        raise InvalidInput(errors)
    codes = list(dict.fromkeys(codes))
    if not codes:
        raise InvalidInput(_("At least one ASIN is required."), code="REQUIRED", field=field_name)
    if len(codes) > settings.MAX_GRANT_ASINS:
        raise InvalidInput(_("At most %(max)s ASINs per request.") % {"max": settings.MAX_GRANT_ASINS},
                           code="TOO_MANY_ITEMS", field=field_name)
    return codes


def clean_marketplace_codes(values: Iterable[object] | None, *, field_name: str = "marketplaces") -> list[str]:
    """Known marketplace codes (``UK`` is ours; Amazon's ``GB`` is accepted for it)."""
    if values is None:
        return []
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInput(_("A list of marketplace codes is expected."), code="INVALID_MARKETPLACE", field=field_name)
    known = set(Marketplace.objects.values_list("code", flat=True))
    codes: list[str] = []
    errors: list[ErrorItem] = []
    for value in values:
        code = value.strip().upper() if isinstance(value, str) else None
        code = "UK" if code == "GB" else code
        if code not in known:
            errors.append(ErrorItem(code="INVALID_MARKETPLACE", field=field_name, marketplace=str(value)[:20],
                                    detail=_("“%(value)s” is not a marketplace code.") % {"value": str(value)[:20]}))
        else:
            codes.append(code)
    if errors:
        raise InvalidInput(errors)
    return list(dict.fromkeys(codes))


# -- grants -------------------------------------------------------------------------------------

@dataclass
class GrantCreateResult:
    created: list[Grant] = field(default_factory=list)
    skipped: list[ErrorItem] = field(default_factory=list)
    failures: list[ErrorItem] = field(default_factory=list)


def _grant_snapshot(grant: Grant) -> dict:
    return {
        "status": grant.status,
        "seller_id": grant.seller.seller_id,
        "asin": grant.asin.asin,
        "marketplace": grant.marketplace_id,
        "valid_from": grant.valid_from,
        "valid_until": grant.valid_until,
    }


def _grant_event(action: str, grant: Grant, *, before: dict | None, reason: str = "") -> EventSpec:
    return audit.event(
        action,
        object_type="grant",
        object_id=grant.pk,
        brand_id=grant.brand_id,
        seller_id=grant.seller.seller_id,
        before=before,
        after=_grant_snapshot(grant),
        reason=reason,
    )


def _lock_brand_and_asins(brand: Brand, asin_codes: Sequence[str]) -> Brand:
    """The one global lock order: the brand row, then its ASIN rows by pk.

    Every other row lock here is on grants or requests only: ``select_for_update(of=("self",))``,
    because a bare ``select_for_update()`` with ``select_related`` also locks the joined seller,
    ASIN, brand and marketplace rows — so revoking a grant on one brand would wait for any
    change to the same seller (or in the same marketplace) on another brand, and could deadlock
    with a grant holding the brand lock."""
    locked = Brand.objects.select_for_update().get(pk=brand.pk)
    list(Asin.objects.select_for_update().filter(brand=locked, asin__in=asin_codes).order_by("pk").values_list("pk"))
    return locked


def _lock_seller(seller_pk: int) -> Seller:
    """Lock the seller row after the brand and ASINs, before any grant: a health sync locks the
    seller, changes its facts and suspends its ACTIVE grants in one transaction, so a grant or a
    reinstatement judged on the facts it is replacing must wait for it, not slip past it."""
    return Seller.objects.select_for_update(no_key=True, of=("self",)).select_related("home_marketplace").get(pk=seller_pk)


def _expire_stale(grants: Iterable[Grant], now: dt.datetime) -> list[EventSpec]:
    """Write EXPIRED on live grants whose term has passed (they already count as expired)."""
    events = []
    for grant in grants:
        before = _grant_snapshot(grant)
        grant.status = GrantStatus.EXPIRED
        grant.status_changed_at = now
        grant.status_reason_code = "TERM_ENDED"
        grant.status_reason = ""
        events.append(_grant_event("grant.expired", grant, before=before, reason="valid_until passed"))
    return events


_GRANT_COLUMNS = [f.attname for f in Grant._meta.concrete_fields]  # "id" first


def _insert_grants(pairs: Sequence[tuple[Asin, Marketplace]], *, brand: Brand, seller: Seller, status: str,
                   valid_from: dt.datetime, valid_until: dt.datetime | None, reason: str, letter_reference: str,
                   granted_by, approved_by, request: AuthorizationRequest | None, now: dt.datetime) -> list[Grant]:
    """Insert one grant per (ASIN, marketplace) and return them, saved, with their brand, seller,
    ASIN and marketplace attached (what the audit events and the API read, without a query).

    On PostgreSQL: one statement, then model instances built as the ORM builds fetched rows.
    ``bulk_create`` spent longer preparing 17 fields per grant than PostgreSQL spent storing them
    (10,000 grants: ~1 s of Python)."""
    created_at = timezone.now()  # taken under the locks, as auto_now_add would
    common = {
        "brand_id": brand.pk, "seller_id": seller.pk, "status": status, "valid_from": valid_from,
        "valid_until": valid_until, "reason": reason, "letter_reference": letter_reference,
        "granted_by_id": getattr(granted_by, "pk", None), "approved_by_id": getattr(approved_by, "pk", None),
        "request_id": getattr(request, "pk", None), "created_at": created_at, "status_changed_at": now,
        "status_reason_code": "", "status_reason": "",
    }
    if connection.vendor != "postgresql":
        grants = [Grant(**common, asin_id=asin.pk, marketplace_id=market.pk) for asin, market in pairs]
        Grant.objects.bulk_create(grants, batch_size=2000)
    else:
        # One INSERT ... SELECT FROM unnest(ASIN ids, marketplace codes); the values every new
        # grant shares are passed once.
        columns = _GRANT_COLUMNS[1:]
        select = ", ".join(f"x.{c}" if c in ("asin_id", "marketplace_id") else "%s" for c in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Grant._meta.db_table} ({', '.join(columns)}) SELECT {select} "
                "FROM unnest(%s::bigint[], %s::text[]) AS x(asin_id, marketplace_id) RETURNING id, asin_id, marketplace_id",
                [common[c] for c in columns if c not in ("asin_id", "marketplace_id")]
                + [[asin.pk for asin, _m in pairs], [market.pk for _a, market in pairs]],
            )
            ids = {(asin_id, market): grant_id for grant_id, asin_id, market in cursor.fetchall()}
        grants = [Grant.from_db(DEFAULT_DB_ALIAS, _GRANT_COLUMNS,
                                [ids[asin.pk, market.pk] if c == "id" else asin.pk if c == "asin_id"
                                 else market.pk if c == "marketplace_id" else common[c] for c in _GRANT_COLUMNS])
                  for asin, market in pairs]
    related = ((Grant.brand.field, brand), (Grant.seller.field, seller), (Grant.granted_by.field, granted_by),
               (Grant.approved_by.field, approved_by), (Grant.request.field, request))
    for grant, (asin, market) in zip(grants, pairs):
        for fk, value in related:
            fk.set_cached_value(grant, value)
        Grant.asin.field.set_cached_value(grant, asin)
        Grant.marketplace.field.set_cached_value(grant, market)
    return grants


def _save_status(grants: list[Grant]) -> None:
    Grant.objects.bulk_update(grants, ["status", "status_changed_at", "status_reason_code", "status_reason", "approved_by"])


def grants_create(
    *,
    actor: Actor,
    brand: Brand,
    seller: Seller,
    asins: Sequence[str],
    marketplaces: Sequence[str] | None = None,
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
    reason: str = "",
    letter_reference: str = "",
    partial: bool = False,
    request: AuthorizationRequest | None = None,
    scope: Sequence[str] | None = None,
) -> GrantCreateResult:
    """Grant ``seller`` the ASINs × marketplaces of ``brand``.

    All-or-nothing: any failing rule raises :class:`RuleViolation` listing every failure and
    nothing is written. With ``partial`` the eligible pairs are granted and the failures
    returned. Pairs the seller already holds are skipped (``ALREADY_GRANTED``), not failed.
    Under the brand's dual control the grants wait for a second member's approval.
    """
    asin_codes = clean_asin_codes(asins)
    mcodes = clean_marketplace_codes(marketplaces)
    pair_count = len(asin_codes) * max(len(mcodes), 1)
    if pair_count > settings.MAX_GRANT_PAIRS:
        raise InvalidInput(_("A grant request covers at most %(max)s ASIN × marketplace pairs (this one: %(n)s).")
                           % {"max": settings.MAX_GRANT_PAIRS, "n": pair_count}, code="TOO_MANY_ITEMS", field="asins")
    now = timezone.now()
    valid_from = valid_from or now
    with locking_atomic():
        require_brand_role(actor, brand, MANAGING_ROLES)
        brand = _lock_brand_and_asins(brand, asin_codes)
        seller = _lock_seller(seller.pk)
        stale = list(
            Grant.objects.select_for_update(of=("self",)).select_related("seller", "asin")
            .filter(seller=seller, asin__brand=brand, asin__asin__in=asin_codes, status__in=LIVE_STATUS_VALUES,
                    valid_until__lte=now).order_by("pk")
        )
        events = _expire_stale(stale, now)
        _save_status(stale)
        verdict = rules.evaluate(
            brand=brand, seller=seller, asin_codes=asin_codes, marketplace_codes=mcodes, valid_from=valid_from,
            valid_until=valid_until, scope=scope, now=now,
        )
        result = GrantCreateResult(
            skipped=[ErrorItem(code=rules.Code.ALREADY_GRANTED.value, asin=a, marketplace=m, seller_id=seller.seller_id,
                               detail=_("Seller %(seller)s already holds ASIN %(asin)s in %(m)s.")
                               % {"seller": seller.seller_id, "asin": a, "m": m})
                     for a, m in verdict.already_granted],
            failures=verdict.failures,
        )
        if verdict.failures and (not partial or not verdict.eligible):
            raise RuleViolation(verdict.failures)
        status = GrantStatus.PENDING_APPROVAL if brand.dual_control else GrantStatus.ACTIVE
        user = actor.user
        try:
            grants = _insert_grants(
                verdict.eligible, brand=brand, seller=seller, status=status, valid_from=valid_from,
                valid_until=valid_until, reason=reason, letter_reference=letter_reference, granted_by=user,
                approved_by=None if brand.dual_control else user, request=request, now=now,
            )
        except IntegrityError as exc:  # defence in depth: the partial unique index
            raise Conflict(_("The seller already holds one of these authorizations."), code="ALREADY_GRANTED") from exc
        events += [_grant_event("grant.created", g, before=None, reason=reason) for g in grants]
        audit.record_many(actor, events)
        result.created = grants
    return result


_TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    # action: (from statuses, to status, audit action)
    "approve": (frozenset({GrantStatus.PENDING_APPROVAL}), GrantStatus.ACTIVE, "grant.approved"),
    "reject": (frozenset({GrantStatus.PENDING_APPROVAL}), GrantStatus.REJECTED, "grant.rejected"),
    "revoke": (frozenset(LIVE_STATUS_VALUES), GrantStatus.REVOKED, "grant.revoked"),
    "suspend": (frozenset({GrantStatus.ACTIVE}), GrantStatus.SUSPENDED, "grant.suspended"),
    "reinstate": (frozenset({GrantStatus.SUSPENDED}), GrantStatus.ACTIVE, "grant.reinstated"),
}


def transition_sources(action: str) -> frozenset[str]:
    """The statuses a grant may be in for ``action`` (``approve``, ``revoke``, ...) to apply."""
    return _TRANSITIONS[action][0]


def effective_status(grant: Grant, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    if grant.status in LIVE_STATUS_VALUES and grant.valid_until is not None and grant.valid_until <= now:
        return GrantStatus.EXPIRED
    return grant.status


def _transition(*, actor: Actor, grant: Grant, action: str, reason: str = "", reason_code: str = "",
                recheck: bool = False) -> Grant:
    sources, target, audit_action = _TRANSITIONS[action]
    now = timezone.now()
    with locking_atomic():
        require_brand_role(actor, grant.brand, MANAGING_ROLES)
        if recheck:  # giving access again: lock what owns the limits and the seller, like a create
            _lock_brand_and_asins(grant.brand, [grant.asin.asin])
            _lock_seller(grant.seller_id)
        locked = (Grant.objects.select_for_update(of=("self",))
                  .select_related("seller", "asin", "brand", "marketplace").get(pk=grant.pk))
        current = effective_status(locked, now)
        if current not in sources:
            raise InvalidTransition(
                _("A grant that is %(status)s cannot be %(action)s.") % {"status": current, "action": _ACTION_WORDS[action]},
                code="INVALID_TRANSITION",
            )
        if action == "approve" and locked.brand.dual_control and actor.user_id is not None \
                and locked.granted_by_id == actor.user_id:
            raise SelfApproval(_("Under dual control a different member of the brand must approve this grant."),
                               code="SELF_APPROVAL")
        if recheck:
            verdict = rules.evaluate(
                brand=locked.brand, seller=locked.seller, asin_codes=[locked.asin.asin],
                marketplace_codes=[locked.marketplace_id], own_grant_ids=[locked.pk], check_term=False, now=now,
            )
            if verdict.failures:
                raise RuleViolation(verdict.failures)
        before = _grant_snapshot(locked)
        locked.status = target
        locked.status_changed_at = now
        locked.status_reason_code = reason_code or action.upper()
        locked.status_reason = reason
        if action == "approve":
            locked.approved_by = actor.user
        _save_status([locked])
        audit.record_many(actor, [_grant_event(audit_action, locked, before=before, reason=reason)])
    return locked


_ACTION_WORDS = {"approve": pgettext_lazy("grant transition", "approved"),
                 "reject": pgettext_lazy("grant transition", "rejected"),
                 "revoke": pgettext_lazy("grant transition", "revoked"),
                 "suspend": pgettext_lazy("grant transition", "suspended"),
                 "reinstate": pgettext_lazy("grant transition", "reinstated")}


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("A reason is required."), code="REQUIRED", field="reason")
    return reason


def grant_approve(*, actor: Actor, grant: Grant, reason: str = "") -> Grant:
    return _transition(actor=actor, grant=grant, action="approve", reason=reason, recheck=True)


def grant_reject(*, actor: Actor, grant: Grant, reason: str) -> Grant:
    return _transition(actor=actor, grant=grant, action="reject", reason=_require_reason(reason))


def grant_revoke(*, actor: Actor, grant: Grant, reason: str) -> Grant:
    return _transition(actor=actor, grant=grant, action="revoke", reason=_require_reason(reason))


def grant_suspend(*, actor: Actor, grant: Grant, reason: str, reason_code: str = "MANUAL") -> Grant:
    return _transition(actor=actor, grant=grant, action="suspend", reason=_require_reason(reason), reason_code=reason_code)


def grant_reinstate(*, actor: Actor, grant: Grant, reason: str = "") -> Grant:
    return _transition(actor=actor, grant=grant, action="reinstate", reason=reason, recheck=True)


def grants_revoke_all(*, actor: Actor, brand: Brand, seller: Seller, reason: str) -> int:
    """The emergency stop: every live grant of ``seller`` on ``brand``, revoked at once."""
    reason = _require_reason(reason)
    now = timezone.now()
    with locking_atomic():
        require_brand_role(actor, brand, MANAGING_ROLES)
        grants = list(
            Grant.objects.select_for_update(of=("self",)).select_related("seller", "asin")
            .filter(brand=brand, seller=seller, status__in=LIVE_STATUS_VALUES).order_by("pk")
        )
        # A grant past its term is already expired (DOMAIN.md "Live"): record that, not a revocation.
        stale = [g for g in grants if effective_status(g, now) == GrantStatus.EXPIRED]
        live = [g for g in grants if effective_status(g, now) != GrantStatus.EXPIRED]
        events = _expire_stale(stale, now)
        for grant in live:
            before = _grant_snapshot(grant)
            grant.status, grant.status_changed_at = GrantStatus.REVOKED, now
            grant.status_reason_code, grant.status_reason = "REVOKE_ALL", reason
            events.append(_grant_event("grant.revoked", grant, before=before, reason=reason))
        _save_status(grants)
        audit.record_many(actor, events)
    return len(live)


def grants_suspend_for_seller(*, actor: Actor, seller: Seller, reason_code: str, reason: str) -> list[Grant]:
    """Suspend every ACTIVE grant of ``seller`` (automatic enforcement after a health sync).
    Runs inside the caller's transaction when there is one."""
    now = timezone.now()
    with locking_atomic():
        grants = list(
            Grant.objects.select_for_update(of=("self",)).select_related("seller", "asin")
            .filter(rules.effective_live_q(now), seller=seller, status=GrantStatus.ACTIVE).order_by("pk")
        )
        events = []
        for grant in grants:
            before = _grant_snapshot(grant)
            grant.status, grant.status_changed_at = GrantStatus.SUSPENDED, now
            grant.status_reason_code, grant.status_reason = reason_code, reason
            events.append(_grant_event("grant.suspended", grant, before=before, reason=reason))
        _save_status(grants)
        audit.record_many(actor, events)
    return grants


def grants_expire_due(*, actor: Actor, now: dt.datetime | None = None, batch_size: int = 1000) -> int:
    """Write EXPIRED on every live grant past its ``valid_until`` (periodic task)."""
    now = now or timezone.now()
    total = 0
    while True:
        with locking_atomic():
            grants = list(
                Grant.objects.select_for_update(skip_locked=True, of=("self",)).select_related("seller", "asin")
                .filter(status__in=LIVE_STATUS_VALUES, valid_until__lte=now).order_by("pk")[:batch_size]
            )
            if not grants:
                return total
            events = _expire_stale(grants, now)
            _save_status(grants)
            audit.record_many(actor, events)
            total += len(grants)


# -- requests -------------------------------------------------------------------------------

def _require_partner(actor: Actor, seller: Seller) -> None:
    if actor.is_system:
        return
    if not SellerMembership.objects.filter(user=actor.user, seller=seller).exists():
        raise NotAllowed(_("Only the seller's own partners can request authorizations for it."))


def _request_event(action: str, req: AuthorizationRequest, *, before: dict | None, reason: str = "") -> EventSpec:
    return audit.event(
        action, object_type="request", object_id=req.pk, brand_id=req.brand_id, seller_id=req.seller.seller_id,
        before=before, after={"status": req.status, "asins": req.asins, "marketplaces": req.marketplaces},
        reason=reason,
    )


def request_create(*, actor: Actor, brand: Brand, seller: Seller, asins: Sequence[str],
                   marketplaces: Sequence[str] | None, message: str = "") -> AuthorizationRequest:
    """A partner asks ``brand`` for ASINs × marketplaces (no marketplace: its home one)."""
    asin_codes = clean_asin_codes(asins)
    mcodes = clean_marketplace_codes(marketplaces) or rules.resolve_marketplaces(seller, None)
    if not mcodes:
        raise InvalidInput(_("Name at least one marketplace (the seller has no home marketplace)."),
                           code="REQUIRED", field="marketplaces")
    if len(asin_codes) * len(mcodes) > settings.MAX_GRANT_PAIRS:
        raise InvalidInput(_("A request covers at most %(max)s ASIN × marketplace pairs.") % {"max": settings.MAX_GRANT_PAIRS},
                           code="TOO_MANY_ITEMS", field="asins")
    if len(message) > 5000:
        raise InvalidInput(_("The message is longer than 5,000 characters."), code="TOO_LONG", field="message")
    with locking_atomic():
        _require_partner(actor, seller)
        req = AuthorizationRequest.objects.create(
            brand=brand, seller=seller, requested_by=actor.user, asins=asin_codes, marketplaces=mcodes,
            message=message, created_at=timezone.now(),
        )
        audit.record_many(actor, [_request_event("request.created", req, before=None, reason=message)])
    return req


def _lock_pending_request(req: AuthorizationRequest) -> AuthorizationRequest:
    locked = AuthorizationRequest.objects.select_for_update(of=("self",)).select_related("brand", "seller").get(pk=req.pk)
    if locked.status != RequestStatus.PENDING:
        raise InvalidTransition(_("This request was already %(status)s.") % {"status": locked.get_status_display().lower()},
                                code="INVALID_TRANSITION")
    return locked


def request_approve(*, actor: Actor, request: AuthorizationRequest, valid_until: dt.datetime | None = None,
                    reason: str = "") -> tuple[AuthorizationRequest, list[Grant]]:
    """Create the requested grants under the same rules (scope = the request's marketplaces);
    nothing changes if any rule fails."""
    with locking_atomic():
        require_brand_role(actor, request.brand, MANAGING_ROLES)
        req = _lock_pending_request(request)
        result = grants_create(
            actor=actor, brand=req.brand, seller=req.seller, asins=req.asins, marketplaces=req.marketplaces,
            valid_until=valid_until, reason=reason or req.message, request=req, scope=req.marketplaces,
        )
        before = {"status": req.status}
        req.status, req.decided_by, req.decided_at, req.decision_reason = (
            RequestStatus.APPROVED, actor.user, timezone.now(), reason)
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        audit.record_many(actor, [_request_event("request.approved", req, before=before, reason=reason)])
    return req, result.created


def request_reject(*, actor: Actor, request: AuthorizationRequest, reason: str) -> AuthorizationRequest:
    reason = _require_reason(reason)
    with locking_atomic():
        require_brand_role(actor, request.brand, MANAGING_ROLES)
        req = _lock_pending_request(request)
        before = {"status": req.status}
        req.status, req.decided_by, req.decided_at, req.decision_reason = (
            RequestStatus.REJECTED, actor.user, timezone.now(), reason)
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        audit.record_many(actor, [_request_event("request.rejected", req, before=before, reason=reason)])
    return req
