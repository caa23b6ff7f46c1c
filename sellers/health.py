"""Derive a 0–100 health score from Amazon's account health report.

Amazon's ``GET_V2_SELLER_PERFORMANCE_REPORT`` (schema:
``shared/spapi-models/accountHealthReport-2020-11-18.json``) reports per-marketplace
metrics but no single number. This module turns it, deterministically, into a score, an
infringement count and an account status, with a breakdown that can be stored and shown to
the partner. The rules are those of DOMAIN.md, "Health score":

- Each marketplace starts at 100; the seller's score is the lowest of the marketplaces
  considered (100 when there are none), floor 0.
- Each customer-service metric whose ``status`` is ``BAD``: -15. ``orderDefectRate`` is split
  into ``mfn`` / ``afn`` channels; it is ``BAD`` when either is and costs -15 once.
- Each policy metric: -2 per ``defectsCount``, at most -20, at least -10 when ``BAD``.
- ``accountHealthRating`` ``WARNED`` (``ahrStatus`` or ``accountHealthRatingStatus``): -10.
- Infringement count: ``receivedIntellectualPropertyComplaints`` +
  ``suspectedIntellectualPropertyViolations`` defects, summed over the marketplaces.
- Account status: the worst of ``accountStatuses``; ``SUSPENDED`` counts as ``DEACTIVATED``.

A missing metric counts as good and unknown fields are ignored. Anything that cannot be read
safely raises :class:`HealthReportError`, so that a sync records an error and changes nothing.

Pure standard library: no Django, no database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ACCOUNT_STATUSES",
    "CUSTOMER_SERVICE_METRICS",
    "INFRINGEMENT_METRICS",
    "POLICY_METRICS",
    "HealthAssessment",
    "HealthReportError",
    "MarketplaceHealth",
    "Penalty",
    "assess",
    "parse_report",
]

START_SCORE = 100
CUSTOMER_METRIC_PENALTY = 15
POLICY_POINTS_PER_DEFECT = 2
POLICY_MAX_PENALTY = 20
POLICY_BAD_MIN_PENALTY = 10
AHR_WARNED_PENALTY = 10

ORDER_DEFECT_RATE = "orderDefectRate"
ORDER_DEFECT_CHANNELS = ("mfn", "afn")
ACCOUNT_HEALTH_RATING = "accountHealthRating"
AHR_STATUS_KEYS = ("ahrStatus", "accountHealthRatingStatus")

CUSTOMER_SERVICE_METRICS: tuple[str, ...] = (
    ORDER_DEFECT_RATE,
    "lateShipmentRate",
    "preFulfillmentCancellationRate",
    "validTrackingRate",
    "onTimeDeliveryRate",
    "invoiceDefectRate",
)

POLICY_METRICS: tuple[str, ...] = (
    "listingPolicyViolations",
    "productAuthenticityCustomerComplaints",
    "productConditionCustomerComplaints",
    "productSafetyCustomerComplaints",
    "receivedIntellectualPropertyComplaints",
    "restrictedProductPolicyViolations",
    "suspectedIntellectualPropertyViolations",
    "foodAndProductSafetyIssues",
    "otherPolicyViolations",
    "documentRequests",
)

INFRINGEMENT_METRICS: tuple[str, ...] = (
    "receivedIntellectualPropertyComplaints",
    "suspectedIntellectualPropertyViolations",
)

# The schema's own example report spells two metrics differently from its properties (as it
# does ``ahrStatus``). Read either spelling; penalties always carry the canonical name.
METRIC_ALIASES: Mapping[str, tuple[str, ...]] = {
    "preFulfillmentCancellationRate": ("prefulfillmentCancelRate",),
    "documentRequests": ("documentRequest",),
}

# Both spellings, to be lenient: the schema says ``marketplaceId`` in both arrays.
MARKETPLACE_ID_KEYS = ("marketplaceId", "marketPlaceId")

NORMAL = "NORMAL"
AT_RISK = "AT_RISK"
DEACTIVATED = "DEACTIVATED"
ACCOUNT_STATUSES: tuple[str, ...] = (NORMAL, AT_RISK, DEACTIVATED)  # best to worst
_ACCOUNT_STATUS_MAP: Mapping[str, str] = {
    NORMAL: NORMAL,
    AT_RISK: AT_RISK,
    DEACTIVATED: DEACTIVATED,
    "SUSPENDED": DEACTIVATED,
}
_SEVERITY = {status: rank for rank, status in enumerate(ACCOUNT_STATUSES)}

BAD = "BAD"
WARNED = "WARNED"


class HealthReportError(ValueError):
    """The report cannot be read safely; the sync must record it and change nothing."""

    code = "INVALID_HEALTH_REPORT"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Penalty:
    """Points one metric cost. ``reason`` is a short English summary (for logs and the API);
    ``defects``, ``status`` and ``channels`` are the facts it rests on, so that a page can say
    it in the reader's language: the defects counted (policy metrics), the status that cost
    points (``BAD``, ``WARNED``, or "" when only defects did), and the order-defect channels
    (``mfn``, ``afn``) that were ``BAD``."""

    metric: str
    points: int
    reason: str
    # The facts behind ``reason``; equality stays on (metric, points, reason), which they repeat.
    defects: int = field(default=0, compare=False)
    status: str = field(default="", compare=False)
    channels: tuple[str, ...] = field(default=(), compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "points": self.points, "reason": self.reason, "defects": self.defects,
                "status": self.status, "channels": list(self.channels)}


@dataclass(frozen=True)
class MarketplaceHealth:
    marketplace_id: str
    score: int
    penalties: tuple[Penalty, ...]
    account_status: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "marketplace_id": self.marketplace_id,
            "score": self.score,
            "account_status": self.account_status,
            "penalties": [penalty.as_dict() for penalty in self.penalties],
        }


@dataclass(frozen=True)
class HealthAssessment:
    score: int
    infringement_count: int
    account_status: str
    marketplaces: tuple[MarketplaceHealth, ...]

    def breakdown(self) -> dict[str, Any]:
        """JSON-serialisable summary, for a JSONField and for showing to the partner."""
        return {
            "score": self.score,
            "infringement_count": self.infringement_count,
            "account_status": self.account_status,
            "marketplaces": [marketplace.as_dict() for marketplace in self.marketplaces],
        }


def parse_report(raw: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """Decode a report and check its outer shape.

    Bytes are decoded as UTF-8 (a BOM is tolerated); a dict is passed through. Raises
    :class:`HealthReportError` if it is not JSON, not an object, lacks both top-level arrays
    ``performanceMetrics`` and ``accountStatuses``, or has one that is not an array.
    """
    if isinstance(raw, dict):
        report: Any = raw
    elif isinstance(raw, (bytes, bytearray, str)):
        try:
            text = raw.decode("utf-8-sig") if isinstance(raw, (bytes, bytearray)) else raw
            report = json.loads(text)
        except UnicodeDecodeError as exc:
            raise HealthReportError(f"health report is not valid UTF-8: {exc}") from exc
        except (ValueError, RecursionError) as exc:
            raise HealthReportError(f"health report is not valid JSON: {exc}") from exc
    else:
        raise HealthReportError(
            f"health report must be JSON bytes, text or an object, got {type(raw).__name__}"
        )

    if not isinstance(report, dict):
        raise HealthReportError(
            f"health report must be a JSON object, got {_json_type(report)}"
        )
    present = [key for key in ("performanceMetrics", "accountStatuses") if report.get(key) is not None]
    if not present:
        raise HealthReportError(
            "health report has neither 'performanceMetrics' nor 'accountStatuses'"
        )
    for key in present:
        if not isinstance(report[key], list):
            raise HealthReportError(
                f"{key} must be an array, got {_json_type(report[key])}", field=key
            )
    return report


def assess(
    report: dict[str, Any] | bytes | str,
    *,
    marketplace_ids: Iterable[str] | None = None,
) -> HealthAssessment:
    """Score a report for the marketplaces the seller participates in.

    ``marketplace_ids`` are Amazon marketplace ids (e.g. ``"ATVPDKIKX0DER"``). Only report
    entries for those are considered; when None or empty, every marketplace in the report is.
    Marketplaces absent from the report are not listed and do not lower the score.
    """
    data = parse_report(report)
    wanted = _wanted_ids(marketplace_ids)

    def considered(marketplace_id: str) -> bool:
        return wanted is None or marketplace_id in wanted

    metrics_by_id: dict[str, tuple[dict[str, Any], str]] = {}
    for index, entry in enumerate(data.get("performanceMetrics") or []):
        path = f"performanceMetrics[{index}]"
        entry = _require_object(entry, path)
        marketplace_id = _marketplace_id(entry, path)
        if marketplace_id in metrics_by_id:
            raise HealthReportError(
                f"{path}: duplicate performanceMetrics entry for marketplace {marketplace_id!r}",
                field=path,
            )
        metrics_by_id[marketplace_id] = (entry, path)

    statuses_by_id: dict[str, str] = {}
    for index, entry in enumerate(data.get("accountStatuses") or []):
        path = f"accountStatuses[{index}]"
        entry = _require_object(entry, path)
        marketplace_id = _marketplace_id(entry, path)
        status = _account_status(entry.get("status"), f"{path}.status")
        previous = statuses_by_id.get(marketplace_id, NORMAL)
        statuses_by_id[marketplace_id] = _worst(previous, status)

    # Report order: performanceMetrics first, then marketplaces only seen in accountStatuses.
    ordered_ids = list(metrics_by_id) + [m for m in statuses_by_id if m not in metrics_by_id]

    marketplaces: list[MarketplaceHealth] = []
    infringements = 0
    for marketplace_id in ordered_ids:
        if not considered(marketplace_id):
            continue
        penalties: tuple[Penalty, ...] = ()
        if marketplace_id in metrics_by_id:
            entry, path = metrics_by_id[marketplace_id]
            penalties = _penalties(entry, path)
            infringements += sum(
                _defects_count(metric, f"{path}.{name}")
                for name in INFRINGEMENT_METRICS
                if (metric := _metric(entry, name, path)) is not None
            )
        score = max(0, START_SCORE - sum(penalty.points for penalty in penalties))
        marketplaces.append(
            MarketplaceHealth(
                marketplace_id=marketplace_id,
                score=score,
                penalties=penalties,
                account_status=statuses_by_id.get(marketplace_id, NORMAL),
            )
        )

    account_status = NORMAL
    for marketplace in marketplaces:
        account_status = _worst(account_status, marketplace.account_status)

    return HealthAssessment(
        score=min((m.score for m in marketplaces), default=START_SCORE),
        infringement_count=infringements,
        account_status=account_status,
        marketplaces=tuple(marketplaces),
    )


# --- penalties -----------------------------------------------------------------------------


def _penalties(entry: dict[str, Any], path: str) -> tuple[Penalty, ...]:
    penalties: list[Penalty] = []
    for name in CUSTOMER_SERVICE_METRICS:
        penalty = _customer_metric_penalty(entry, name, path)
        if penalty is not None:
            penalties.append(penalty)
    for name in POLICY_METRICS:
        penalty = _policy_metric_penalty(entry, name, path)
        if penalty is not None:
            penalties.append(penalty)
    penalty = _account_health_rating_penalty(entry, path)
    if penalty is not None:
        penalties.append(penalty)
    return tuple(penalties)


def _customer_metric_penalty(entry: dict[str, Any], name: str, path: str) -> Penalty | None:
    metric = _metric(entry, name, path)
    if metric is None:
        return None
    metric_path = f"{path}.{name}"
    flat_bad = _status(metric, metric_path) == BAD
    bad_channels: list[str] = []
    if name == ORDER_DEFECT_RATE:
        for channel in ORDER_DEFECT_CHANNELS:
            channel_path = f"{metric_path}.{channel}"
            channel_metric = _optional_object(metric.get(channel), channel_path)
            if channel_metric is not None and _status(channel_metric, channel_path) == BAD:
                bad_channels.append(channel)
    if bad_channels:
        return Penalty(name, CUSTOMER_METRIC_PENALTY, f"status BAD ({', '.join(bad_channels)})", status=BAD,
                       channels=tuple(bad_channels))
    if flat_bad:
        return Penalty(name, CUSTOMER_METRIC_PENALTY, "status BAD", status=BAD)
    return None


def _policy_metric_penalty(entry: dict[str, Any], name: str, path: str) -> Penalty | None:
    metric = _metric(entry, name, path)
    if metric is None:
        return None
    metric_path = f"{path}.{name}"
    defects = _defects_count(metric, metric_path)
    is_bad = _status(metric, metric_path) == BAD

    uncapped = POLICY_POINTS_PER_DEFECT * defects
    points = min(uncapped, POLICY_MAX_PENALTY)
    reasons = [f"{defects} defect{'' if defects == 1 else 's'}"] if defects else []
    if uncapped > POLICY_MAX_PENALTY:
        reasons.append(f"capped at {POLICY_MAX_PENALTY}")
    if is_bad:
        reasons.append("status BAD")
        if points < POLICY_BAD_MIN_PENALTY:
            points = POLICY_BAD_MIN_PENALTY
            if defects:
                reasons.append(f"minimum {POLICY_BAD_MIN_PENALTY}")
    if points == 0:
        return None
    return Penalty(name, points, ", ".join(reasons), defects=defects, status=BAD if is_bad else "")


def _account_health_rating_penalty(entry: dict[str, Any], path: str) -> Penalty | None:
    metric = _metric(entry, ACCOUNT_HEALTH_RATING, path)
    if metric is None:
        return None
    for key in AHR_STATUS_KEYS:
        value = _optional_str(metric.get(key), f"{path}.{ACCOUNT_HEALTH_RATING}.{key}")
        if value is not None and value.upper() == WARNED:
            return Penalty(ACCOUNT_HEALTH_RATING, AHR_WARNED_PENALTY, WARNED, status=WARNED)
    return None


# --- reading and validating fields ---------------------------------------------------------


def _wanted_ids(marketplace_ids: Iterable[str] | None) -> frozenset[str] | None:
    if marketplace_ids is None:
        return None
    if isinstance(marketplace_ids, (str, bytes)):
        raise TypeError("marketplace_ids must be an iterable of marketplace ids, not a string")
    wanted = frozenset(marketplace_ids)
    return wanted or None


def _metric(entry: dict[str, Any], name: str, path: str) -> dict[str, Any] | None:
    """The metric under its canonical key, else under a known alias; None when missing."""
    for key in (name, *METRIC_ALIASES.get(name, ())):
        if entry.get(key) is not None:
            return _require_object(entry[key], f"{path}.{key}")
    return None


def _marketplace_id(entry: dict[str, Any], path: str) -> str:
    for key in MARKETPLACE_ID_KEYS:
        value = entry.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise HealthReportError(
                f"{path}.{key} must be a non-empty string, got {value!r}", field=f"{path}.{key}"
            )
        return value.strip()
    raise HealthReportError(f"{path} has no marketplaceId", field=f"{path}.marketplaceId")


def _account_status(value: Any, path: str) -> str:
    text = _optional_str(value, path)
    if text is None:
        return NORMAL
    status = _ACCOUNT_STATUS_MAP.get(text.strip().upper())
    if status is None:
        raise HealthReportError(f"{path} is an unknown account status: {value!r}", field=path)
    return status


def _status(metric: dict[str, Any], path: str) -> str | None:
    value = _optional_str(metric.get("status"), f"{path}.status")
    return None if value is None else value.strip().upper()


def _defects_count(metric: dict[str, Any], path: str) -> int:
    value = metric.get("defectsCount")
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise HealthReportError(
            f"{path}.defectsCount must be a non-negative integer, got {value!r}",
            field=f"{path}.defectsCount",
        )
    return value


def _optional_str(value: Any, path: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise HealthReportError(f"{path} must be a string, got {value!r}", field=path)


def _optional_object(value: Any, path: str) -> dict[str, Any] | None:
    return None if value is None else _require_object(value, path)


def _require_object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise HealthReportError(
            f"{path} must be a JSON object, got {_json_type(value)}", field=path
        )
    return value


def _worst(a: str, b: str) -> str:
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
