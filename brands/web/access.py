"""Who the signed-in user is on a brand page: the brand (404 unless visible to them) and their
role on it, looked up once per request and shared with the brand sub-navigation.

Deny by default: a brand the user is neither a member of nor, as ops staff, allowed to read is
"not found". What the page offers follows the role (buttons for owners and managers, the
settings form for owners); the services refuse writes on their own, whatever a page shows.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.shortcuts import get_object_or_404

from brands.models import Brand, Role
from brands.selectors import brands_visible_to, is_ops_request, role_of


@dataclass(frozen=True)
class BrandAccess:
    role: str | None  # owner, manager, viewer; None for ops staff who are not members
    is_ops: bool

    @property
    def can_manage(self) -> bool:
        """Owners and managers: import ASINs, grant, approve, sync."""
        return self.role in (Role.OWNER, Role.MANAGER)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    @property
    def read_only(self) -> bool:
        return not self.can_manage

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role else ""


def brand_access(request, brand: Brand) -> BrandAccess:
    """The user's access to ``brand`` (which they can see), cached on the request."""
    cache = request.__dict__.setdefault("_brand_access", {})
    if brand.pk not in cache:
        role = role_of(request.user, brand)
        cache[brand.pk] = BrandAccess(role=role, is_ops=role is None and is_ops_request(request))
    return cache[brand.pk]


def brand_for(request, brand_id: int, queryset=None) -> tuple[Brand, BrandAccess]:
    """The brand the page is about and the user's access to it; 404 if they cannot see it."""
    if queryset is None:
        queryset = brands_visible_to(request.user, ops=is_ops_request(request))
    brand = get_object_or_404(queryset, pk=brand_id)
    access = brand_access(request, brand)
    if access.role is None and not access.is_ops:  # visible only through a membership that just went
        from django.http import Http404

        raise Http404
    return brand, access
