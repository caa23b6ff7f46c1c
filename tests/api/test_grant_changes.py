"""GET /api/v1/grants/changes: an ordered, resumable feed that never skips or repeats a change."""
import random
import threading
import time

import pytest
from django.conf import settings
from django.db import connection, transaction

from audit import services as audit
from audit.context import Actor
from authorizations.changes import grant_changes
from tests.factories import UserFactory

from .conftest import error_codes


def _revoke(client, grant, reason="stop"):
    return client.post(f"/api/v1/grants/{grant.pk}/revoke", {"reason": reason}, format="json")


def read_all(client, cursor=None, *, want: int = 0, seconds: float = 30.0):
    """Every change after ``cursor``: at least ``want`` of them, polling while a writing
    transaction elsewhere on the server holds the feed's horizon back (it delays, never loses)."""
    seen = []
    deadline = time.monotonic() + seconds
    while True:
        page = client.get("/api/v1/grants/changes", {"cursor": cursor} if cursor else {}).json()
        seen += page["changes"]
        cursor = page["next_cursor"]
        if not page["changes"]:
            if len(seen) >= want or time.monotonic() > deadline:
                return seen, cursor
            time.sleep(0.05)


def poll_until(user, cursor, want: int, seconds: float = 30.0):
    """Read the feed until ``want`` changes arrived. The horizon is cluster-wide: any writing
    transaction still open on the server (another test run, say) delays changes, never loses them."""
    seen: list[dict] = []
    deadline = time.monotonic() + seconds
    while len(seen) < want and time.monotonic() < deadline:
        page, cursor = grant_changes(user=user, cursor=cursor, limit=7)
        seen += page
        if not page:
            time.sleep(0.05)
    return seen, cursor


# On PostgreSQL the API's reads must run in their own transactions, as in production: a reader
# never passes a transaction still open, and a test-wide one would be. (SQLite has no horizon, and
# its append-only trigger forbids the flush a transactional test ends with.)
feed_db = pytest.mark.django_db(transaction=settings.DATABASES["default"]["ENGINE"].endswith("postgresql"))


@feed_db
def test_feed_lists_changes_in_order_and_resumes_from_a_cursor(world, api):
    # given a brand owner who creates then revokes a grant
    owner = api("owner_a")
    created = owner.post("/api/v1/grants", {"brand": world.brand_a.pk, "seller_id": world.seller_t.seller_id,
                                            "asins": ["B0ALPHA002"], "marketplaces": ["US"]}, format="json")
    grant_id = created.json()["created"][0]["id"]
    first, cursor = read_all(owner, want=1)
    # when the grant is revoked and the feed is read again from the cursor
    owner.post(f"/api/v1/grants/{grant_id}/revoke", {"reason": "contract ended"}, format="json")
    later, _ = read_all(owner, cursor, want=1)
    # then the first read had the creation, the resumed read only the revocation
    assert [(c["grant_id"], c["action"], c["status"]) for c in first] == [(grant_id, "grant.created", "ACTIVE")]
    assert [(c["grant_id"], c["action"], c["status"]) for c in later] == [(grant_id, "grant.revoked", "REVOKED")]
    assert later[0]["seller_id"] == world.seller_t.seller_id and later[0]["asin"] == "B0ALPHA002"
    assert later[0]["marketplace"] == "US"


@feed_db
def test_feed_shows_only_what_the_caller_may_see(world, api):
    # given changes on brand A (seller S) and brand B (seller T)
    _revoke(api("owner_a"), world.grant_s)
    _revoke(api("owner_b"), world.grant_t)
    # when each role reads the feed
    expected = {"owner_a": 1, "owner_b": 1, "partner_s": 1, "partner_t": 1, "newcomer": 0, "ops": 2}
    seen = {role: {c["grant_id"] for c in read_all(api(role), want=want)[0]} for role, want in expected.items()}
    # then each sees its own only; ops see everything; a stranger nothing
    assert seen["owner_a"] == seen["partner_s"] == {world.grant_s.pk}
    assert seen["owner_b"] == seen["partner_t"] == {world.grant_t.pk}
    assert seen["newcomer"] == set()
    assert seen["ops"] == {world.grant_s.pk, world.grant_t.pk}


@pytest.mark.django_db
def test_malformed_cursor_and_limit_are_refused(world, api):
    client = api("owner_a")
    assert error_codes(client.get("/api/v1/grants/changes", {"cursor": "not a cursor!"})) == ["INVALID_CURSOR"]
    assert client.get("/api/v1/grants/changes", {"limit": "0"}).status_code == 400
    assert client.get("/api/v1/grants/changes", {"limit": "x"}).status_code == 400
    assert api("anonymous").get("/api/v1/grants/changes").status_code == 401


def _grant_event(n: int):
    # One stream per writer (brand n // 100): writers to one stream queue on its head's lock.
    return audit.event("grant.created", object_type="grant", object_id=n, brand_id=n // 100 + 1, seller_id="ASELLERS0001",
                       after={"status": "ACTIVE", "asin": f"B0{n:08d}", "marketplace": "US"})


def _write(n: int, hold: threading.Event | None = None, written: threading.Event | None = None):
    try:
        with transaction.atomic():
            audit.record_many(Actor.task("feed-test"), [_grant_event(n)])
            if written:
                written.set()
            if hold:
                hold.wait(10)
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_change_committed_late_is_not_skipped():
    # given a transaction that wrote a change but has not committed yet
    ops = UserFactory(username="ops-feed", is_staff=True)
    hold, written = threading.Event(), threading.Event()
    slow = threading.Thread(target=_write, args=(101, hold, written))
    slow.start()
    written.wait(10)
    # and a later transaction whose change commits first
    quick = threading.Thread(target=_write, args=(202,))
    quick.start()
    quick.join()
    # when a reader polls now
    early, cursor = grant_changes(user=ops, cursor=None)
    # then it does not pass the open transaction: the quick change is held back too
    assert early == []
    # when the slow one commits and the reader polls again from its cursor
    hold.set()
    slow.join()
    later, _ = poll_until(ops, cursor, want=2)
    # then both changes arrive, none skipped
    assert sorted(c["grant_id"] for c in later) == [101, 202]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reader_sees_every_change_exactly_once_under_concurrent_writers():
    # given 6 writers committing 20 changes each, with random delays inside their transactions
    ops = UserFactory(username="ops-feed2", is_staff=True)
    rng = random.Random(11)
    plans = {w: [(w * 100 + i, rng.random() * 0.02) for i in range(20)] for w in range(6)}

    def writer(plan):
        try:
            for n, pause in plan:
                with transaction.atomic():
                    audit.record_many(Actor.task("feed-test"), [_grant_event(n)])
                    time.sleep(pause)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(plan,)) for plan in plans.values()]
    seen: list[int] = []
    cursor = None
    # when a reader polls the feed while they write
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        page, cursor = grant_changes(user=ops, cursor=cursor, limit=7)
        seen += [c["grant_id"] for c in page]
    for thread in threads:
        thread.join()
    expected = sorted(n for plan in plans.values() for n, _ in plan)
    rest, _ = poll_until(ops, cursor, want=len(expected) - len(seen))
    seen += [c["grant_id"] for c in rest]
    # then it saw every change exactly once
    assert sorted(seen) == expected
    assert len(seen) == len(set(seen))
