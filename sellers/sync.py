"""What Amazon says about a seller, applied: the seller sync.

Two layers:

- :func:`restrictions_apply` is a service like those of :mod:`sellers.services`
  (:func:`~sellers.services.seller_participations_apply`, :func:`~sellers.services.seller_health_apply`):
  one transaction, its audit event inside it, no HTTP.
- :func:`seller_sync` is the orchestration a Celery task runs for one :class:`SyncRun`. Every
  SP-API call happens **outside** any database transaction; each step's answer is then applied
  by its service in a short transaction of its own. Steps, in order:

  1. participations — ``getMarketplaceParticipations`` → ``seller_participations_apply``;
  2. health — per SP-API region of the seller's marketplaces: ``createReport``
     (``GET_V2_SELLER_PERFORMANCE_REPORT``) → poll ``getReport`` until DONE / FATAL / CANCELLED
     (``SPAPI_REPORT_POLL_SECONDS`` apart, at most ``SPAPI_REPORT_MAX_WAIT`` in one attempt) →
     ``getReportDocument`` → ``seller_health_apply`` (which suspends the seller's grants when it
     fails the health rules; the partners and brand owners are then alerted, after commit);
  3. restrictions — ``getListingsRestrictions`` for every (ASIN, marketplace) on which the seller
     holds a live grant → :func:`restrictions_apply`, once, with every answer.

  A step that fails changes nothing (its answer is applied whole or not at all) and stops the
  run with :class:`SellerSyncError`, whose ``transient`` says whether the task should retry.
  A report still in progress after the bounded wait is transient: its id is kept on the run, so
  the retry polls the same report instead of ordering a new one.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.context import Actor
from authorizations import notifications
from authorizations.models import ListingRestrictionCheck
from authorizations.rules import effective_live_q
from config.db import locking_atomic
from config.errors import ApplicationError, Conflict, InvalidInput, NotAllowed
from spapi_client import operations as spapi
from spapi_client.client import CallStats, SpapiConnection, connection_for
from spapi_client.errors import SpapiError, SpapiTransientError
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from spapi_client.runs import enqueue, run_create, run_finish, run_progress
from spapi_client.tasks_support import is_transient, readable_error, sum_counts

from .crypto import DecryptionError
from .health import HealthReportError
from .health import parse_report as parse_health_report
from .models import Marketplace, Seller, SellerMembership
from .services import health_failures, seller_health_apply, seller_participations_apply

__all__ = [
    "RestrictionResult",
    "SellerSyncError",
    "ReportPending",
    "restrictions_apply",
    "seller_sync",
    "seller_sync_request",
    "seller_sync_enqueue",
    "restriction_as_dict",
]

TASK_NAME = "sellers.tasks.sync_seller"
DEFAULT_REPORT_POLL_SECONDS = 15.0
DEFAULT_REPORT_MAX_WAIT = 120.0
MAX_REPORT_POLLS = 200
# A run older than this that is still PENDING/RUNNING is presumed lost (a worker died hard):
# a new request creates a new run instead of pointing at it.
IN_FLIGHT_WINDOW = dt.timedelta(hours=1)  # a bound even when the poll interval is 0 (tests)
ASIN_LENGTH = 10


# -- restrictions: the service ------------------------------------------------------------------

@dataclass(frozen=True)
class RestrictionResult:
    """Amazon's answer for one (ASIN, marketplace code): its reasons; ``[]`` = may list."""

    asin: str
    marketplace: str  # our code ("US", "UK")
    restrictions: Sequence[Mapping[str, Any]] = ()


def restriction_as_dict(restriction: spapi.Restriction) -> dict[str, Any]:
    """What is stored and shown (API.md ``amazon.restrictions[]``)."""
    return {
        "reason_code": restriction.reason_code,
        "message": restriction.message,
        "links": [
            {"resource": link.resource, "verb": link.verb, "title": link.title, "type": link.type}
            for link in restriction.links
        ],
    }


