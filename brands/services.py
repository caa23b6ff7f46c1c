"""Every write to brands, their memberships and their ASIN catalog.

Each function is one transaction (:func:`config.db.locking_atomic`: ``transaction.atomic`` with
a bounded lock wait) that locks the brand row — the one global lock order starts there — then
checks the actor's authority (so a membership changed meanwhile counts), writes, and records its
audit events with a single :func:`audit.services.record_many` call before commit.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.context import Actor
from audit.services import EventSpec
from config.db import locking_atomic
from config.errors import Conflict, ErrorItem, InvalidInput, NotAllowed, NotFound
from sellers.models import Marketplace, Seller

from . import importing
from .importing import ImportRow, shown
from .models import Asin, AsinMarketplace, Brand, BrandMembership, RegistryStatus, Role
from .selectors import MANAGING_ROLES, is_ops, require_brand_role, role_of, spapi_account_choices

UNSET: Any = object()
OWNER_ONLY = (Role.OWNER,)
NAME_MAX_LENGTH: int = Brand._meta.get_field("name").max_length
REGISTRY_NUMBER_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
IMPORT_BATCH_SIZE = 2000
Progress = Callable[[int, int], None]  # progress(done, total): lines of an import written so far


# -- brands -------------------------------------------------------------------------------------

def _brand_snapshot(brand: Brand) -> dict[str, Any]:
    return {
        "name": brand.name,
        "registry_number": brand.registry_number,
        "registry_status": brand.registry_status,
        "registry_checked_at": brand.registry_checked_at,
        "dual_control": brand.dual_control,
        "spapi_account": brand.spapi_account.seller_id if brand.spapi_account_id else None,
    }


def _brand_event(action: str, brand: Brand, *, before: dict | None, after: dict) -> EventSpec:
    return audit.event(action, object_type="brand", object_id=brand.pk, brand_id=brand.pk, before=before, after=after)


def _lock_brand(brand: Brand) -> Brand:
    return Brand.objects.select_for_update().get(pk=brand.pk)


def _clean_name(value: object) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise InvalidInput(_("The brand needs a name."), code="REQUIRED", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(_("The name “%(value)s” has %(n)s characters; at most %(max)s are allowed.")
                           % {"value": shown(name), "n": len(name), "max": NAME_MAX_LENGTH},
                           code="TOO_LONG", field="name")
    return name


def _clean_registry_number(value: object) -> str:
    number = value.strip() if isinstance(value, str) else ""
    if not number:
        raise InvalidInput(_("The Brand Registry number is required."), code="REQUIRED", field="registry_number")
    if not REGISTRY_NUMBER_RE.match(number):
        raise InvalidInput(_("“%(value)s” is not a Brand Registry number (1 to 64 letters, digits or dashes).")
                           % {"value": shown(number)}, code="INVALID_REGISTRY_NUMBER", field="registry_number")
    return number


def _duplicate_registry_number(number: str) -> Conflict:
    return Conflict(_("A brand with the Brand Registry number “%(value)s” already exists.") % {"value": number},
                    code="DUPLICATE_REGISTRY_NUMBER", field="registry_number")


def brand_create(*, actor: Actor, name: str, registry_number: str) -> Brand:
    """Register a brand (registry status ``PENDING`` until ops verify it); the acting user
    becomes its owner."""
    if actor.is_system:
        raise NotAllowed(_("A brand is created by a user, who becomes its owner."))
    if is_ops(actor.user):
        raise NotAllowed(_("Ops staff have read-only access to brands."))
    name = _clean_name(name)
    number = _clean_registry_number(registry_number)
    with locking_atomic():
        if Brand.objects.filter(registry_number=number).exists():
            raise _duplicate_registry_number(number)
        try:
            brand = Brand.objects.create(name=name, registry_number=number, registry_status=RegistryStatus.PENDING)
        except IntegrityError as exc:  # a concurrent registration of the same number won the race
            raise _duplicate_registry_number(number) from exc
        membership = BrandMembership.objects.create(brand=brand, user=actor.user, role=Role.OWNER)
        audit.record_many(actor, [
            _brand_event("brand.created", brand, before=None, after=_brand_snapshot(brand)),
            _membership_event("membership.added", membership, before=None, after=_membership_snapshot(membership)),
        ])
    return brand


def brand_update(*, actor: Actor, brand: Brand, name: str = UNSET, dual_control: bool = UNSET,
                 spapi_account: Seller | None = UNSET) -> Brand:
    """The owner changes the brand's name, dual control, or SP-API account (a seller account
    a member of the brand is linked to; ``None`` clears it). Arguments left out stay as
    they are; the audit event holds the fields that changed."""
    with locking_atomic():
        locked = _lock_brand(brand)
        require_brand_role(actor, locked, OWNER_ONLY)
        before = _brand_snapshot(locked)
        if name is not UNSET:
            locked.name = _clean_name(name)
        if dual_control is not UNSET:
            locked.dual_control = _clean_flag(dual_control, field_name="dual_control")
        if spapi_account is not UNSET:
            locked.spapi_account = _clean_spapi_account(locked, spapi_account)
        after = _brand_snapshot(locked)
        changed = [key for key in after if after[key] != before[key]]
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
            audit.record_many(actor, [_brand_event(
                "brand.updated", locked, before={k: before[k] for k in changed}, after={k: after[k] for k in changed})])
    return locked


def _clean_flag(value: object, *, field_name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(_("%(field)s must be true or false, not %(value)s.")
                           % {"field": field_name, "value": shown(value)}, field=field_name)
    return value


def _clean_spapi_account(brand: Brand, seller: Seller | None) -> Seller | None:
    if seller is None or spapi_account_choices(brand).filter(pk=seller.pk).exists():
        return seller
    raise InvalidInput(_("Seller %(seller)s is not an account a member of this brand has connected.")
                       % {"seller": seller.seller_id}, code="INVALID_SPAPI_ACCOUNT", field="spapi_account",
                       seller_id=seller.seller_id)


def brand_set_registry_status(*, actor: Actor, brand: Brand, registry_status: str) -> Brand:
    """Ops staff record what the Brand Registry says about the brand (and when they checked)."""
    with locking_atomic():
        _require_ops(actor, brand)
        if registry_status not in RegistryStatus.values:
            raise InvalidInput(_("“%(value)s” is not a registry status (one of %(choices)s).")
                               % {"value": shown(registry_status), "choices": ", ".join(RegistryStatus.values)},
                               code="INVALID_REGISTRY_STATUS", field="registry_status")
        locked = _lock_brand(brand)
        before = {"registry_status": locked.registry_status, "registry_checked_at": locked.registry_checked_at}
        locked.registry_status, locked.registry_checked_at = registry_status, timezone.now()
        locked.save(update_fields=["registry_status", "registry_checked_at", "updated_at"])
        after = {"registry_status": locked.registry_status, "registry_checked_at": locked.registry_checked_at}
        audit.record_many(actor, [_brand_event("brand.registry_status_changed", locked, before=before, after=after)])
    return locked


def _require_ops(actor: Actor, brand: Brand) -> None:
    """Ops staff and system actors pass. Members are refused; to anyone else the brand is
    invisible."""
    if actor.is_system or is_ops(actor.user):
        return
    if role_of(actor.user, brand) is None:
        raise NotFound(_("Brand not found."), code="NOT_FOUND")
    raise NotAllowed(_("Only ops staff can set a brand's registry status."), field="registry_status")


# -- memberships --------------------------------------------------------------------------------

def _membership_event(action: str, membership: BrandMembership, *, before: dict | None,
                      after: dict | None) -> EventSpec:
    return audit.event(action, object_type="membership", object_id=membership.pk, brand_id=membership.brand_id,
                       before=before, after=after)


def _membership_snapshot(membership: BrandMembership) -> dict[str, str]:
    return {"user": membership.user.get_username(), "role": membership.role}


def _clean_role(value: object) -> str:
    if value not in Role.values:
        raise InvalidInput(_("“%(value)s” is not a role (one of %(choices)s).")
                           % {"value": shown(value), "choices": ", ".join(Role.values)},
                           code="INVALID_ROLE", field="role")
    return str(value)


def _require_another_owner(membership: BrandMembership) -> None:
    others = BrandMembership.objects.filter(brand_id=membership.brand_id, role=Role.OWNER).exclude(pk=membership.pk)
    if not others.exists():
        raise Conflict(_("%(user)s is the brand's last owner; make another member owner first.")
                       % {"user": membership.user.get_username()}, code="LAST_OWNER", field="user")


def membership_add(*, actor: Actor, brand: Brand, user: AbstractBaseUser, role: str) -> BrandMembership:
    """The owner adds ``user`` to the brand with ``role``, or changes the role of a member.
    The brand always keeps at least one owner."""
    with locking_atomic():
        locked = _lock_brand(brand)
        require_brand_role(actor, locked, OWNER_ONLY)
        role = _clean_role(role)
        membership = BrandMembership.objects.select_for_update().filter(brand=locked, user=user).first()
        events: list[EventSpec] = []
        if membership is None:
            membership = BrandMembership.objects.create(brand=locked, user=user, role=role)
            events.append(_membership_event("membership.added", membership, before=None,
                                            after=_membership_snapshot(membership)))
        elif membership.role != role:
            if membership.role == Role.OWNER:
                _require_another_owner(membership)
            before = _membership_snapshot(membership)
            membership.role = role
            membership.save(update_fields=["role"])
            events.append(_membership_event("membership.updated", membership, before=before,
                                            after=_membership_snapshot(membership)))
        audit.record_many(actor, events)
    return membership


def membership_remove(*, actor: Actor, brand: Brand, user: AbstractBaseUser) -> None:
    """The owner takes ``user`` off the brand; the last owner cannot be removed."""
    with locking_atomic():
        locked = _lock_brand(brand)
        require_brand_role(actor, locked, OWNER_ONLY)
        membership = BrandMembership.objects.select_for_update().filter(brand=locked, user=user).first()
        if membership is None:
            raise NotFound(_("%(user)s is not a member of this brand.") % {"user": user.get_username()},
                           code="NOT_FOUND", field="user")
        if membership.role == Role.OWNER:
            _require_another_owner(membership)
        event = _membership_event("membership.removed", membership, before=_membership_snapshot(membership), after=None)
        membership.delete()
        audit.record_many(actor, [event])


# -- ASIN catalog -------------------------------------------------------------------------------

@dataclass
class ImportResult:
    """ASIN codes created, updated (something changed) and unchanged (already as imported),
    and the errors of the lines left out (a partial import)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[ErrorItem] = field(default_factory=list)


