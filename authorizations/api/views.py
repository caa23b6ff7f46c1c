"""Grants, requests, the check and the diagnosis (API.md "Grants", "Requests", "Check")."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.api.serializers import AuditEventSerializer
from authorizations import selectors, services
from authorizations.models import LIVE_STATUS_VALUES, Grant, GrantStatus
from authorizations.rules import Code
from authorizations.visibility import can_check, grants_visible_to, requests_visible_to
from brands.models import Brand
from brands.selectors import brands_visible_to, is_ops
from config.api_support import actor_of, get_visible, positive_int
from config.errors import ErrorItem, InvalidInput, NotFound, RuleViolation
from config.rest import CheckRateThrottle
from sellers.models import Seller
from sellers.services import clean_seller_id

from .serializers import (
    CheckBatchResultSerializer, CheckBatchSerializer, CheckResultSerializer, DiagnosisSerializer,
    GrantCreateResultSerializer, GrantCreateSerializer, GrantSerializer, ReasonSerializer,
    RequestApproveResultSerializer, RequestCreateSerializer, RequestSerializer, RevokeAllResultSerializer,
)

GRANT_RELATED = ("seller", "asin", "granted_by", "approved_by")


def _seller_or_not_connected(seller_id: str) -> Seller:
    seller = Seller.objects.select_related("home_marketplace").filter(seller_id=seller_id).first()
    if seller is None:
        raise RuleViolation(ErrorItem(code=Code.SELLER_NOT_CONNECTED.value, seller_id=seller_id,
                                      detail=f"Seller {seller_id} has not connected its Seller Central account."))
    return seller


class GrantFilterSet(filters.FilterSet):
    brand = filters.NumberFilter(field_name="brand_id")
    seller_id = filters.CharFilter(field_name="seller__seller_id")
    asin = filters.CharFilter(field_name="asin__asin")
    marketplace = filters.CharFilter(field_name="marketplace_id")
    status = filters.ChoiceFilter(choices=GrantStatus.choices, method="filter_status")
    expiring_within_days = filters.NumberFilter(method="filter_expiring", min_value=0, max_value=3650)

    class Meta:
        model = Grant
        fields = ["brand", "seller_id", "asin", "marketplace", "status", "expiring_within_days"]

    def filter_status(self, queryset, name, value):
        """By the status a user sees: a live grant past its term is EXPIRED."""
        now = timezone.now()
        in_term = Q(valid_until__isnull=True) | Q(valid_until__gt=now)
        if value == GrantStatus.EXPIRED:
            return queryset.filter(Q(status=value) | Q(status__in=LIVE_STATUS_VALUES, valid_until__lte=now))
        if value in LIVE_STATUS_VALUES:
            return queryset.filter(in_term, status=value)
        return queryset.filter(status=value)

    def filter_expiring(self, queryset, name, value):
        now = timezone.now()
        return queryset.filter(status=GrantStatus.ACTIVE, valid_until__gt=now,
                               valid_until__lte=now + dt.timedelta(days=int(value)))


class GrantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = GrantSerializer
    filterset_class = GrantFilterSet

    def get_queryset(self):
        return grants_visible_to(self.request.user).select_related(*GRANT_RELATED).order_by("-created_at", "-id")

    def get_object(self) -> Grant:
        return get_visible(self.get_queryset(), pk=positive_int(self.kwargs["pk"]))

    @extend_schema(request=GrantCreateSerializer, responses={201: GrantCreateResultSerializer})
    def create(self, request):
        data = GrantCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        brand = get_visible(brands_visible_to(request.user), pk=values["brand"])
        seller = _seller_or_not_connected(clean_seller_id(values["seller_id"]))
        result = services.grants_create(
            actor=actor_of(request), brand=brand, seller=seller, asins=values["asins"],
            marketplaces=values.get("marketplaces") or None, valid_from=values.get("valid_from"),
            valid_until=values.get("valid_until"), reason=values.get("reason", ""), partial=values["partial"],
        )
        created = Grant.objects.filter(pk__in=[g.pk for g in result.created]).select_related(*GRANT_RELATED).order_by("pk")
        body = {
            "created": GrantSerializer(created, many=True).data,
            "skipped": [{"asin": s.asin, "marketplace": s.marketplace, "code": s.code} for s in result.skipped],
            "failed": [f.as_dict() for f in result.failures],
        }
        return Response(body, status=status.HTTP_201_CREATED)

    def _transition(self, request, service):
        grant = self.get_object()
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = service(actor=actor_of(request), grant=grant, reason=data.validated_data["reason"])
        return Response(GrantSerializer(self.get_queryset().get(pk=grant.pk)).data)

    @extend_schema(request=ReasonSerializer, responses={200: GrantSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._transition(request, services.grant_approve)

    @extend_schema(request=ReasonSerializer, responses={200: GrantSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._transition(request, services.grant_reject)

    @extend_schema(request=ReasonSerializer, responses={200: GrantSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        return self._transition(request, services.grant_revoke)

    @extend_schema(request=ReasonSerializer, responses={200: GrantSerializer})
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        return self._transition(request, services.grant_suspend)

    @extend_schema(request=ReasonSerializer, responses={200: GrantSerializer})
    @action(detail=True, methods=["post"])
    def reinstate(self, request, pk=None):
        return self._transition(request, services.grant_reinstate)


class RevokeAllView(APIView):
    @extend_schema(request=ReasonSerializer, responses={200: RevokeAllResultSerializer})
    def post(self, request, brand_id: str, seller_id: str):
        brand = get_visible(brands_visible_to(request.user), pk=positive_int(brand_id))
        seller = get_visible(Seller.objects.all(), seller_id=seller_id)
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revoked = services.grants_revoke_all(actor=actor_of(request), brand=brand, seller=seller,
                                             reason=data.validated_data["reason"])
        return Response({"revoked": revoked})


class RequestFilterSet(filters.FilterSet):
    brand = filters.NumberFilter(field_name="brand_id")
    seller_id = filters.CharFilter(field_name="seller__seller_id")
    status = filters.ChoiceFilter(choices=[("PENDING", "PENDING"), ("APPROVED", "APPROVED"), ("REJECTED", "REJECTED")])

    class Meta:
        model = services.AuthorizationRequest
        fields = ["brand", "seller_id", "status"]


class RequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RequestSerializer
    filterset_class = RequestFilterSet

    def get_queryset(self):
        return (requests_visible_to(self.request.user)
                .select_related("brand", "seller", "requested_by", "decided_by").order_by("-created_at", "-id"))

    def get_object(self):
        return get_visible(self.get_queryset(), pk=positive_int(self.kwargs["pk"]))

    @extend_schema(request=RequestCreateSerializer, responses={201: RequestSerializer})
    def create(self, request):
        data = RequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        brand = get_visible(Brand.objects.all(), pk=values["brand"])
        seller = get_visible(Seller.objects.filter(memberships__user=request.user),
                             seller_id=clean_seller_id(values["seller_id"]))
        req = services.request_create(actor=actor_of(request), brand=brand, seller=seller, asins=values["asins"],
                                      marketplaces=values.get("marketplaces") or None, message=values["message"])
        return Response(RequestSerializer(self.get_queryset().get(pk=req.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses={200: RequestApproveResultSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        req = self.get_object()
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        req, created = services.request_approve(actor=actor_of(request), request=req,
                                                reason=data.validated_data["reason"])
        grants = Grant.objects.filter(pk__in=[g.pk for g in created]).select_related(*GRANT_RELATED).order_by("pk")
        return Response({"request": RequestSerializer(self.get_queryset().get(pk=req.pk)).data,
                         "created": GrantSerializer(grants, many=True).data})

    @extend_schema(request=ReasonSerializer, responses={200: RequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        req = self.get_object()
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        req = services.request_reject(actor=actor_of(request), request=req, reason=data.validated_data["reason"])
        return Response(RequestSerializer(self.get_queryset().get(pk=req.pk)).data)


def _clean_triplet(seller_id: object, asin: object, marketplace: object, *, prefix: str = "") -> tuple[str, str, str]:
    errors: list[ErrorItem] = []
    results = []
    for name, value, cleaner in (
        ("seller_id", seller_id, lambda v: clean_seller_id(v, field_name=f"{prefix}seller_id")),
        ("asin", asin, lambda v: services.clean_asin_codes([v], field_name=f"{prefix}asin")[0]),
        ("marketplace", marketplace, lambda v: services.clean_marketplace_codes([v], field_name=f"{prefix}marketplace")[0]),
    ):
        if value in (None, ""):
            errors.append(ErrorItem(code="REQUIRED", field=f"{prefix}{name}", detail=f"{name} is required."))
            continue
        try:
            results.append(cleaner(value))
        except InvalidInput as exc:
            errors += exc.errors
    if errors:
        raise InvalidInput(errors)
    return results[0], results[1], results[2]


CHECK_PARAMS = [OpenApiParameter("seller_id", str, required=True), OpenApiParameter("asin", str, required=True),
                OpenApiParameter("marketplace", str, required=True)]


class CheckView(APIView):
    throttle_classes = [CheckRateThrottle]

    @extend_schema(parameters=CHECK_PARAMS, responses={200: CheckResultSerializer})
    def get(self, request):
        params = request.query_params
        seller_id, asin, marketplace = _clean_triplet(params.get("seller_id"), params.get("asin"), params.get("marketplace"))
        if not can_check(request.user, seller_id=seller_id, asin=asin):
            raise NotFound("Not found.", code="NOT_FOUND")
        return Response(selectors.check(seller_id=seller_id, asin=asin, marketplace=marketplace).as_dict())


class CheckBatchView(APIView):
    throttle_classes = [CheckRateThrottle]

    @extend_schema(request=CheckBatchSerializer, responses={200: CheckBatchResultSerializer})
    def post(self, request):
        if isinstance(request.data, dict) and isinstance(request.data.get("items"), list) \
                and len(request.data["items"]) > settings.MAX_CHECK_BATCH:
            raise InvalidInput(f"A batch check has at most {settings.MAX_CHECK_BATCH} items.", code="TOO_MANY_ITEMS",
                               field="items")
        data = CheckBatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        items = [
            _clean_triplet(i["seller_id"], i["asin"], i["marketplace"], prefix=f"items[{n}].")
            for n, i in enumerate(data.validated_data["items"])
        ]
        allowed = _check_scope(request.user, items)
        results = selectors.check_batch([item for item in items if item in allowed])
        by_item = dict(zip([item for item in items if item in allowed], results))
        return Response({"results": [
            by_item[item].as_dict() if item in by_item else {**selectors.NOT_AUTHORIZED.as_dict(), "error": "NOT_FOUND"}
            for item in items
        ]})


def _check_scope(user, items: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Which items the user may ask about, in a constant number of queries."""
    if is_ops(user):
        return set(items)
    own_sellers = set(Seller.objects.filter(memberships__user=user).values_list("seller_id", flat=True))
    brand_asins = set(
        brands_visible_to(user).filter(asins__asin__in={a for _s, a, _m in items}).values_list("asins__asin", flat=True)
    )
    return {item for item in items if item[0] in own_sellers or item[1] in brand_asins}


