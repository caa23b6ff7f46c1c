"""What the partner pages say about a seller, in the reader's language: the health verdict and
the breakdown of the score (which metric cost how many points, and why).

The breakdown is the one :func:`sellers.health.assess` computed when the last report was applied
(``Seller.health_breakdown``, stored by :func:`sellers.services.seller_health_apply`): nothing is
recomputed here, the stored facts are only put into words."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from sellers import health
from sellers.models import AccountStatus, Marketplace, Seller

METRIC_LABELS: dict[str, Any] = {
    "orderDefectRate": gettext_lazy("Order defect rate"),
    "lateShipmentRate": gettext_lazy("Late shipment rate"),
    "preFulfillmentCancellationRate": gettext_lazy("Pre-fulfillment cancel rate"),
    "validTrackingRate": gettext_lazy("Valid tracking rate"),
    "onTimeDeliveryRate": gettext_lazy("On-time delivery rate"),
    "invoiceDefectRate": gettext_lazy("Invoice defect rate"),
    "listingPolicyViolations": gettext_lazy("Listing policy violations"),
    "productAuthenticityCustomerComplaints": gettext_lazy("Product authenticity customer complaints"),
    "productConditionCustomerComplaints": gettext_lazy("Product condition customer complaints"),
    "productSafetyCustomerComplaints": gettext_lazy("Product safety customer complaints"),
    "receivedIntellectualPropertyComplaints": gettext_lazy("Received intellectual property complaints"),
    "restrictedProductPolicyViolations": gettext_lazy("Restricted product policy violations"),
    "suspectedIntellectualPropertyViolations": gettext_lazy("Suspected intellectual property violations"),
    "foodAndProductSafetyIssues": gettext_lazy("Food and product safety issues"),
    "otherPolicyViolations": gettext_lazy("Other policy violations"),
    "documentRequests": gettext_lazy("Document requests"),
    "accountHealthRating": gettext_lazy("Account Health Rating"),
}

CHANNEL_LABELS: dict[str, Any] = {
    "mfn": gettext_lazy("fulfilled by the seller"),
    "afn": gettext_lazy("fulfilled by Amazon"),
}


def metric_label(metric: str) -> str:
    return str(METRIC_LABELS.get(metric, metric))


def penalty_words(penalty: dict[str, Any]) -> str:
    """Why a metric cost its points, from the facts the breakdown stores. A breakdown stored
    before those facts were kept has only the English summary: that is shown as it is."""
    metric = penalty.get("metric", "")
    if "status" not in penalty:
        return str(penalty.get("reason", ""))
    points = int(penalty.get("points") or 0)
    defects = int(penalty.get("defects") or 0)
    status = penalty.get("status") or ""
    if metric == health.ACCOUNT_HEALTH_RATING:
        return _("Account Health Rating is “At risk” (WARNED)")
    if metric in health.CUSTOMER_SERVICE_METRICS:
        channels = [str(CHANNEL_LABELS.get(c, c)) for c in penalty.get("channels") or []]
        if channels:
            return _("Status BAD for orders %(channels)s") % {"channels": ", ".join(channels)}
        return _("Status BAD")
    parts = []
    if defects:
        parts.append(ngettext("%(count)s defect × %(each)s points", "%(count)s defects × %(each)s points", defects)
                     % {"count": defects, "each": health.POLICY_POINTS_PER_DEFECT})
        if defects * health.POLICY_POINTS_PER_DEFECT > health.POLICY_MAX_PENALTY:
            parts.append(_("capped at %(max)s points") % {"max": health.POLICY_MAX_PENALTY})
    if status == health.BAD:
        if points == health.POLICY_BAD_MIN_PENALTY and defects * health.POLICY_POINTS_PER_DEFECT < points:
            parts.append(_("status BAD: at least %(min)s points") % {"min": health.POLICY_BAD_MIN_PENALTY})
        else:
            parts.append(_("status BAD"))
    return "; ".join(parts) if parts else str(penalty.get("reason", ""))


@dataclass
class PenaltyView:
    metric: str
    label: str
    words: str
    points: int


@dataclass
class MarketplaceHealthView:
    marketplace_id: str
    code: str
    name: str
    score: int
    account_status: str
    account_status_label: str
    penalties: list[PenaltyView] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return sum(p.points for p in self.penalties)


def breakdown_of(seller: Seller) -> list[MarketplaceHealthView]:
    """The stored breakdown, marketplace by marketplace (one query for the marketplaces' names).
    The seller's score is the lowest of them. Empty when no report was applied yet."""
    stored = seller.health_breakdown if isinstance(seller.health_breakdown, dict) else {}
    entries = [m for m in stored.get("marketplaces") or [] if isinstance(m, dict)]
    if not entries:
        return []
    ids = {m.get("marketplace_id") for m in entries}
    markets = {m.marketplace_id: m for m in Marketplace.objects.filter(marketplace_id__in=ids)}
    statuses = dict(AccountStatus.choices)
    views = []
    for entry in entries:
        market = markets.get(entry.get("marketplace_id"))
        status = entry.get("account_status") or AccountStatus.NORMAL
        views.append(MarketplaceHealthView(
            marketplace_id=entry.get("marketplace_id", ""),
            code=market.code if market else entry.get("marketplace_id", ""),
            name=market.name if market else "",
            score=int(entry.get("score") or 0),
            account_status=status,
            account_status_label=str(statuses.get(status, status)),
            penalties=[PenaltyView(metric=p.get("metric", ""), label=metric_label(p.get("metric", "")),
                                   words=penalty_words(p), points=int(p.get("points") or 0))
                       for p in entry.get("penalties") or [] if isinstance(p, dict)],
        ))
    return sorted(views, key=lambda view: (view.score, view.code))  # the one that makes the score first


@dataclass(frozen=True)
class HealthVerdict:
    css: str  # a badge class: ok, fail, warn
    label: str
    explanation: str


def health_verdict(seller: Seller, *, now: dt.datetime | None = None) -> HealthVerdict:
    """The health rules' view of the seller's score and its age (MIN_HEALTH_SCORE, HEALTH_MAX_AGE_DAYS)."""
    now = now or timezone.now()
    minimum = settings.MIN_HEALTH_SCORE
    if seller.health_score is None or seller.health_checked_at is None:
        return HealthVerdict("warn", _("Not read yet"),
                             _("The account health report has not been read yet: run a sync."))
    if seller.health_score < minimum:
        return HealthVerdict("fail", _("Below minimum"),
                             _("Authorizations need a health score of at least %(min)s.") % {"min": minimum})
    if now - seller.health_checked_at > dt.timedelta(days=settings.HEALTH_MAX_AGE_DAYS):
        return HealthVerdict("warn", _("Out of date"),
                             _("Health must have been read within %(days)s days: run a sync.")
                             % {"days": settings.HEALTH_MAX_AGE_DAYS})
    return HealthVerdict("ok", _("Healthy"), _("At or above the minimum of %(min)s.") % {"min": minimum})
