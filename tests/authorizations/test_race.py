"""The limits hold under concurrency: many processes, each with its own PostgreSQL connection,
released together by a barrier, race for the last slot. Exactly one wins; every loser gets a
RuleViolation (or a retryable LockTimeout), never an IntegrityError or a crash.

Processes are forked after the parent closes its connections, so each child opens its own
connection to the test database (``connection.settings_dict["NAME"]``, passed to it) and commits
for real.

The last tests are deterministic interleavings (a thread with its own connection holds a
transaction open mid-change): what a grant must wait for, and what it must not.
"""
from __future__ import annotations

import multiprocessing
import threading
import traceback

import pytest
from django.db import connection, connections, transaction
from django.test import override_settings

from audit.context import Actor
from audit.models import AuditEvent
from authorizations import services
from authorizations.models import LIVE_STATUS_VALUES, Grant, GrantStatus
from brands.models import Role
from config.errors import LockTimeout, RuleViolation
from sellers.services import seller_health_apply
from tests.factories import AsinFactory, BrandFactory, BrandMembershipFactory, SellerFactory, UserFactory

from .conftest import hold

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 50


def _attempt(barrier, results, db_name, *, owner, brand, seller, asin_code):
    """One racer, in its own process and connection."""
    try:
        connection.settings_dict["NAME"] = db_name  # the test database (inherited; said explicitly)
        connection.ensure_connection()  # connect before the start line, not after it
        barrier.wait(timeout=120)
        try:
            services.grants_create(actor=Actor.for_user(owner), brand=brand, seller=seller, asins=[asin_code],
                                   marketplaces=["US"])
            results.put(("granted", seller.seller_id, ""))
        except RuleViolation as exc:
            results.put(("RuleViolation", seller.seller_id, ",".join(sorted({e.code for e in exc.errors}))))
        except LockTimeout as exc:
            results.put(("LockTimeout", seller.seller_id, exc.code))
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the test
        results.put(("crash", seller.seller_id, traceback.format_exc()))
    finally:
        connection.close()