class DiagnoseView(APIView):
    @extend_schema(parameters=CHECK_PARAMS, responses={200: DiagnosisSerializer})
    def get(self, request):
        params = request.query_params
        seller_id, asin, marketplace = _clean_triplet(params.get("seller_id"), params.get("asin"), params.get("marketplace"))
        user = request.user
        partner = is_ops(user) or Seller.objects.filter(seller_id=seller_id, memberships__user=user).exists()
        brands = None if partner else list(brands_visible_to(user).filter(asins__asin=asin))
        if not partner and not brands:
            raise NotFound("Not found.", code="NOT_FOUND")
        seller = get_visible(Seller.objects.all(), seller_id=seller_id)
        diagnosis = selectors.diagnose(seller=seller, asin=asin, marketplace=marketplace, brands=brands)
        grant = None
        if diagnosis.grant is not None:
            grant = GrantSerializer(Grant.objects.select_related(*GRANT_RELATED).get(pk=diagnosis.grant.pk)).data
        return Response({
            "authorized": diagnosis.authorized,
            "checks": diagnosis.checks,
            "grant": grant,
            "history": AuditEventSerializer(diagnosis.history, many=True).data,
            # Amazon's own listing restrictions, once a listings-restrictions sync has read them.
            "amazon": None,
        })
