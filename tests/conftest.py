import os

import pytest
from django.db import connection

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need PostgreSQL's locks and triggers: skip them on SQLite."""
    from django.conf import settings

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
