"""Fixtures for the audit tests: writing events, and tampering with them behind the triggers."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable

import pytest
from django.db import connection, transaction

from audit.context import Actor
from audit.models import AuditEvent
from audit.services import EventSpec, event, record_many

Write = Callable[..., list[AuditEvent]]
Tamper = Callable[..., None]


@pytest.fixture
def actor() -> Actor:
    return Actor.command("tests")


@pytest.fixture
def write(db, actor: Actor) -> Write:
    """Record ``specs`` in a transaction of their own, as a service would."""

    def write(specs: Iterable[EventSpec], *, by: Actor = actor, at: datetime | None = None) -> list[AuditEvent]:
        with transaction.atomic():
            return record_many(by, specs, at=at)

    return write


def grant_event(n: int = 0, *, brand_id: int | None = 1, seller_id: str = "", **fields) -> EventSpec:
    return event(
        "grant.created", object_type="grant", object_id=n, brand_id=brand_id, seller_id=seller_id,
        after={"asin": f"B0{n:08d}", "marketplace": "US"}, **fields,
    )


@pytest.fixture
def tamper(db) -> Tamper:
    """Run SQL on audit_auditevent as an intruder would: past the append-only triggers.

    The triggers are switched off inside the test's transaction, which rolls back afterwards.
    """

    def tamper(*statements: tuple[str, list]) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
            else:
                cursor.execute("DROP TRIGGER audit_event_no_update")
                cursor.execute("DROP TRIGGER audit_event_no_delete")
            for sql, params in statements:
                cursor.execute(sql, params)

    return tamper
