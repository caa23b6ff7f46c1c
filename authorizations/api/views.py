"""Grants, requests, the check and the diagnosis (API.md "Grants", "Requests", "Check")."""
from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.api.serializers import AuditEventSerializer
from authorizations import selectors, services
from authorizations.amazon import amazon_restrictions
from authorizations.models import LIVE_STATUS_VALUES, Grant, GrantStatus
from authorizations.rules import Code
from authorizations.visibility import (
    brand_limits, check_scope, check_scope_many, grants_visible_to, requests_visible_to, scoped_check,
    sellers_visible_to,
)
from brands.models import Brand
from brands.selectors import MANAGING_ROLES, brands_visible_to, require_brand_role
from config.api_support import actor_of, get_visible, positive_int
from config.errors import ErrorItem, InvalidInput, NotFound, RuleViolation
from config.idempotency import idempotent
from config.rest import CheckRateThrottle, JSONOnlyNegotiation
from sellers.models import Marketplace, Seller
from sellers.services import clean_seller_id

from .serializers import (
    CheckBatchResultSerializer, CheckBatchSerializer, CheckResultSerializer, DiagnosisSerializer,
    GrantCreateResultSerializer, GrantCreateSerializer, GrantSerializer, ReasonSerializer,
    RequestApproveResultSerializer, RequestCreateSerializer, RequestSerializer, RevokeAllResultSerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, location=OpenApiParameter.HEADER, required=False,
    description="A retry with the same key and body returns the first answer instead of creating again.")
GRANT_RELATED = ("seller", "asin", "granted_by", "approved_by")


def _seller_or_not_connected(seller_id: str) -> Seller:
    seller = Seller.objects.select_related("home_marketplace").filter(seller_id=seller_id).first()
    if seller is None:
        raise RuleViolation(ErrorItem(code=Code.SELLER_NOT_CONNECTED.value, seller_id=seller_id,
                                      detail=gettext("Seller %(seller)s has not connected its Seller Central account.")
                                      % {"seller": seller_id}))
    return seller


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(filters.NumberFilter):
    """An integer within bounds, else 400 (never an overflow in the query, never 1.5 → 1)."""

    field_class = forms.IntegerField

    def get_max_validator(self):
        return None  # the field's own max_value bounds it


