"""Hand-made account health reports in the JSON shape of Amazon's
``GET_V2_SELLER_PERFORMANCE_REPORT`` (``accountHealthReport-2020-11-18.json``).

A *profile* (``scenario.json`` → ``health_profiles``) says what is wrong with the seller, on its
home marketplace (the first of its participations); every other metric and marketplace is good:

- ``bad``: customer-service metrics whose ``status`` is ``BAD`` (``orderDefectRate.mfn`` /
  ``orderDefectRate.afn`` name one fulfilment channel);
- ``defects``: policy metric → ``defectsCount``;
- ``warned``: the Account Health Rating is ``WARNED``;
- ``account_status``: the ``accountStatuses`` entry (``NORMAL``, ``AT_RISK``, ``SUSPENDED``).
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Any, Sequence

from sellers.health import POLICY_METRICS

# metric: (target value, target condition, good rate, bad rate, count field)
_RATE_METRICS: dict[str, tuple[float, str, float, float, str]] = {
    "lateShipmentRate": (0.04, "LESS_THAN", 0.012, 0.071, "lateShipmentCount"),
    "preFulfillmentCancellationRate": (0.025, "LESS_THAN", 0.004, 0.038, "cancellationCount"),
    "validTrackingRate": (0.95, "GREATER_THAN", 0.987, 0.912, "validTrackingCount"),
    "onTimeDeliveryRate": (0.90, "GREATER_THAN", 0.962, 0.861, "onTimeDeliveryCount"),
}
_POLICY_WINDOW_DAYS = 180


def _date_range(at: dt.datetime, days: int) -> dict[str, str]:
    start = at - dt.timedelta(days=days)
    return {"reportingDateFrom": start.strftime("%Y-%m-%dT00:00Z"), "reportingDateTo": at.strftime("%Y-%m-%dT23:59Z")}


def _rate_metric(name: str, *, bad: bool, orders: int, at: dt.datetime) -> dict[str, Any]:
    target, condition, good_rate, bad_rate, count_field = _RATE_METRICS[name]
    rate = bad_rate if bad else good_rate
    return {
        "reportingDateRange": _date_range(at, 30),
        "orderCount": orders,
        count_field: round(orders * rate),
        "status": "BAD" if bad else "GOOD",
        "rate": rate,
        "targetValue": target,
        "targetCondition": condition,
    }


def _odr_channel(channel: str, *, bad: bool, orders: int, at: dt.datetime) -> dict[str, Any]:
    rate = 0.0173 if bad else 0.0031
    return {
        "reportingDateRange": _date_range(at, 60),
        "orderCount": orders,
        "orderWithDefects": {"count": round(orders * rate), "status": "BAD" if bad else "GOOD"},
        "claims": {"count": round(orders * rate * 0.3), "status": "NONE"},
        "chargebacks": {"count": round(orders * rate * 0.1), "status": "NONE"},
        "negativeFeedback": {"count": round(orders * rate * 0.6), "status": "NONE"},
        "fulfillmentType": channel,
        "status": "BAD" if bad else "GOOD",
        "rate": rate,
        "targetValue": 0.01,
        "targetCondition": "LESS_THAN",
    }


def _marketplace_metrics(marketplace_id: str, profile: dict[str, Any] | None, *, orders: int,
                         at: dt.datetime) -> dict[str, Any]:
    profile = profile or {}
    bad = set(profile.get("bad", ()))
    defects = profile.get("defects", {})
    entry: dict[str, Any] = {
        "marketplaceId": marketplace_id,
        "orderDefectRate": {
            channel: _odr_channel(channel, bad=f"orderDefectRate.{channel}" in bad or "orderDefectRate" in bad,
                                  orders=orders // 2, at=at)
            for channel in ("mfn", "afn")
        },
    }
    for name in _RATE_METRICS:
        entry[name] = _rate_metric(name, bad=name in bad, orders=orders, at=at)
    if marketplace_id == "ATVPDKIKX0DER":  # invoices are a US metric
        entry["invoiceDefectRate"] = {
            "reportingDateRange": _date_range(at, 7), "orderCount": orders // 4,
            "invoiceDefect": {"count": 0, "status": "GOOD"}, "missingInvoice": {"count": 0, "status": "NONE"},
            "lateInvoice": {"count": 0, "status": "NONE"}, "status": "BAD" if "invoiceDefectRate" in bad else "GOOD",
            "rate": 0.0, "targetValue": 0.05, "targetCondition": "LESS_THAN",
        }
    for name in POLICY_METRICS:
        count = int(defects.get(name, 0))
        entry[name] = {
            "reportingDateRange": _date_range(at, _POLICY_WINDOW_DAYS),
            "defectsCount": count,
            "status": "BAD" if name in bad else "GOOD",
            "targetValue": 0,
            "targetCondition": "EQUALS",
        }
    entry["accountHealthRating"] = {
        "accountHealthRatingStatus": "WARNED" if profile.get("warned") else "GREAT",
        "reportingDateRange": _date_range(at, _POLICY_WINDOW_DAYS),
    }
    return entry


def health_report(profile: dict[str, Any], marketplace_ids: Sequence[str], *, at: dt.datetime,
                  rng: random.Random) -> dict[str, Any]:
    """The report for a seller participating in ``marketplace_ids`` (home first), with
    ``profile``'s problems on the home marketplace."""
    performance, statuses = [], []
    for index, marketplace_id in enumerate(marketplace_ids):
        home = index == 0
        performance.append(_marketplace_metrics(marketplace_id, profile if home else None,
                                                orders=rng.randrange(400, 9000), at=at))
        statuses.append({"marketplaceId": marketplace_id,
                         "status": profile.get("account_status", "NORMAL") if home else "NORMAL"})
    return {"accountStatuses": statuses, "performanceMetrics": performance}
