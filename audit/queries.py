"""Reads of the audit log for ops' pages (kept apart from ``audit.selectors``, which the API uses).

Everything here stays fast on a log of millions of events: index lookups, never a scan or a
``COUNT(*)`` of the whole table.
"""
from __future__ import annotations

from django.db import connection

from .models import AuditEvent


def distinct_values(column: str) -> list[str]:
    """The distinct values of an indexed text column of the audit log, sorted.

    A "loose index scan" (a recursive CTE jumping from one value to the next through the index)
    costs one index probe per distinct value instead of reading every event; PostgreSQL and
    SQLite both run it. ``column`` must lead one of the model's indexes (``action``, ``actor``,
    ``object_type``).
    """
    if column not in {"action", "actor", "object_type"}:
        raise ValueError(f"no index leads with {column!r}")
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    col = connection.ops.quote_name(column)
    sql = f"""
        WITH RECURSIVE v(value) AS (
            SELECT min({col}) FROM {table}
            UNION ALL
            SELECT (SELECT min({col}) FROM {table} WHERE {col} > v.value) FROM v WHERE v.value IS NOT NULL
        )
        SELECT value FROM v WHERE value IS NOT NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def distinct_actions() -> list[str]:
    """Every action the log holds (``grant.revoked``, …), sorted."""
    return distinct_values("action")


def distinct_object_types() -> list[str]:
    return distinct_values("object_type")
