"""Brands, members and the ASIN catalog (API.md "Brands and ASINs")."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from brands import import_jobs, services
from brands.models import Asin, Brand
from brands.selectors import asins_with_usage, brands_visible_to, brands_with_usage, is_ops
from config.api_support import actor_of, get_visible, positive_int, query_text
from config.errors import InvalidInput, NotAllowed
from config.parsers import CSVTextParser
from sellers.models import Seller
from spapi_client.api import JobAcceptedSerializer

from .serializers import (
    AsinSerializer, BrandCreateSerializer, BrandSerializer, BrandUpdateSerializer, ImportResultSerializer,
    MemberSerializer,
)


class BrandViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = BrandSerializer
    lookup_value_regex = r"[^/]+"

    def get_queryset(self):
        return brands_with_usage(brands_visible_to(self.request.user)).order_by("name", "id")

    def get_object(self) -> Brand:
        return get_visible(self.get_queryset(), pk=positive_int(self.kwargs["pk"]))

    def _fresh(self, brand: Brand) -> dict:
        return BrandSerializer(brands_with_usage(Brand.objects.filter(pk=brand.pk)).get()).data

    @extend_schema(request=BrandCreateSerializer, responses={201: BrandSerializer})
    def create(self, request):
        if is_ops(request.user):
            # Ops staff are read-only (DOMAIN.md); brand_create itself does not refuse them.
            raise NotAllowed("Ops staff have read-only access to brands.")
        data = BrandCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        brand = services.brand_create(actor=actor_of(request), **data.validated_data)
        return Response(self._fresh(brand), status=status.HTTP_201_CREATED)

    @extend_schema(request=BrandUpdateSerializer, responses={200: BrandSerializer})
    def partial_update(self, request, pk=None):
        brand = self.get_object()
        data = BrandUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        actor = actor_of(request)
        with transaction.atomic():  # one change: registry status and settings together, or neither
            brand = self._apply_update(actor, brand, values)
        return Response(self._fresh(brand))

    def _apply_update(self, actor, brand: Brand, values: dict) -> Brand:
        registry_status = values.pop("registry_status", None)
        if registry_status is not None:
            brand = services.brand_set_registry_status(actor=actor, brand=brand, registry_status=registry_status)
        if "spapi_account" in values and values["spapi_account"] is not None:
            seller = Seller.objects.filter(seller_id=values["spapi_account"]).first()
            if seller is None:
                # The same words as brand_update's for a seller that exists but is not eligible:
                # the answer must not tell whether some seller id exists.
                raise InvalidInput(f"Seller {values['spapi_account']} is not an account a member of this brand "
                                   "has connected.", code="INVALID_SPAPI_ACCOUNT", field="spapi_account",
                                   seller_id=values["spapi_account"])
            values["spapi_account"] = seller
        if values or registry_status is None:
            # Also for an empty body: brand_update checks the caller's authority even when
            # nothing changes, so a viewer's (or a stranger's) empty PATCH is refused, not a 200.
            brand = services.brand_update(actor=actor, brand=brand, **values)
        return brand

    @extend_schema(request=MemberSerializer, responses={201: MemberSerializer})
    @action(detail=True, methods=["post"], url_path="members")
    def members(self, request, pk=None):
        brand = self.get_object()
        data = MemberSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = get_user_model().objects.filter(username=data.validated_data["username"]).first()
        if user is None:
            raise InvalidInput(f"No user named “{data.validated_data['username']}”.", code="UNKNOWN_USER",
                               field="username")
        membership = services.membership_add(actor=actor_of(request), brand=brand, user=user,
                                             role=data.validated_data["role"])
        return Response({"username": user.get_username(), "role": membership.role}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<username>[^/]+)")
    def member_remove(self, request, pk=None, username=None):
        brand = self.get_object()
        user = get_visible(get_user_model().objects.filter(brand_memberships__brand=brand), username=username)
        services.membership_remove(actor=actor_of(request), brand=brand, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"], responses={200: AsinSerializer(many=True)},
        parameters=[OpenApiParameter("q", str, description="ASIN or title contains"),
                    OpenApiParameter("marketplace", str), OpenApiParameter("verified", bool),
                    OpenApiParameter("at_limit", bool)],
    )
    @extend_schema(methods=["POST"], request={"application/json": {"type": "array", "items": {"type": "object"}},
                                              "text/csv": {"type": "string"}},
                   parameters=[OpenApiParameter("partial", bool)],
                   responses={201: ImportResultSerializer, 202: JobAcceptedSerializer},
                   description="CSV of more than 1,000 lines: 202 with a job id (GET /api/v1/jobs/{job_id}); "
                               "the job's result is the 201 body.")
    @action(detail=True, methods=["get", "post"], url_path="asins",
            parser_classes=[JSONParser, CSVTextParser], serializer_class=AsinSerializer)
    def asins(self, request, pk=None):
        brand = self.get_object()
        if request.method == "POST":
            return self._import(request, brand)
        queryset = asins_with_usage(Asin.objects.filter(brand=brand)).order_by("asin")
        q = query_text(request, "q")
        if q:
            queryset = queryset.filter(Q(asin__icontains=q) | Q(title__icontains=q))
        marketplace = query_text(request, "marketplace").upper()
        if marketplace:
            queryset = queryset.filter(presences__marketplace_id=marketplace)
        verified = request.query_params.get("verified", "").lower()
        if verified in {"true", "false"}:
            has_verified = Q(presences__status="VERIFIED")
            queryset = queryset.filter(has_verified) if verified == "true" else queryset.exclude(has_verified)
        if request.query_params.get("at_limit", "").lower() == "true":
            queryset = queryset.filter(sellers_used__gte=settings.MAX_SELLERS_PER_ASIN)
        page = self.paginate_queryset(queryset.distinct())
        return self.get_paginated_response(AsinSerializer(page, many=True).data)

    def _import(self, request, brand: Brand) -> Response:
        partial = request.query_params.get("partial", "").lower() in {"1", "true", "yes"}
        actor = actor_of(request)
        data = request.data
        if (request.content_type or "").split(";")[0].strip().lower() == CSVTextParser.media_type:
            # An empty body never reaches the parser: DRF hands over {} instead of "".
            csv_text = data if isinstance(data, str) else ""
            if import_jobs.import_line_count(csv_text) > import_jobs.ASYNC_IMPORT_LINES:
                # A large file is a background job, as on the web page: the worker reads it in
                # one transaction while the caller polls GET /api/v1/jobs/{job_id}.
                run = import_jobs.import_job_start(actor=actor, brand=brand, csv_text=csv_text, partial=partial,
                                                   source_name="API")
                return Response({"job_id": str(run.pk)}, status=status.HTTP_202_ACCEPTED)
            result = services.asins_import(actor=actor, brand=brand, csv_text=csv_text, partial=partial)
        else:
            if data is None:  # a JSON null: asins_import would take it for "no items argument" (a 500)
                raise InvalidInput("A list of items is expected, not null.", code="INVALID_JSON")
            result = services.asins_import(actor=actor, brand=brand, items=data, partial=partial)
        body = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
                "errors": [e.as_dict() for e in result.errors]}
        return Response(body, status=status.HTTP_201_CREATED)
