"""Brand writes hold under concurrency (PostgreSQL): processes with their own connections,
released together by a barrier. The brand row lock serialises them, so a brand never loses its
last owner and concurrent imports of the same ASINs never collide."""
from __future__ import annotations

import multiprocessing
import traceback
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection, connections

from audit.context import Actor
from audit.models import AuditEvent
from brands import services
from brands.models import Asin, BrandMembership, Role
from config.errors import ApplicationError
from tests.factories import BrandMembershipFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _run(barrier, results, work: Callable[[], str]) -> None:
    try:
        connection.ensure_connection()
        assert connection.settings_dict["NAME"].startswith("test_")
        barrier.wait(timeout=60)
        try:
            results.put(work())
        except ApplicationError as exc:
            results.put(exc.code)
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the test
        results.put("crash: " + traceback.format_exc())
    finally:
        connection.close()


def _race(works: list[Callable[[], str]]) -> Counter[str]:
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(len(works)), ctx.Queue()
    connections.close_all()  # children must not share the parent's socket
    processes = [ctx.Process(target=_run, args=(barrier, results, work)) for work in works]
    for process in processes:
        process.start()
    outcomes = Counter(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=30)
    return outcomes


def _leave(brand, user) -> Callable[[], str]:
    def work() -> str:
        services.membership_remove(actor=Actor.for_user(user), brand=brand, user=user)
        return "left"
    return work


def _import(brand, user, items) -> Callable[[], str]:
    def work() -> str:
        result = services.asins_import(actor=Actor.for_user(user), brand=brand, items=items)
        return f"created {len(result.created)}, unchanged {len(result.unchanged)}"
    return work


def test_owners_leaving_at_once_leave_one_owner(brand):
    # given: six owners, each about to leave
    owners = [BrandMembershipFactory(brand=brand, user=UserFactory(), role=Role.OWNER).user for _ in range(6)]

    # when
    outcomes = _race([_leave(brand, owner) for owner in owners])

    # then
    assert outcomes == Counter({"left": 5, "LAST_OWNER": 1})
    assert BrandMembership.objects.filter(brand=brand, role=Role.OWNER).count() == 1
    assert AuditEvent.objects.filter(brand_id=brand.pk, action="membership.removed").count() == 5


def test_concurrent_imports_of_the_same_asins_create_them_once(brand, owner, marketplaces):
    # given
    items = [{"asin": f"B{n:09d}", "marketplaces": ["US"]} for n in range(200)]

    # when
    outcomes = _race([_import(brand, owner, items) for _ in range(4)])

    # then
    assert outcomes == Counter({"created 200, unchanged 0": 1, "created 0, unchanged 200": 3})
    assert Asin.objects.filter(brand=brand).count() == 200
    assert AuditEvent.objects.filter(brand_id=brand.pk, action="asin.created").count() == 200
