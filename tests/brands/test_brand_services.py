"""brands.services: creating and changing brands, their registry status and memberships."""
from __future__ import annotations

import pytest

from audit.context import Actor
from brands import services
from brands.models import Brand, BrandMembership, RegistryStatus, Role
from config.errors import Conflict, InvalidInput, NotAllowed, NotFound
from tests.factories import BrandFactory, SellerMembershipFactory, UserFactory

from .helpers import events


# -- brand_create --------------------------------------------------------------------------------

def test_brand_create_makes_a_pending_brand_owned_by_its_creator(db, as_actor):
    # given
    user = UserFactory(username="founder")

    # when
    brand = services.brand_create(actor=as_actor(user), name="  Northwind ", registry_number="NW-2024-001")

    # then
    brand.refresh_from_db()
    assert (brand.name, brand.registry_number, brand.registry_status) == ("Northwind", "NW-2024-001", "PENDING")
    assert BrandMembership.objects.get(brand=brand).user == user
    assert BrandMembership.objects.get(brand=brand).role == Role.OWNER
    created, added = events(brand)
    assert (created.action, created.object_type, created.object_id, created.actor) == (
        "brand.created", "brand", str(brand.pk), "founder")
    assert created.before is None
    assert created.after["registry_status"] == "PENDING"
    assert created.after["registry_number"] == "NW-2024-001"
    assert (added.action, added.after) == ("membership.added", {"user": "founder", "role": "owner"})


@pytest.mark.parametrize(
    ("name", "registry_number", "code", "field"),
    [
        ("", "NW-1", "REQUIRED", "name"),
        ("   ", "NW-1", "REQUIRED", "name"),
        ("N" * 201, "NW-1", "TOO_LONG", "name"),
        ("Northwind", "", "REQUIRED", "registry_number"),
        ("Northwind", "NW 1", "INVALID_REGISTRY_NUMBER", "registry_number"),
        ("Northwind", "NW_1", "INVALID_REGISTRY_NUMBER", "registry_number"),
        ("Northwind", "N" * 65, "INVALID_REGISTRY_NUMBER", "registry_number"),
    ],
)
def test_brand_create_refuses_bad_input_and_writes_nothing(db, as_actor, name, registry_number, code, field):
    # given
    user = UserFactory()

    # when
    with pytest.raises(InvalidInput) as refused:
        services.brand_create(actor=as_actor(user), name=name, registry_number=registry_number)

    # then
    assert (refused.value.code, refused.value.errors[0].field) == (code, field)
    assert not Brand.objects.exists()


def test_brand_create_accepts_the_longest_name_and_number(db, as_actor):
    # when
    brand = services.brand_create(actor=as_actor(UserFactory()), name="N" * 200, registry_number="N" * 64)

    # then
    assert len(brand.name) == 200


def test_brand_create_refuses_a_registry_number_already_registered(brand, as_actor):
    # when
    with pytest.raises(Conflict) as refused:
        services.brand_create(actor=as_actor(UserFactory()), name="Copycat", registry_number=brand.registry_number)

    # then
    error = refused.value.errors[0]
    assert (error.code, error.field) == ("DUPLICATE_REGISTRY_NUMBER", "registry_number")
    assert brand.registry_number in error.detail
    assert Brand.objects.count() == 1


def test_brand_create_needs_a_user_to_own_the_brand(db):
    # when / then
    with pytest.raises(NotAllowed):
        services.brand_create(actor=Actor.task("brands.import"), name="Ownerless", registry_number="OWN-1")
    assert not Brand.objects.exists()


# -- brand_update --------------------------------------------------------------------------------

def test_brand_update_records_only_the_changed_fields(brand, owner, as_actor):
    # when
    updated = services.brand_update(actor=as_actor(owner), brand=brand, name="Acme Tools", dual_control=True)

    # then
    brand.refresh_from_db()
    assert (brand.name, brand.dual_control) == ("Acme Tools", True)
    assert updated.name == "Acme Tools"
    [event] = events(brand, "brand.updated")
    assert event.before == {"name": "Acme", "dual_control": False}
    assert event.after == {"name": "Acme Tools", "dual_control": True}


def test_brand_update_without_a_change_records_nothing(brand, owner, as_actor):
    # when
    services.brand_update(actor=as_actor(owner), brand=brand, name="Acme", dual_control=False)

    # then
    assert events(brand, "brand.updated") == []


def test_brand_update_sets_and_clears_the_spapi_account_of_a_member(brand, owner, manager, as_actor):
    # given: the manager connected a seller account
    seller = SellerMembershipFactory(user=manager).seller

    # when
    services.brand_update(actor=as_actor(owner), brand=brand, spapi_account=seller)
    services.brand_update(actor=as_actor(owner), brand=brand, spapi_account=None)

    # then
    brand.refresh_from_db()
    assert brand.spapi_account is None
    set_event, cleared_event = events(brand, "brand.updated")
    assert (set_event.before, set_event.after) == ({"spapi_account": None}, {"spapi_account": seller.seller_id})
    assert (cleared_event.before, cleared_event.after) == ({"spapi_account": seller.seller_id}, {"spapi_account": None})


