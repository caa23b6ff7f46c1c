"""Who may do what on a brand, and what a user may see."""
from __future__ import annotations

from django.db.models import QuerySet

from config.errors import NotAllowed, NotFound
from sellers.models import Seller

from .models import Brand, BrandMembership, Role

MANAGING_ROLES = (Role.OWNER, Role.MANAGER)


def is_ops(user) -> bool:
    """Platform operators: staff, or members of the ``ops`` group (read-only everywhere)."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return user.groups.filter(name="ops").exists()


def role_of(user, brand: Brand) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return (
        BrandMembership.objects.filter(brand=brand, user=user).values_list("role", flat=True).first()
    )


def brands_visible_to(user) -> QuerySet[Brand]:
    if is_ops(user):
        return Brand.objects.all()
    if user is None or not user.is_authenticated:
        return Brand.objects.none()
    return Brand.objects.filter(memberships__user=user)


def require_brand_role(actor, brand: Brand, roles=MANAGING_ROLES) -> str | None:
    """Raise unless the actor holds one of ``roles`` on the brand. System actors (tasks,
    commands without a user) pass. A user with no membership at all gets NotFound: the brand
    is invisible to them."""
    if actor.is_system:
        return None
    role = role_of(actor.user, brand)
    if role is None:
        if is_ops(actor.user):
            raise NotAllowed("Ops staff have read-only access to brands.")
        raise NotFound("Brand not found.", code="NOT_FOUND")
    if role not in roles:
        raise NotAllowed(f"Your role on this brand ({role}) does not allow this.")
    return role


def spapi_account_choices(brand: Brand) -> QuerySet[Seller]:
    """The seller accounts a brand may name as its SP-API account: those a member of the brand
    is linked to (has connected through SP-API)."""
    return Seller.objects.filter(memberships__user__brand_memberships__brand=brand).distinct()
