import os
import uuid

import pytest
from django.db import connection

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

FAKE_SPAPI_SPEEDUP = 50  # Amazon's rate limits × 50, on the fake and in the client alike


# Tests that fork processes racing on the database: they run first, in a process that has not yet
# started a live server thread or a browser (forked after those, racers lost their connections).
FORKING_MODULES = ("tests/authorizations/test_race.py", "tests/brands/test_races.py",
                   "tests/sync/test_concurrent_workers.py")


def pytest_collection_modifyitems(config, items):
    """Forking tests first; tests marked ``postgres`` need PostgreSQL's locks and triggers: skip
    them on SQLite."""
    from django.conf import settings

    items.sort(key=lambda item: not item.nodeid.startswith(FORKING_MODULES))

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def marketplaces(db):
    from tests.factories import ensure_marketplaces

    ensure_marketplaces()


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def fake_spapi_live(request, settings):
    """A fake SP-API (``spapi_client.fake``: LWA, the consent page, the operations) serving on a free
    loopback port for this test, with the app's settings pointed at it; yields the ``FakeSpapi``.

    - World: the basic scenario (``spapi_client/fake/scenarios/basic.json``; its consent page signs
      in as ``A2HEALTHYSELL01``). Another: ``fake_spapi_live.load(dict or path)``, or
      ``@pytest.mark.parametrize("fake_spapi_live", [scenario], indirect=True)``.
    - Settings: ``fake_spapi_live.app_settings()`` (endpoint, LWA and consent URLs, LWA client,
      app id, rates × 50); report polls 0 s apart and quick retries, so a first sync takes well
      under a second; rate-limit buckets under a prefix of their own (deleted afterwards); empty
      access-token caches.
    - With ``live_server`` in the test, ``SITE_URL`` is its URL: the consent page sends the browser
      back to the live server's ``/spapi/callback``, which connects the seller and runs its first
      sync against the fake (Celery is eager in tests).

    Control: ``.set_consent_seller(id)``, ``.inject_fault(operation, kind)``, ``.stats()``,
    ``.revoke(id)``, ``.url`` (the same over HTTP under ``/_fake/``).
    """
    from spapi_client.client import clear_token_cache
    from spapi_client.fake import BASIC_SCENARIO, FakeSpapi
    from tests.helpers import delete_redis_keys

    server = FakeSpapi(getattr(request, "param", BASIC_SCENARIO), speedup=FAKE_SPAPI_SPEEDUP).start()
    for name, value in server.app_settings().items():
        setattr(settings, name, value)
    if "live_server" in request.fixturenames:
        settings.SITE_URL = request.getfixturevalue("live_server").url
    settings.SPAPI_REPORT_POLL_SECONDS = 0
    settings.SPAPI_BACKOFF_INITIAL = 0.01
    settings.SPAPI_BACKOFF_MAX = 0.05
    prefix = settings.SPAPI_RATELIMIT_PREFIX = f"test-fake-spapi-rl:{uuid.uuid4().hex[:12]}"
    clear_token_cache()
    yield server
    server.stop()
    clear_token_cache()
    delete_redis_keys(settings.REDIS_URL, prefix)


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
        or (marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    )


@pytest.fixture(autouse=True)
def _sqlite_flush_can_clear_audit(request):
    """Transactional tests (``live_server``, ``transaction=True``) end with a flush that DELETEs
    every table. On SQLite the append-only trigger refuses that unless a prune permit covers the
    events (PostgreSQL flushes with TRUNCATE, which the row trigger does not see): clear the
    events under a permit just before the flush."""
    from django.conf import settings

    transactional = _is_transactional(request)
    request.node._flushed_database = transactional  # see pytest_runtest_teardown
    sqlite = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    if not sqlite or not transactional:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up before, so torn down (flushed) after us
    yield
    import datetime as dt

    from audit.models import AuditPrunePermit

    from django.db import transaction

    with transaction.atomic():
        AuditPrunePermit.objects.create(until=dt.datetime(9999, 1, 1, tzinfo=dt.timezone.utc))
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditevent")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test ends with a flush that also empties what the data migrations wrote
    (the marketplaces, the beat schedule): put it back for the tests that follow."""
    yield
    if nextitem is None or not getattr(item, "_flushed_database", False):
        return  # (after the last test the test database is gone)
    from importlib import import_module

    from django.apps import apps
    from pytest_django.plugin import blocking_manager_key

    with item.config.stash[blocking_manager_key].unblock():
        import_module("sellers.migrations.0002_marketplaces").load(apps, None)
        import_module("spapi_client.migrations.0002_periodic_tasks").create_periodic_tasks(apps, None)
