"""Fixtures for the sellers tests: who acts."""
from __future__ import annotations

import pytest

from audit.context import Actor
from tests.factories import UserFactory


@pytest.fixture
def worker() -> Actor:
    """The health sync task."""
    return Actor.task("sellers.sync_health", "task-1")


@pytest.fixture
def partner(db):
    return UserFactory(username="partner")


@pytest.fixture
def partner_actor(partner) -> Actor:
    return Actor.for_user(partner, source="api")