def _clean_results(results: Iterable[RestrictionResult | tuple]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    cleaned: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in results:
        if not isinstance(item, RestrictionResult):
            item = RestrictionResult(*item)
        asin = str(item.asin).strip().upper()
        if len(asin) != ASIN_LENGTH or not asin.isalnum():
            raise InvalidInput(f"“{asin[:20]}” is not an ASIN.", code="INVALID_ASIN", field="asin", asin=asin[:20])
        restrictions = [
            {
                "reason_code": (r.get("reason_code") or None),
                "message": str(r.get("message") or ""),
                "links": [dict(link) for link in (r.get("links") or []) if isinstance(link, Mapping)],
            }
            for r in item.restrictions
            if isinstance(r, Mapping)
        ]
        cleaned[(asin, str(item.marketplace))] = restrictions
    return cleaned


def restrictions_apply(*, actor: Actor, seller: Seller, results: Iterable[RestrictionResult | tuple]) -> int:
    """Store Amazon's listing restrictions of ``seller`` (one row per ASIN × marketplace,
    updated in place; ``checked_at`` is always refreshed). One ``seller.restrictions_updated``
    event lists the pairs whose restrictions changed, only when some did. Returns how many
    pairs changed. Pairs not in ``results`` are left as they were."""
    rows = _clean_results(results)
    if not rows:
        return 0
    known = set(Marketplace.objects.filter(code__in={m for _a, m in rows}).values_list("code", flat=True))
    unknown = sorted({m for _a, m in rows} - known)
    if unknown:
        raise InvalidInput(f"Unknown marketplace {unknown[0]!r}.", code="INVALID_MARKETPLACE", field="marketplace",
                           marketplace=unknown[0][:20])
    now = timezone.now()
    with locking_atomic():
        # The seller row first (as seller_health_apply does): two syncs of one seller apply in turn.
        seller = Seller.objects.select_for_update().get(pk=seller.pk)
        existing = {
            (check.asin, check.marketplace_id): check.restrictions
            for check in ListingRestrictionCheck.objects.filter(seller=seller, asin__in={a for a, _m in rows})
        }
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for (asin, code), restrictions in sorted(rows.items()):
            old = existing.get((asin, code))
            if old != restrictions:
                before[f"{asin}/{code}"] = old
                after[f"{asin}/{code}"] = restrictions
        ListingRestrictionCheck.objects.bulk_create(
            [ListingRestrictionCheck(seller=seller, asin=asin, marketplace_id=code, checked_at=now, restrictions=r)
             for (asin, code), r in rows.items()],
            update_conflicts=True, unique_fields=["seller", "asin", "marketplace"],
            update_fields=["checked_at", "restrictions"],
        )
        if after:
            audit.record_many(actor, [audit.event(
                "seller.restrictions_updated", object_type="seller", object_id=seller.seller_id,
                seller_id=seller.seller_id, before=before, after=after,
                reason=f"Amazon listing restrictions changed for {len(after)} ASIN × marketplace pair(s)",
            )])
    return len(after)


# -- the orchestration ----------------------------------------------------------------------------

class SellerSyncError(Exception):
    """A step of the seller sync failed. ``message`` is for ops (never a token);
    ``transient``: worth a task retry; ``counts``: the run's counts so far."""

    def __init__(self, step: str, message: str, *, transient: bool = False, counts: dict | None = None) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = f"{step}: {message}"
        self.transient = transient
        self.counts = counts or {}


class ReportPending(SpapiTransientError):
    """The report is still being prepared after the bounded wait: poll it again later."""

    code = "SPAPI_REPORT_PENDING"


class ReportFailed(SpapiError):
    """Amazon ended the report FATAL or CANCELLED. Final for this run."""

    code = "SPAPI_REPORT_FAILED"


@dataclass
class _Run:
    """The run being worked on: progress, call statistics, what was found."""

    run: SyncRun
    stats: CallStats = field(default_factory=CallStats)
    done: int = 0
    total: int = 0
    counts: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        run_progress(self.run, done=self.done, total=self.total)

    def all_counts(self, base: Mapping[str, Any]) -> dict[str, Any]:
        return sum_counts(base, self.stats.as_dict(), self.counts)


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def _regions(seller: Seller) -> dict[str, list[str]]:
    """Marketplace ids the seller participates in, by SP-API region (one report per region)."""
    regions: dict[str, list[str]] = {}
    rows = (Marketplace.objects.filter(participations__seller=seller, participations__is_participating=True)
            .order_by("region", "code").values_list("region", "marketplace_id"))
    for region, marketplace_id in rows:
        regions.setdefault(region, []).append(marketplace_id)
    return regions


def _restriction_pairs(seller: Seller) -> list[tuple[str, str, str]]:
    """(ASIN, marketplace code, marketplace id) of every live grant of the seller, once each."""
    from authorizations.models import Grant  # noqa: PLC0415 (sellers < authorizations)

    return list(
        Grant.objects.filter(effective_live_q(timezone.now()), seller=seller)
        .order_by("asin__asin", "marketplace_id")
        .values_list("asin__asin", "marketplace_id", "marketplace__marketplace_id").distinct()
    )


def _pending_reports(run: SyncRun) -> dict[str, str]:
    pending = (run.result or {}).get("pending_reports") if isinstance(run.result, dict) else None
    return dict(pending) if isinstance(pending, dict) else {}


def _remember_pending(run: SyncRun, pending: dict[str, str]) -> None:
    run.result = {**(run.result if isinstance(run.result, dict) else {}), "pending_reports": pending}
    SyncRun.objects.filter(pk=run.pk).update(result=run.result)


def _health_document(state: _Run, conn: SpapiConnection, region: str, marketplace_ids: list[str]) -> bytes:
    """The account health report document for one region: ordered (or resumed), polled within a
    bounded wait, downloaded."""
    run = state.run
    pending = _pending_reports(run)
    report_id = pending.get(region)
    if not report_id:
        report_id = spapi.create_health_report(conn, marketplace_ids, stats=state.stats)
        _remember_pending(run, {**pending, region: report_id})
    poll = max(0.0, _setting("SPAPI_REPORT_POLL_SECONDS", DEFAULT_REPORT_POLL_SECONDS))
    deadline = time.monotonic() + max(0.0, _setting("SPAPI_REPORT_MAX_WAIT", DEFAULT_REPORT_MAX_WAIT))
    for _poll in range(MAX_REPORT_POLLS):
        status = spapi.get_report(conn, report_id, stats=state.stats)
        state.counts["report_polls"] = state.counts.get("report_polls", 0) + 1
        if status.is_final or time.monotonic() + poll > deadline:
            break
        time.sleep(poll)
    if not status.is_final:
        raise ReportPending(f"the account health report for {region} is still {status.processing_status}",
                            operation="getReport")
    _remember_pending(run, {k: v for k, v in _pending_reports(run).items() if k != region})
    if not status.is_done:
        raise ReportFailed(f"Amazon ended the account health report for {region} {status.processing_status}",
                           operation="getReport")
    if not status.document_id:
        raise ReportFailed(f"the account health report for {region} is DONE but names no document",
                           operation="getReport")
    return spapi.get_report_document(conn, status.document_id, stats=state.stats)


def _merged_report(seller: Seller, documents: dict[str, tuple[list[str], bytes]]) -> bytes | dict:
    """One report for ``seller_health_apply``: the document itself for a single region; for
    several, each region's entries for its own marketplaces, concatenated."""
    if len(documents) == 1:
        return next(iter(documents.values()))[1]
    merged: dict[str, list] = {"performanceMetrics": [], "accountStatuses": []}
    for region, (marketplace_ids, raw) in sorted(documents.items()):
        try:
            report = parse_health_report(raw)  # get_report_document has already un-GZIPped it
        except HealthReportError as exc:
            raise InvalidInput(f"{region} report: {exc.message}", code="INVALID_HEALTH_REPORT", field=exc.field,
                               seller_id=seller.seller_id) from None
        wanted = set(marketplace_ids)
        for key in merged:
            for entry in report.get(key) or []:
                # An entry of another region's marketplace is that region's report's business;
                # an entry without a readable marketplace id is kept for the assessment to refuse.
                marketplace_id = entry.get("marketplaceId", entry.get("marketPlaceId")) if isinstance(entry, dict) else None
                if not isinstance(marketplace_id, str) or marketplace_id in wanted:
                    merged[key].append(entry)
    return merged


def _apply_health(actor: Actor, seller: Seller, report: bytes | dict) -> dict[str, Any]:
    """``seller_health_apply`` and, when it suspended grants or the seller newly fails a health
    rule, the alert — sent once the transaction has committed."""
    with locking_atomic():
        locked = Seller.objects.select_for_update().get(pk=seller.pk)
        failing_before = {code for code, _words in health_failures(locked)}
        applied = seller_health_apply(actor=actor, seller=locked, report=report)
        new_failures = [code for code in applied.failing_codes if code not in failing_before]
        suspended_ids = [grant.pk for grant in applied.suspended]
        if suspended_ids or new_failures:
            transaction.on_commit(
                partial(notifications.seller_alert_send, seller.pk, suspended_ids, list(applied.failing_codes)),
                robust=True,  # a mail server failure must not undo or fail the sync
            )
    return {
        "health_score": applied.assessment.score,
        "infringement_count": applied.assessment.infringement_count,
        "account_status": applied.assessment.account_status,
        "failing": list(applied.failing_codes),
        "grants_suspended": len(suspended_ids),  # a count: the job may be read by a member of one brand
        "alerted": bool(suspended_ids or new_failures),
    }


def seller_sync(run: SyncRun, *, actor: Actor | None = None) -> SyncRun:
    """Run the seller sync of ``run`` (a RUNNING :class:`SyncRun` of kind SELLER) and finish it.

    Raises :class:`SellerSyncError` when a step fails (the caller records or retries it)."""
    seller = Seller.objects.filter(pk=run.seller_id).first() if run.seller_id else None
    if seller is None:
        raise SellerSyncError("setup", "the run names no seller (it may have been deleted)")
    actor = actor or Actor.task(TASK_NAME, run.task_id or str(run.pk))
    base_counts = dict(run.counts or {})
    state = _Run(run=run)
    step = "setup"
    conn: SpapiConnection | None = None
    try:
        conn = connection_for(seller)
        pairs = _restriction_pairs(seller)
        state.total = 2 + len(pairs)
        state.advance(0)

        step = "participations"
        participations = spapi.get_marketplace_participations(conn, stats=state.stats)
        seller = seller_participations_apply(
            actor=actor, seller=seller, marketplace_ids=[p.marketplace_id for p in participations if p.is_participating],
            store_name=next((p.store_name for p in participations if p.store_name), ""),
        )
        state.result["marketplaces"] = sorted(
            seller.participations.filter(is_participating=True).values_list("marketplace_id", flat=True))
        state.advance()

        step = "health"
        regions = _regions(seller)
        state.total += max(0, len(regions) - 1)
        documents: dict[str, tuple[list[str], bytes]] = {}
        for region, marketplace_ids in regions.items():
            step = f"health ({region})"
            regional = connection_for(seller, marketplace=marketplace_ids[0])
            documents[region] = (marketplace_ids, _health_document(state, regional, region, marketplace_ids))
            if len(documents) < len(regions):
                state.advance()
        step = "health"
        if documents:
            state.result.update(_apply_health(actor, seller, _merged_report(seller, documents)))
            state.counts["grants_suspended"] = state.result["grants_suspended"]
        else:
            state.result["health"] = "skipped: the seller participates in no marketplace we know"
        state.advance()

        step = "restrictions"
        results = []
        for asin, code, marketplace_id in pairs:
            found = spapi.get_listings_restrictions(conn, asin, seller.seller_id, marketplace_id, stats=state.stats)
            results.append(RestrictionResult(asin, code, [restriction_as_dict(r) for r in found]))
            state.advance()
        changed = restrictions_apply(actor=actor, seller=seller, results=results)
        state.counts["restrictions_checked"] = len(results)
        state.counts["restrictions_changed"] = changed
        state.result["restrictions_checked"] = len(results)
        state.result["restrictions_changed"] = changed
    except DecryptionError:
        raise SellerSyncError(step, "the stored refresh token cannot be decrypted with the configured keys "
                                    "(FIELD_ENCRYPTION_KEY)", counts=state.all_counts(base_counts)) from None
    except (SpapiError, ApplicationError) as exc:
        secrets = (conn.refresh_token,) if conn is not None else ()
        raise SellerSyncError(step, readable_error(exc, secrets=secrets), transient=is_transient(exc),
                              counts=state.all_counts(base_counts)) from exc
    state.result["seller_id"] = seller.seller_id
    return run_finish(run, result=state.result, counts=state.all_counts(base_counts))


# -- asking for a sync ---------------------------------------------------------------------------

def _may_request(actor: Actor, seller: Seller) -> bool:
    """Partners of the seller, and members of a brand on which the seller holds a grant (those
    who can see it). Ops staff are read-only."""
    from authorizations.models import Grant  # noqa: PLC0415
    from brands.models import BrandMembership  # noqa: PLC0415

    if actor.is_system:
        return True
    user = actor.user
    if user is None or not user.is_authenticated:
        return False
    if SellerMembership.objects.filter(user=user, seller=seller).exists():
        return True
    return Grant.objects.filter(
        seller=seller, brand_id__in=BrandMembership.objects.filter(user=user).values("brand_id")
    ).exists()


def seller_sync_request(*, actor: Actor, seller: Seller) -> SyncRun:
    """Create a seller sync run and enqueue it once the transaction commits (the API's
    ``POST /sellers/{seller_id}/sync``; also for the OAuth callback's first sync). A run of this
    seller that is already waiting or running is returned instead of a second one."""
    if not _may_request(actor, seller):
        raise NotAllowed(_("Only the seller's partners and the members of its brands can ask for a sync."))
    if not _connected(seller):
        raise Conflict(_("The seller has not connected its Amazon account (or revoked it)."),
                       code="SELLER_NOT_CONNECTED", seller_id=seller.seller_id)
    return seller_sync_enqueue(seller=seller, requested_by=actor.user)[0]


def seller_sync_enqueue(*, seller: Seller, requested_by=None) -> tuple[SyncRun, bool]:
    """(run, created): a new PENDING run enqueued on commit, or the seller's run already in
    flight (PENDING or RUNNING, created within ``IN_FLIGHT_WINDOW``)."""
    from .tasks import sync_seller  # noqa: PLC0415 (the tasks module imports this one)

    with transaction.atomic():
        Seller.objects.select_for_update().filter(pk=seller.pk).first()  # one request at a time per seller
        in_flight = (SyncRun.objects.filter(
            seller=seller, kind=SyncKind.SELLER, status__in=(SyncStatus.PENDING, SyncStatus.RUNNING),
            created_at__gte=timezone.now() - IN_FLIGHT_WINDOW).order_by("-created_at").first())
        if in_flight is not None:
            return in_flight, False
        run = run_create(kind=SyncKind.SELLER, seller=seller, requested_by=requested_by)
        enqueue(run, sync_seller)
    return run, True


def _connected(seller: Seller) -> bool:
    from .models import SellerConnection  # noqa: PLC0415

    return SellerConnection.objects.filter(seller=seller, revoked_at__isnull=True).exclude(refresh_token_encrypted="").exists()
