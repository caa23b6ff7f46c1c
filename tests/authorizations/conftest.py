"""Fixtures and helpers for the authorization tests.

The defaults are the happy path (an ACTIVE brand with an owner, a healthy connected seller in
US, an ASIN verified in US); each test changes the one fact it is about.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

import pytest
from django.utils import timezone

from audit.context import Actor
from authorizations import services
from authorizations.models import Grant, GrantStatus
from brands.models import Role
from config.errors import ErrorItem, RuleViolation
from tests.factories import AsinFactory, BrandFactory, BrandMembershipFactory, SellerFactory, UserFactory


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


@pytest.fixture
def brand(owner):
    brand = BrandFactory(name="Acme")
    BrandMembershipFactory(brand=brand, user=owner, role=Role.OWNER)
    return brand


@pytest.fixture
def actor(owner):
    return Actor.for_user(owner)


@pytest.fixture
def manager(brand):
    """A second managing member of the brand (the approver under dual control)."""
    user = UserFactory(username="manager")
    BrandMembershipFactory(brand=brand, user=user, role=Role.MANAGER)
    return user


@pytest.fixture
def seller(db):
    return SellerFactory(seller_id="ASELLER000001")


@pytest.fixture
def asin(brand):
    return AsinFactory(brand=brand, asin="B0TEST0001")


def failures_of(**kwargs) -> list[ErrorItem]:
    """The failures ``grants_create`` refuses with (it must refuse)."""
    with pytest.raises(RuleViolation) as excinfo:
        services.grants_create(**kwargs)
    return excinfo.value.errors


def codes(errors: Iterable[ErrorItem]) -> set[str]:
    return {e.code for e in errors}


def only(errors: Iterable[ErrorItem], code: str) -> list[ErrorItem]:
    return [e for e in errors if e.code == code]


def hold(asin, sellers, *, marketplace: str = "US", status: str = GrantStatus.ACTIVE,
         valid_until: dt.datetime | None = None) -> list[Grant]:
    """Given state: each seller already holds a grant on ``asin`` (written directly, as earlier
    service calls would have left it)."""
    now = timezone.now()
    grants = [
        Grant(brand_id=asin.brand_id, seller=s, asin=asin, marketplace_id=marketplace, status=status,
              valid_from=now - dt.timedelta(days=30), valid_until=valid_until, status_changed_at=now)
        for s in sellers
    ]
    return Grant.objects.bulk_create(grants)


def move_term_to_past(grant: Grant, *, days_ago: int = 1) -> Grant:
    """Given state: time has passed and the grant's term ended ``days_ago`` days ago."""
    now = timezone.now()
    Grant.objects.filter(pk=grant.pk).update(valid_from=now - dt.timedelta(days=30),
                                             valid_until=now - dt.timedelta(days=days_ago))
    grant.refresh_from_db()
    return grant