def asins_import(*, actor: Actor, brand: Brand, items: list[Any] | None = None, csv_text: str | None = None,
                 partial: bool = False, progress: Progress | None = None) -> ImportResult:
    """Upsert the brand's catalog from JSON ``items`` or ``csv_text`` (exactly one of them).

    New ASINs are created; existing ones take the import's GCID, title and category and gain
    its marketplaces (new presences are unverified; known ones keep their verification).
    All-or-nothing: any bad line raises :class:`InvalidInput` listing every error, and
    nothing is written. With ``partial`` the good lines are imported and the errors returned.

    ``progress(done, total)``, if given, is called with the number of valid lines written so
    far and their total: once the input is read (``done=0``), after each batch of
    ``IMPORT_BATCH_SIZE`` lines, and once more when the audit events are recorded. It runs
    inside the import's transaction, so it must not write to the database through this
    connection (what it wrote would only appear at commit): a background job reports
    through the cache (:mod:`brands.import_jobs`).
    """
    if (items is None) == (csv_text is None):
        raise TypeError("asins_import takes exactly one of items or csv_text")
    with locking_atomic():
        locked = _lock_brand(brand)
        require_brand_role(actor, locked, MANAGING_ROLES)
        known = set(Marketplace.objects.values_list("code", flat=True))
        if csv_text is not None:
            parsed, reason = importing.parse_csv(csv_text, known_marketplaces=known), "CSV import"
        else:
            parsed, reason = importing.parse_items(items, known_marketplaces=known), "JSON import"
        if parsed.errors and not partial:
            raise InvalidInput(parsed.errors)
        result, events = _catalog_upsert(locked, parsed.rows, reason=reason, progress=progress)
        audit.record_many(actor, events)
        if progress is not None:
            progress(len(parsed.rows), len(parsed.rows))
    result.errors = parsed.errors
    return result


