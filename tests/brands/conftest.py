"""Fixtures for the brands tests: a brand with one member per role, and who acts."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from audit.context import Actor
from brands.models import Brand, RegistryStatus, Role
from tests.factories import BrandFactory, BrandMembershipFactory, UserFactory


@pytest.fixture
def brand(db) -> Brand:
    return BrandFactory(name="Acme", registry_number="ACME-0001", registry_status=RegistryStatus.PENDING)


@pytest.fixture
def owner(brand):
    return BrandMembershipFactory(brand=brand, user=UserFactory(username="olivia"), role=Role.OWNER).user


@pytest.fixture
def manager(brand):
    return BrandMembershipFactory(brand=brand, user=UserFactory(username="manny"), role=Role.MANAGER).user


@pytest.fixture
def viewer(brand):
    return BrandMembershipFactory(brand=brand, user=UserFactory(username="vera"), role=Role.VIEWER).user


@pytest.fixture
def stranger(db):
    return UserFactory(username="stranger")


@pytest.fixture
def ops_user(db):
    user = UserFactory(username="opal")
    user.groups.add(Group.objects.get_or_create(name="ops")[0])
    return user


@pytest.fixture
def as_actor():
    """The actor of a user, as the API builds it."""

    def build(user) -> Actor:
        return Actor.for_user(user, source="api")

    return build