def test_brand_update_refuses_a_seller_account_no_member_is_linked_to(brand, owner, as_actor):
    # given
    outsider = SellerMembershipFactory(user=UserFactory()).seller

    # when
    with pytest.raises(InvalidInput) as refused:
        services.brand_update(actor=as_actor(owner), brand=brand, spapi_account=outsider)

    # then
    error = refused.value.errors[0]
    assert (error.code, error.field, error.seller_id) == ("INVALID_SPAPI_ACCOUNT", "spapi_account", outsider.seller_id)
    brand.refresh_from_db()
    assert brand.spapi_account is None
    assert events(brand) == []


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"name": ""}, "REQUIRED", "name"),
    ({"name": "x" * 201}, "TOO_LONG", "name"),
    ({"dual_control": "yes"}, "INVALID", "dual_control"),
])
def test_brand_update_refuses_bad_values(brand, owner, as_actor, changes, code, field):
    # when
    with pytest.raises(InvalidInput) as refused:
        services.brand_update(actor=as_actor(owner), brand=brand, **changes)

    # then
    assert (refused.value.code, refused.value.errors[0].field) == (code, field)
    assert events(brand) == []


@pytest.mark.parametrize(("who", "refusal"), [
    ("manager", NotAllowed), ("viewer", NotAllowed), ("stranger", NotFound), ("ops_user", NotAllowed),
])
def test_only_an_owner_changes_brand_settings(brand, as_actor, request, who, refusal):
    # given
    user = request.getfixturevalue(who)

    # when / then
    with pytest.raises(refusal):
        services.brand_update(actor=as_actor(user), brand=brand, dual_control=True)
    brand.refresh_from_db()
    assert brand.dual_control is False


# -- brand_set_registry_status -------------------------------------------------------------------

def test_ops_set_the_registry_status(brand, ops_user, as_actor):
    # when
    services.brand_set_registry_status(actor=as_actor(ops_user), brand=brand, registry_status=RegistryStatus.ACTIVE)

    # then
    brand.refresh_from_db()
    assert brand.registry_status == "ACTIVE"
    assert brand.registry_checked_at is not None
    [event] = events(brand, "brand.registry_status_changed")
    assert event.before == {"registry_status": "PENDING", "registry_checked_at": None}
    assert event.after == {"registry_status": "ACTIVE", "registry_checked_at": brand.registry_checked_at.isoformat()}
    assert event.actor == "opal"


def test_staff_and_system_actors_set_the_registry_status(brand, as_actor):
    # given
    staff = UserFactory(is_staff=True)

    # when
    services.brand_set_registry_status(actor=as_actor(staff), brand=brand, registry_status="SUSPENDED")
    worker = Actor.task("brands.registry_check")
    services.brand_set_registry_status(actor=worker, brand=brand, registry_status="INACTIVE")

    # then
    brand.refresh_from_db()
    assert brand.registry_status == "INACTIVE"
    assert len(events(brand, "brand.registry_status_changed")) == 2


@pytest.mark.parametrize(("who", "refusal"), [
    ("owner", NotAllowed), ("manager", NotAllowed), ("viewer", NotAllowed), ("stranger", NotFound),
])
def test_only_ops_set_the_registry_status(brand, as_actor, request, who, refusal):
    # given
    user = request.getfixturevalue(who)

    # when
    with pytest.raises(refusal) as refused:
        services.brand_set_registry_status(actor=as_actor(user), brand=brand, registry_status="ACTIVE")

    # then
    assert refused.value.code == ("FORBIDDEN" if refusal is NotAllowed else "NOT_FOUND")
    brand.refresh_from_db()
    assert brand.registry_status == "PENDING"
    assert events(brand) == []


def test_an_unknown_registry_status_is_refused(brand, ops_user, as_actor):
    # when
    with pytest.raises(InvalidInput) as refused:
        services.brand_set_registry_status(actor=as_actor(ops_user), brand=brand, registry_status="LIVE")

    # then
    error = refused.value.errors[0]
    assert (error.code, error.field) == ("INVALID_REGISTRY_STATUS", "registry_status")
    assert "LIVE" in error.detail


# -- memberships ---------------------------------------------------------------------------------

def test_an_owner_adds_a_member(brand, owner, as_actor):
    # given
    newcomer = UserFactory(username="newton")

    # when
    membership = services.membership_add(actor=as_actor(owner), brand=brand, user=newcomer, role="manager")

    # then
    assert (membership.user, membership.role) == (newcomer, Role.MANAGER)
    [event] = events(brand, "membership.added")
    assert (event.object_type, event.object_id) == ("membership", str(membership.pk))
    assert (event.before, event.after) == (None, {"user": "newton", "role": "manager"})


