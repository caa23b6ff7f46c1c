"""Transactions that take row locks: bounded waits, and lock failures as retryable errors."""
from __future__ import annotations

import contextlib
import weakref
from typing import Any, Callable, Iterator, Sequence

from django.conf import settings
from django.db import OperationalError, connection, transaction

from .errors import LockTimeout

# PostgreSQL SQLSTATEs that mean "try again": lock_not_available, deadlock, serialization.
_RETRYABLE = {"55P03", "40P01", "40001"}


@contextlib.contextmanager
def locking_atomic() -> Iterator[None]:
    """``transaction.atomic`` with ``lock_timeout`` set, so a stuck lock becomes a
    :class:`LockTimeout` (HTTP 503, safe to retry) instead of a hang."""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{settings.DB_LOCK_TIMEOUT_MS}ms"])
            yield
    except OperationalError as exc:
        if getattr(getattr(exc, "__cause__", None), "pgcode", None) in _RETRYABLE:
            raise LockTimeout("Another change to the same brand or ASIN is in progress; try again.") from exc
        raise


class PreparedQuery:
    """A read that PostgreSQL parses and plans once per database connection, then only executes.

    The check's queries execute in well under 0.1 ms on a million grants, but planning them
    (joins over several partial indexes) took ~1 ms, and the ORM took as long again to build
    them: the hot path therefore sends ``EXECUTE name(...)`` of a statement prepared on first
    use in each connection. A prepared statement holds no data, only a plan: every call reads
    the rows as they are now, so nothing here can answer from a stale copy.

    Needs session-level connections (a transaction-pooling PgBouncer would lose them):
    ``settings.DB_PREPARED_STATEMENTS = False`` turns them off, and the ORM query runs instead,
    as on SQLite.
    """

    # Which statements each driver connection holds (a new connection starts with none).
    _prepared: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()

    def __init__(self, name: str, types: Sequence[str], sql: Callable[[], str]):
        self.name = name
        self.types = tuple(types)
        self._sql = sql  # built on first use: table names come from the models
        self._execute = f"EXECUTE {name} ({', '.join(['%s'] * len(self.types))})"

    @staticmethod
    def available() -> bool:
        return connection.vendor == "postgresql" and getattr(settings, "DB_PREPARED_STATEMENTS", True)

    def fetchall(self, params: Sequence[Any]) -> list[tuple]:
        with connection.cursor() as cursor:
            raw = connection.connection
            done = self._prepared.get(raw)
            if done is None:
                done = self._prepared[raw] = set()
            if self.name not in done:
                # Through the driver's own cursor: a once-per-connection step, not a query of
                # the call (PREPARE is not transactional: a rollback does not undo it).
                with raw.cursor() as setup:
                    setup.execute(f"PREPARE {self.name} ({', '.join(self.types)}) AS {self._sql()}")
                done.add(self.name)
            cursor.execute(self._execute, list(params))
            return cursor.fetchall()