def _asin_snapshot(asin: Asin, marketplaces: frozenset[str]) -> dict[str, Any]:
    return {"gcid": asin.gcid, "title": asin.title, "category": asin.category, "marketplaces": sorted(marketplaces)}


def _asin_event(action: str, asin: Asin, *, before: dict | None, after: dict, reason: str) -> EventSpec:
    return audit.event(action, object_type="asin", object_id=asin.asin, brand_id=asin.brand_id,
                       before=before, after=after, reason=reason)


class _Change(NamedTuple):
    """What an import line does to one ASIN of the catalog."""

    asin: Asin
    before: dict[str, Any] | None  # None: the ASIN is new
    marketplaces: frozenset[str]  # where the catalog already had it
    new_marketplaces: tuple[str, ...]


def _catalog_upsert(brand: Brand, rows: list[ImportRow], *, reason: str,
                    progress: Progress | None = None) -> tuple[ImportResult, list[EventSpec]]:
    """Write ``rows`` batch by batch (``IMPORT_BATCH_SIZE`` lines), each in a constant number of
    statements (see :func:`_catalog_upsert_batch`), reporting ``progress`` after each. The
    events of every batch are returned together, for one ``record_many`` call."""
    result = ImportResult()
    events: list[EventSpec] = []
    total = len(rows)
    if progress is not None:
        progress(0, total)
    for start in range(0, total, IMPORT_BATCH_SIZE):
        batch = rows[start:start + IMPORT_BATCH_SIZE]
        events += _catalog_upsert_batch(brand, batch, reason=reason, result=result)
        if progress is not None and start + len(batch) < total:
            progress(start + len(batch), total)
    return result, events