class IdFilter(IntegerFilter):
    """A database id."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class GrantFilterSet(filters.FilterSet):
    brand = IdFilter(field_name="brand_id")
    seller_id = filters.CharFilter(field_name="seller__seller_id")
    asin = filters.CharFilter(field_name="asin__asin")
    marketplace = filters.CharFilter(field_name="marketplace_id")
    status = filters.ChoiceFilter(choices=GrantStatus.choices, method="filter_status")
    expiring_within_days = IntegerFilter(method="filter_expiring", min_value=0, max_value=3650)

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
    lookup_value_regex = "[^/]+"  # any malformed id reaches get_object: a JSON 404, not the HTML one

    def get_queryset(self):
        return grants_visible_to(self.request.user).select_related(*GRANT_RELATED).order_by("-created_at", "-id")

    def get_object(self) -> Grant:
        return get_visible(self.get_queryset(), pk=positive_int(self.kwargs["pk"]))

    @extend_schema(request=GrantCreateSerializer, responses={201: GrantCreateResultSerializer},
                   parameters=[IDEMPOTENCY_HEADER])
    def create(self, request):
        return idempotent(request, lambda: self._create(request))

    def _create(self, request):
        data = GrantCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        brand = get_visible(brands_visible_to(request.user), pk=values["brand"])
        # Who may grant comes before anything about the seller (a viewer or ops learns nothing).
        require_brand_role(actor_of(request), brand, MANAGING_ROLES)
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
        seller = get_visible(sellers_visible_to(request.user), seller_id=seller_id)
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revoked = services.grants_revoke_all(actor=actor_of(request), brand=brand, seller=seller,
                                             reason=data.validated_data["reason"])
        return Response({"revoked": revoked})


class RequestFilterSet(filters.FilterSet):
    brand = IdFilter(field_name="brand_id")
    seller_id = filters.CharFilter(field_name="seller__seller_id")
    status = filters.ChoiceFilter(choices=[("PENDING", "PENDING"), ("APPROVED", "APPROVED"), ("REJECTED", "REJECTED")])

    class Meta:
        model = services.AuthorizationRequest
        fields = ["brand", "seller_id", "status"]


class RequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RequestSerializer
    filterset_class = RequestFilterSet
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return (requests_visible_to(self.request.user)
                .select_related("brand", "seller", "requested_by", "decided_by").order_by("-created_at", "-id"))

    def get_object(self):
        return get_visible(self.get_queryset(), pk=positive_int(self.kwargs["pk"]))

    @extend_schema(request=RequestCreateSerializer, responses={201: RequestSerializer},
                   parameters=[IDEMPOTENCY_HEADER])
    def create(self, request):
        return idempotent(request, lambda: self._create(request))

    def _create(self, request):
        data = RequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        brand = get_visible(Brand.objects.all(), pk=values["brand"])
        # A seller the caller can see but does not act for (ops, a brand owner) → 403 from the service.
        seller = get_visible(sellers_visible_to(request.user), seller_id=clean_seller_id(values["seller_id"]))
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


class _KnownMarketplaces:
    """The marketplace codes, kept in memory: they are added by data migrations and never
    removed (support is a flag), so the check need not read them on every call. A code not in
    the set re-reads it once before it is called unknown."""

    def __init__(self) -> None:
        self._codes: frozenset[str] = frozenset()

    @property
    def codes(self) -> frozenset[str]:
        """The codes read so far (a code not among them is not necessarily unknown)."""
        return self._codes

    def unknown(self, codes: set[str]) -> set[str]:
        missing = codes - self._codes
        if missing:
            self._codes = frozenset(Marketplace.objects.values_list("code", flat=True))
            missing = codes - self._codes
        return missing


KNOWN_MARKETPLACES = _KnownMarketplaces()


def _normal_marketplace(value: object) -> object:
    code = value.strip().upper() if isinstance(value, str) else value
    return "UK" if code == "GB" else code  # Amazon's country code for our UK


_CLEAN_SELLER_ID = re.compile(r"[A-Z0-9]{10,20}")
_CLEAN_ASIN = re.compile(r"[A-Z0-9]{10}")


def _clean_triplets(raw: list[tuple[object, object, object]], *, prefixes: list[str]) -> list[tuple[str, str, str]]:
    """Validate (seller_id, asin, marketplace) triplets; every malformed value is reported with
    its field (``items[3].asin`` in a batch). At most one query, whatever the number."""
    errors: list[ErrorItem] = []
    cleaned: list[tuple[str, str, str] | None] = []
    known = KNOWN_MARKETPLACES.codes
    for (seller_id, asin, marketplace), prefix in zip(raw, prefixes):
        # Already clean (the usual case): taken as is, as the checks below would leave it.
        if (type(seller_id) is str and type(asin) is str and type(marketplace) is str and marketplace in known
                and _CLEAN_SELLER_ID.fullmatch(seller_id) and _CLEAN_ASIN.fullmatch(asin)):
            cleaned.append((seller_id, asin, marketplace))
            continue
        values: dict[str, str] = {}
        for name, value in (("seller_id", seller_id), ("asin", asin), ("marketplace", marketplace)):
            if value is None or (isinstance(value, str) and not value.strip()):
                errors.append(ErrorItem(code="REQUIRED", field=f"{prefix}{name}", detail=f"{name} is required."))
                continue
            try:
                if name == "seller_id":
                    values[name] = clean_seller_id(value, field_name=f"{prefix}seller_id")
                elif name == "asin":
                    values[name] = services.clean_asin_codes([value], field_name=f"{prefix}asin")[0]
                else:
                    code = _normal_marketplace(value)
                    if not isinstance(code, str) or not code.isascii() or not code.isalpha() or len(code) != 2:
                        raise InvalidInput(ErrorItem(code="INVALID_MARKETPLACE", field=f"{prefix}marketplace",
                                                     marketplace=str(value)[:20],
                                                     detail=f"“{str(value)[:20]}” is not a marketplace code."))
                    values[name] = code
            except InvalidInput as exc:
                errors += exc.errors
        cleaned.append((values["seller_id"], values["asin"], values["marketplace"]) if len(values) == 3 else None)
    candidates = {item[2] for item in cleaned if item is not None}
    unknown = KNOWN_MARKETPLACES.unknown(candidates) if candidates else set()
    for index, item in enumerate(cleaned):
        if item is not None and item[2] in unknown:
            errors.append(ErrorItem(code="INVALID_MARKETPLACE", field=f"{prefixes[index]}marketplace", marketplace=item[2],
                                    detail=f"“{item[2]}” is not a marketplace code."))
    if errors:
        raise InvalidInput(errors)
    return cleaned  # type: ignore[return-value]


def _clean_query_triplet(params) -> tuple[str, str, str]:
    [item] = _clean_triplets([(params.get("seller_id"), params.get("asin"), params.get("marketplace"))], prefixes=[""])
    return item


CHECK_PARAMS = [OpenApiParameter("seller_id", str, required=True), OpenApiParameter("asin", str, required=True),
                OpenApiParameter("marketplace", str, required=True)]


class CheckView(APIView):
    """The hot path: with a token, two queries (the token; the caller's scope with the grant),
    each a prepared statement on PostgreSQL."""

    throttle_classes = [CheckRateThrottle]
    content_negotiation_class = JSONOnlyNegotiation

    @extend_schema(parameters=CHECK_PARAMS, responses={200: CheckResultSerializer})
    def get(self, request):
        seller_id, asin, marketplace = _clean_query_triplet(request.query_params)
        result = scoped_check(request.user, seller_id=seller_id, asin=asin, marketplace=marketplace)
        if result is None:
            raise NotFound("Not found.", code="NOT_FOUND")
        return Response(result.as_dict())


def _batch_items(data: object) -> tuple[list[tuple[object, object, object]], list[str]]:
    """The raw (seller_id, asin, marketplace) of each item, and its field prefix (``items[3].``),
    for :func:`_clean_triplets` to judge; a body of the wrong shape is 400 here."""
    if not isinstance(data, dict):
        raise InvalidInput("A JSON object {\"items\": [...]} is expected.", code="INVALID")
    items = data.get("items")
    if items is None:
        raise InvalidInput("items is required.", code="REQUIRED", field="items")
    if not isinstance(items, list):
        raise InvalidInput("items must be a list.", code="INVALID", field="items")
    if not items:
        raise InvalidInput("At least one item is required.", code="REQUIRED", field="items")
    if len(items) > settings.MAX_CHECK_BATCH:
        raise InvalidInput(f"A batch check has at most {settings.MAX_CHECK_BATCH} items.", code="TOO_MANY_ITEMS",
                           field="items")
    not_objects = [ErrorItem(code="INVALID", field=f"items[{n}]", detail="Each item is an object "
                             "{seller_id, asin, marketplace}.") for n, i in enumerate(items) if not isinstance(i, dict)]
    if not_objects:
        raise InvalidInput(not_objects)
    return ([(i.get("seller_id"), i.get("asin"), i.get("marketplace")) for i in items],
            [f"items[{n}]." for n in range(len(items))])


class CheckBatchView(APIView):
    """A constant number of queries whatever the number of items (at most six)."""

    throttle_classes = [CheckRateThrottle]

    @extend_schema(request=CheckBatchSerializer, responses={200: CheckBatchResultSerializer})
    def post(self, request):
        raw, prefixes = _batch_items(request.data)
        items = _clean_triplets(raw, prefixes=prefixes)
        scope = check_scope_many(request.user, seller_ids={s for s, _a, _m in items}, asins={a for _s, a, _m in items})
        allowed = [item for item in items if scope.allows(item[0], item[1])]
        results = selectors.check_batch(allowed, brand_ids=brand_limits(allowed, scope, request.user))
        by_item = dict(zip(allowed, results))
        return Response({"results": [
            by_item[item].as_dict() if item in by_item else {**selectors.NOT_AUTHORIZED.as_dict(), "error": "NOT_FOUND"}
            for item in items
        ]})


class DiagnoseView(APIView):
    @extend_schema(parameters=CHECK_PARAMS, responses={200: DiagnosisSerializer})
    def get(self, request):
        seller_id, asin, marketplace = _clean_query_triplet(request.query_params)
        user = request.user
        scope = check_scope(user, seller_id=seller_id, asin=asin)
        if not scope.allows(seller_id, asin):
            raise NotFound("Not found.", code="NOT_FOUND")
        partner = scope.as_partner(seller_id)
        brands = None if partner else list(brands_visible_to(user).filter(asins__asin=asin))
        seller = get_visible(Seller.objects.all(), seller_id=seller_id)
        # A brand member (not the seller's partner) sees their own brands' grants and history only.
        diagnosis = selectors.diagnose(seller=seller, asin=asin, marketplace=marketplace, brands=brands)
        current, history, authorized, checks = diagnosis.grant, diagnosis.history, diagnosis.authorized, diagnosis.checks
        grant = None
        if current is not None:
            grant = GrantSerializer(Grant.objects.select_related(*GRANT_RELATED).get(pk=current.pk)).data
        return Response({
            "authorized": authorized,
            "checks": checks,
            "grant": grant,
            "history": AuditEventSerializer(history, many=True).data,
            # Amazon's own listing restrictions, once a listings-restrictions sync has read them.
            "amazon": amazon_restrictions(seller, asin, marketplace),
        })
