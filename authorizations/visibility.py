"""Deny by default: every API and page query starts from what the user may see.

Brand members see their brands' grants, requests, sellers holding grants there, and audit
trail; partners see their own sellers' grants and requests; ops see everything (read-only).
Anything else is invisible (404, never 403)."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from audit.models import AuditEvent
from brands.models import Brand
from brands.selectors import brands_visible_to, is_ops
from sellers.models import Seller

from .models import AuthorizationRequest, Grant


def _member_brand_ids(user) -> QuerySet:
    return Brand.objects.filter(memberships__user=user).values("id")


def _partner_seller_ids(user) -> QuerySet:
    return Seller.objects.filter(memberships__user=user).values("id")


def sellers_visible_to(user) -> QuerySet[Seller]:
    if is_ops(user):
        return Seller.objects.all()
    if user is None or not user.is_authenticated:
        return Seller.objects.none()
    holding = Grant.objects.filter(brand_id__in=_member_brand_ids(user)).values("seller_id")
    return Seller.objects.filter(Q(memberships__user=user) | Q(id__in=holding)).distinct()


def grants_visible_to(user) -> QuerySet[Grant]:
    if is_ops(user):
        return Grant.objects.all()
    if user is None or not user.is_authenticated:
        return Grant.objects.none()
    return Grant.objects.filter(Q(brand_id__in=_member_brand_ids(user)) | Q(seller_id__in=_partner_seller_ids(user)))


def requests_visible_to(user) -> QuerySet[AuthorizationRequest]:
    if is_ops(user):
        return AuthorizationRequest.objects.all()
    if user is None or not user.is_authenticated:
        return AuthorizationRequest.objects.none()
    return AuthorizationRequest.objects.filter(
        Q(brand_id__in=_member_brand_ids(user)) | Q(seller_id__in=_partner_seller_ids(user))
    )


def audit_events_visible_to(user) -> QuerySet[AuditEvent]:
    """Ops: every event. Brand members: their brands' events. Partners: none."""
    if is_ops(user):
        return AuditEvent.objects.all()
    if user is None or not user.is_authenticated:
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(brand_id__in=list(Brand.objects.filter(memberships__user=user).values_list("id", flat=True)))


def can_check(user, *, seller_id: str, asin: str) -> bool:
    """The check: anyone linked to the seller, any member of the ASIN's brand, ops."""
    if is_ops(user):
        return True
    if Seller.objects.filter(seller_id=seller_id, memberships__user=user).exists():
        return True
    return brands_visible_to(user).filter(asins__asin=asin).exists()