def _race(attempts: list[dict]) -> list[tuple[str, str, str]]:
    """Run every attempt in its own process, all released at once; their outcomes."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(attempts))
    results = ctx.Queue()
    db_name = connection.settings_dict["NAME"]
    connections.close_all()  # children must not share the parent's socket
    processes = [ctx.Process(target=_attempt, args=(barrier, results, db_name), kwargs=kw) for kw in attempts]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=180) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    return outcomes


def _assert_one_winner(outcomes, limit_code: str) -> None:
    crashes = [o for o in outcomes if o[0] == "crash"]
    assert not crashes, crashes[0][2]
    kinds = [o[0] for o in outcomes]
    assert kinds.count("granted") == 1, kinds
    assert set(kinds) <= {"granted", "RuleViolation", "LockTimeout"}
    assert {o[2] for o in outcomes if o[0] == "RuleViolation"} <= {limit_code}


def test_fifty_sellers_race_for_the_last_slot_of_an_asin(marketplaces, owner, brand, asin):
    # given 9 of the ASIN's 10 slots are held, and 50 other sellers want the last one
    hold(asin, [SellerFactory() for _ in range(9)])
    racers = [SellerFactory() for _ in range(RACERS)]
    # when
    outcomes = _race([dict(owner=owner, brand=brand, seller=s, asin_code=asin.asin) for s in racers])
    # then
    _assert_one_winner(outcomes, "ASIN_SELLER_LIMIT")
    live = Grant.objects.filter(asin=asin, status__in=LIVE_STATUS_VALUES)
    assert live.order_by().values("seller").distinct().count() == 10
    [winner] = [o[1] for o in outcomes if o[0] == "granted"]
    assert live.filter(seller__seller_id=winner).count() == 1
    assert AuditEvent.objects.filter(action="grant.created").count() == 1


@override_settings(MAX_SELLERS_PER_BRAND=5)
def test_fifty_sellers_race_for_the_last_seller_slot_of_a_brand(marketplaces, owner, brand):
    # given 4 of the brand's 5 seller slots are held, and 50 sellers each want a different ASIN
    for _ in range(4):
        hold(AsinFactory(brand=brand), [SellerFactory()])
    attempts = [dict(owner=owner, brand=brand, seller=SellerFactory(), asin_code=AsinFactory(brand=brand).asin)
                for _ in range(RACERS)]
    # when
    outcomes = _race(attempts)
    # then
    _assert_one_winner(outcomes, "BRAND_SELLER_LIMIT")
    live = Grant.objects.filter(brand=brand, status__in=LIVE_STATUS_VALUES)
    assert live.order_by().values("seller").distinct().count() == 5
    assert AuditEvent.objects.filter(action="grant.created").count() == 1


# -- locks stay narrow ------------------------------------------------------------------------

def _hold_open(started, release, work):
    """In its own connection: do ``work`` inside a transaction and keep it open (its locks
    held) until ``release`` is set."""
    try:
        with transaction.atomic():
            work()
            started.set()
            release.wait(timeout=60)
    finally:
        started.set()
        connection.close()


@override_settings(DB_LOCK_TIMEOUT_MS=500)
def test_taking_access_away_does_not_wait_for_another_brand(marketplaces, actor, brand, seller, asin):
    # given the same seller holds a grant on another brand, in the same marketplace, and that
    # brand's owner is in the middle of suspending it
    other_owner = UserFactory(username="other-owner")
    other_brand = BrandFactory()
    BrandMembershipFactory(brand=other_brand, user=other_owner, role=Role.OWNER)
    [theirs] = hold(AsinFactory(brand=other_brand), [seller])
    [ours] = hold(asin, [seller])
    started, release = threading.Event(), threading.Event()
    other = threading.Thread(target=_hold_open, args=(started, release, lambda: services.grant_suspend(
        actor=Actor.for_user(other_owner), grant=theirs, reason="review")))
    other.start()
    started.wait(timeout=30)
    try:
        # when this brand's owner revokes its own grant (and then stops the seller entirely)
        services.grant_revoke(actor=actor, grant=ours, reason="counterfeits")
        [again] = hold(AsinFactory(brand=brand), [seller])
        revoked = services.grants_revoke_all(actor=actor, brand=brand, seller=seller, reason="stop")
    finally:
        release.set()
        other.join(timeout=60)
    # then neither waited for the other brand's transaction
    ours.refresh_from_db()
    again.refresh_from_db()
    assert (ours.status, again.status, revoked) == (GrantStatus.REVOKED, GrantStatus.REVOKED, 1)
    theirs.refresh_from_db()
    assert theirs.status == GrantStatus.SUSPENDED


def _health_sync_in_flight(seller):
    """A health sync that found the seller below the minimum (its report's late-shipment rate is
    BAD: 100 − 15 = 85) and is about to commit."""
    bad_report = {"performanceMetrics": [{"marketplaceId": "ATVPDKIKX0DER", "lateShipmentRate": {"status": "BAD"}}],
                  "accountStatuses": [{"marketplaceId": "ATVPDKIKX0DER", "status": "NORMAL"}]}
    return lambda: seller_health_apply(actor=Actor.task("sellers.sync_health"), seller=seller, report=bad_report)


def test_grant_racing_a_health_drop_is_not_left_active(marketplaces, actor, brand, seller, asin):
    # given a health sync that is suspending the seller's grants, not yet committed
    started, release = threading.Event(), threading.Event()
    sync = threading.Thread(target=_hold_open, args=(started, release, _health_sync_in_flight(seller)))
    sync.start()
    started.wait(timeout=30)
    threading.Timer(1.0, release.set).start()  # it commits a moment later
    # when the brand owner grants the seller meanwhile
    try:
        services.grants_create(actor=actor, brand=brand, seller=seller, asins=[asin.asin])
    except RuleViolation as exc:
        refusal = {e.code for e in exc.errors}
    else:
        refusal = set()
    finally:
        release.set()
        sync.join(timeout=60)
    # then the grant waited for the sync and was refused; no active grant outlives the drop
    seller.refresh_from_db()
    assert seller.health_score == 85
    assert refusal == {"SELLER_HEALTH_BELOW_MIN"}
    assert not Grant.objects.filter(seller=seller, status=GrantStatus.ACTIVE).exists()


def test_reinstate_racing_a_health_drop_is_refused(marketplaces, actor, brand, seller, asin):
    # given a suspended grant, and a health sync in flight that found the seller below the minimum
    [grant] = hold(asin, [seller], status=GrantStatus.SUSPENDED)
    started, release = threading.Event(), threading.Event()
    sync = threading.Thread(target=_hold_open, args=(started, release, _health_sync_in_flight(seller)))
    sync.start()
    started.wait(timeout=30)
    threading.Timer(1.0, release.set).start()
    # when the brand owner reinstates the grant meanwhile
    try:
        with pytest.raises(RuleViolation) as excinfo:
            services.grant_reinstate(actor=actor, grant=grant)
    finally:
        release.set()
        sync.join(timeout=60)
    # then
    assert {e.code for e in excinfo.value.errors} == {"SELLER_HEALTH_BELOW_MIN"}
    grant.refresh_from_db()
    assert grant.status == GrantStatus.SUSPENDED