def _catalog_upsert_batch(brand: Brand, rows: list[ImportRow], *, reason: str,
                          result: ImportResult) -> list[EventSpec]:
    """Write ``rows`` in a constant number of statements: read the existing ASINs (locking
    them in pk order, after the brand row: the global lock order) and their presences, upsert
    the new and changed ASINs in one ``INSERT ... ON CONFLICT`` per batch, then insert the new
    presences. Adds the ASIN codes to ``result``; returns the audit events."""
    locked = Asin.objects.select_for_update().filter(brand=brand, asin__in=[r.asin for r in rows]).order_by("pk")
    existing = {a.asin: a for a in locked}
    present: dict[int, set[str]] = defaultdict(set)
    presences = AsinMarketplace.objects.filter(asin__in=existing.values()).values_list("asin_id", "marketplace_id")
    for asin_id, code in presences:
        present[asin_id].add(code)

    changes: list[_Change] = []
    upserts: list[Asin] = []
    for row in rows:
        current = existing.get(row.asin)
        known = frozenset(present[current.pk]) if current else frozenset()
        new_codes = tuple(code for code in row.marketplaces if code not in known)
        fields_changed = current is None or (
            (current.gcid, current.title, current.category) != (row.gcid, row.title, row.category)
        )
        if not fields_changed and not new_codes:
            result.unchanged.append(row.asin)
            continue
        asin = current
        if fields_changed:
            asin = Asin(brand=brand, asin=row.asin, gcid=row.gcid, title=row.title, category=row.category)
            upserts.append(asin)
        (result.created if current is None else result.updated).append(row.asin)
        changes.append(_Change(asin, _asin_snapshot(current, known) if current else None, known, new_codes))

    Asin.objects.bulk_create(
        upserts, batch_size=IMPORT_BATCH_SIZE, update_conflicts=True,
        unique_fields=["brand", "asin"], update_fields=["gcid", "title", "category", "updated_at"],
    )
    AsinMarketplace.objects.bulk_create(
        [AsinMarketplace(asin=c.asin, marketplace_id=code) for c in changes for code in c.new_marketplaces],
        batch_size=IMPORT_BATCH_SIZE,
    )
    return [
        _asin_event("asin.created" if c.before is None else "asin.updated", c.asin, before=c.before,
                    after=_asin_snapshot(c.asin, c.marketplaces | set(c.new_marketplaces)), reason=reason)
        for c in changes
    ]
