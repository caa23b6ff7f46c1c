"""Transactions that take row locks: bounded waits, and lock failures as retryable errors."""
from __future__ import annotations

import contextlib
from typing import Iterator

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
