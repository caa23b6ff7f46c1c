"""The demo world, loaded once for this folder.

Loading it takes seconds, so ``manage.py demo --no-serve`` runs once for the package, on the empty
test database, inside a transaction rolled back when the folder's tests are done; each test's own
changes are rolled back after it, as usual.
"""
from __future__ import annotations

import time
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import transaction


@pytest.fixture(scope="package")
def demo_world(django_db_setup, django_db_blocker):
    """``manage.py demo --no-serve`` run once: its output and how long it took."""
    with django_db_blocker.unblock(), transaction.atomic():
        out = StringIO()
        started = time.perf_counter()
        call_command("demo", "--no-serve", stdout=out)
        yield SimpleNamespace(output=out.getvalue(), seconds=time.perf_counter() - started)
        transaction.set_rollback(True)
