"""Helpers for the sellers tests: grants in a given state, the official report, audit events."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.utils import timezone

from audit.models import AuditEvent
from authorizations.models import Grant, GrantStatus
from tests.factories import AsinFactory, BrandFactory, marketplace

MODEL_FILE = Path(__file__).resolve().parents[3] / "shared" / "spapi-models" / "accountHealthReport-2020-11-18.json"

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
MX = "A1AM78C64UM0Y8"
UK = "A1F83G8C2ARO7P"
DE = "A1PA6795UKMFR9"
FR = "A13V1IB3VIYZZH"


def official_example_report() -> dict[str, Any]:
    """The one example report of Amazon's accountHealthReport schema."""
    model = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    (example,) = model["examples"]
    return example


def make_grant(seller, *, status: str = GrantStatus.ACTIVE, brand=None, asin=None, marketplace_code: str = "US",
               valid_until=None) -> Grant:
    """A grant written directly (set-up only: no rules, no audit event)."""
    brand = brand or (asin.brand if asin is not None else BrandFactory())
    asin = asin or AsinFactory(brand=brand, marketplaces=[marketplace_code])
    now = timezone.now()
    return Grant.objects.create(
        brand=brand, seller=seller, asin=asin, marketplace=marketplace(marketplace_code), status=status,
        valid_from=now - dt.timedelta(days=1), valid_until=valid_until, status_changed_at=now,
    )


def events(**filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("stream", "seq"))