def test_adding_an_existing_member_changes_their_role(brand, owner, viewer, as_actor):
    # when
    membership = services.membership_add(actor=as_actor(owner), brand=brand, user=viewer, role="manager")

    # then
    assert BrandMembership.objects.get(brand=brand, user=viewer).role == Role.MANAGER
    assert membership.role == Role.MANAGER
    [event] = events(brand, "membership.updated")
    assert (event.before, event.after) == ({"user": "vera", "role": "viewer"}, {"user": "vera", "role": "manager"})


def test_adding_a_member_with_the_role_they_hold_records_nothing(brand, owner, viewer, as_actor):
    # when
    services.membership_add(actor=as_actor(owner), brand=brand, user=viewer, role="viewer")

    # then
    assert events(brand) == []


def test_an_unknown_role_is_refused(brand, owner, as_actor):
    # when
    with pytest.raises(InvalidInput) as refused:
        services.membership_add(actor=as_actor(owner), brand=brand, user=UserFactory(), role="admin")

    # then
    error = refused.value.errors[0]
    assert (error.code, error.field) == ("INVALID_ROLE", "role")
    assert "admin" in error.detail
    assert BrandMembership.objects.filter(brand=brand).count() == 1


@pytest.mark.parametrize(("who", "refusal"), [
    ("manager", NotAllowed), ("viewer", NotAllowed), ("stranger", NotFound), ("ops_user", NotAllowed),
])
def test_only_an_owner_adds_members(brand, owner, as_actor, request, who, refusal):
    # given
    user = request.getfixturevalue(who)

    # when / then
    with pytest.raises(refusal):
        services.membership_add(actor=as_actor(user), brand=brand, user=UserFactory(), role="viewer")
    assert not events(brand)


def test_an_owner_removes_a_member(brand, owner, manager, as_actor):
    # given
    membership_id = BrandMembership.objects.get(brand=brand, user=manager).pk

    # when
    services.membership_remove(actor=as_actor(owner), brand=brand, user=manager)

    # then
    assert not BrandMembership.objects.filter(brand=brand, user=manager).exists()
    [event] = events(brand, "membership.removed")
    assert event.object_id == str(membership_id)
    assert (event.before, event.after) == ({"user": "manny", "role": "manager"}, None)


def test_an_owner_may_leave_when_another_owner_remains(brand, owner, manager, as_actor):
    # given
    services.membership_add(actor=as_actor(owner), brand=brand, user=manager, role="owner")

    # when
    services.membership_remove(actor=as_actor(owner), brand=brand, user=owner)

    # then
    remaining = BrandMembership.objects.filter(brand=brand).values_list("user__username", "role")
    assert list(remaining) == [("manny", "owner")]


def test_the_last_owner_cannot_be_removed(brand, owner, manager, as_actor):
    # when
    with pytest.raises(Conflict) as refused:
        services.membership_remove(actor=as_actor(owner), brand=brand, user=owner)

    # then
    assert refused.value.code == "LAST_OWNER"
    assert BrandMembership.objects.filter(brand=brand, user=owner, role=Role.OWNER).exists()
    assert events(brand) == []


def test_the_last_owner_cannot_be_demoted(brand, owner, as_actor):
    # when
    with pytest.raises(Conflict) as refused:
        services.membership_add(actor=as_actor(owner), brand=brand, user=owner, role="manager")

    # then
    assert refused.value.code == "LAST_OWNER"
    assert BrandMembership.objects.get(brand=brand, user=owner).role == Role.OWNER


def test_removing_someone_who_is_not_a_member_is_not_found(brand, owner, stranger, as_actor):
    # when / then
    with pytest.raises(NotFound) as refused:
        services.membership_remove(actor=as_actor(owner), brand=brand, user=stranger)
    assert refused.value.errors[0].field == "user"


@pytest.mark.parametrize(("who", "refusal"), [("manager", NotAllowed), ("viewer", NotAllowed), ("stranger", NotFound)])
def test_only_an_owner_removes_members(brand, owner, viewer, as_actor, request, who, refusal):
    # given
    user = request.getfixturevalue(who)

    # when / then
    with pytest.raises(refusal):
        services.membership_remove(actor=as_actor(user), brand=brand, user=viewer)
    assert BrandMembership.objects.filter(brand=brand, user=viewer).exists()


def test_memberships_of_another_brand_are_untouched(brand, owner, as_actor):
    # given: olivia owns a second brand too
    other = BrandFactory()
    services.membership_add(actor=Actor.task("setup"), brand=other, user=owner, role="owner")

    # when
    services.membership_add(actor=as_actor(owner), brand=brand, user=UserFactory(), role="viewer")

    # then
    assert BrandMembership.objects.filter(brand=other).count() == 1
