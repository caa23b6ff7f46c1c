"""Given state for the ops pages' tests: a small audit log written through the recorder (so its
hash chains verify), a large one bulk-loaded for query-count tests, and sync runs.

Import the fixtures into a test module: ``from tests.web.ops_helpers import audit_log, fresh_cache``.
"""
from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from audit import verification
from audit.context import Actor
from audit.models import AuditEvent
from audit.services import event, record_many
from spapi_client.models import SyncKind, SyncRun, SyncStatus

DAY1 = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)
DAY2 = dt.datetime(2026, 1, 12, 15, 30, tzinfo=dt.UTC)
DAY3 = dt.datetime(2026, 1, 14, 23, 59, 59, tzinfo=dt.UTC)
OPS_URLS = ("/ops/audit/", "/ops/audit/export.csv", "/ops/audit/verify/", "/ops/sync-runs/")


def _forget() -> None:
    # Only our keys: with REDIS_URL (CI) the cache is shared with whatever else runs.
    from config.celery import WORKER_HEARTBEAT_KEY

    cache.delete_many([verification.LAST_KEY, verification.RUNNING_KEY, WORKER_HEARTBEAT_KEY])


@pytest.fixture(autouse=True)
def fresh_cache():
    """The last verification and the worker heartbeat live in the cache: each test starts without them."""
    _forget()
    yield
    _forget()


def write(actor: Actor, specs, *, at: dt.datetime) -> list[AuditEvent]:
    with transaction.atomic():
        return record_many(actor, specs, at=at)


@pytest.fixture
def audit_log(world) -> SimpleNamespace:
    """115 events over three days, newest last (ids grow with time):

    * DAY1: 40 ``grant.created`` on brand Alpha by owner_a (web), grant ids 1000…1039, seller S;
      5 ``membership.added`` on Alpha by owner_a;
    * DAY2: 51 ``grant.revoked`` on brand Bravo by owner_b (api), seller T, reason "counterfeit";
    * DAY3: 19 ``seller.health_updated`` of seller S by the task ``sellers.sync`` (no brand).
    """
    a, b = world.brand_a.pk, world.brand_b.pk
    owner_a = Actor.for_user(world.owner_a, source="web", request_id="req-alpha-1")
    owner_b = Actor.for_user(world.owner_b, source="api", request_id="req-bravo-1")
    task = Actor.task("sellers.sync", "task-1")
    day1 = write(owner_a, [
        event("grant.created", object_type="grant", object_id=1000 + i, brand_id=a, seller_id="ASELLERS0001",
              after={"asin": "B0ALPHA001", "marketplace": "US", "status": "ACTIVE"}, reason="launch")
        for i in range(40)
    ] + [
        event("membership.added", object_type="membership", object_id=500 + i, brand_id=a,
              after={"role": "viewer", "username": f"user{i}"})
        for i in range(5)
    ], at=DAY1)
    day2 = write(owner_b, [
        event("grant.revoked", object_type="grant", object_id=2000 + i, brand_id=b, seller_id="ASELLERT0001",
              before={"status": "ACTIVE"}, after={"status": "REVOKED"}, reason="counterfeit")
        for i in range(51)
    ], at=DAY2)
    day3 = write(task, [
        event("seller.health_updated", object_type="seller", object_id="ASELLERS0001", seller_id="ASELLERS0001",
              before={"health_score": 95 - i}, after={"health_score": 94 - i})
        for i in range(19)
    ], at=DAY3)
    return SimpleNamespace(day1=day1, day2=day2, day3=day3, all=day1 + day2 + day3)


def newest_first(queryset=None) -> list[int]:
    queryset = AuditEvent.objects.all() if queryset is None else queryset
    return list(queryset.order_by("-at", "-id").values_list("id", flat=True))


def bulk_events(count: int, *, brand_id: int | None = None, start: dt.datetime | None = None,
                stream: str = "") -> None:
    """``count`` events loaded in one SQL statement, one second apart (a bulk load outside the
    recorder: their hashes do not chain, which the listing does not care about). Actors cycle
    through user0…user49, actions through grant.created / grant.revoked / asin.updated; every
    third event has no brand, every other one seller S."""
    start = (start or timezone.now() - dt.timedelta(days=400)).replace(microsecond=500000)
    stream = stream or f"bulk:{uuid.uuid4().hex[:12]}"
    json = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    if connection.vendor == "postgresql":
        at, series = "%s::timestamptz + n.i * interval '1 second'", "SELECT generate_series(0, %s - 1) AS i"
        start_param = start
    else:
        # As Django writes a time to SQLite: "YYYY-MM-DD HH:MM:SS.ffffff" (compared as text).
        at = "strftime('%%Y-%%m-%%d %%H:%%M:%%S', %s, '+' || n.i || ' seconds') || '.500000'"
        series = "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < %s) SELECT i FROM s"
        start_param = start.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    sql = f"""
        INSERT INTO audit_auditevent (stream, seq, at, actor_user_id, actor, source, request_id, ip, object_type,
            object_id, brand_id, seller_id, action, before, after, reason, prev_hash, hash)
        SELECT %s, n.i + 1, {at}, NULL, 'user' || (n.i %% 50), 'web', '', '', 'grant', CAST(n.i AS TEXT),
            CASE WHEN n.i %% 3 = 0 THEN NULL ELSE CAST(%s AS BIGINT) END,
            CASE WHEN n.i %% 2 = 1 THEN 'ASELLERS0001' ELSE '' END,
            CASE n.i %% 3 WHEN 0 THEN 'grant.created' WHEN 1 THEN 'grant.revoked' ELSE 'asin.updated' END,
            {json}, {json}, '', '', 'bulk'
        FROM ({series}) AS n
    """
    params = [stream, start_param, brand_id, '{"status": "ACTIVE"}', '{"status": "REVOKED"}', count]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def make_run(kind=SyncKind.SELLER, status=SyncStatus.SUCCESS, *, seller=None, brand=None, minutes_ago: float = 0,
             counts=None, error: str = "", done: int = 0, total: int = 0, result=None, **fields) -> SyncRun:
    """A sync run as the tasks leave it (written directly)."""
    now = timezone.now() - dt.timedelta(minutes=minutes_ago)
    finished = status in (SyncStatus.SUCCESS, SyncStatus.FAILURE)
    run = SyncRun.objects.create(
        kind=kind, status=status, seller=seller, brand=brand, counts=counts or {}, error=error,
        progress_done=done, progress_total=total, result=result,
        started_at=None if status == SyncStatus.PENDING else now - dt.timedelta(seconds=30),
        finished_at=now if finished else None, attempts=0 if status == SyncStatus.PENDING else 1, **fields,
    )
    SyncRun.objects.filter(pk=run.pk).update(created_at=now - dt.timedelta(seconds=40))
    run.refresh_from_db()
    return run
