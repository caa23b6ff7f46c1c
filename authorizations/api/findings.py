"""``GET /api/v1/brands/{id}/findings`` (API.md "Unauthorized offers"): who was seen offering the
brand's ASINs without an active grant. ``?format=csv`` streams the evidence list a brand files
with Amazon ("Unauthorized Seller Issue"), in constant memory, with the brand's name on each row."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.renderers import JSONRenderer

from authorizations.models import FindingResolution, UnauthorizedOffer
from brands.models import ASIN_REGEX, Brand
from brands.selectors import brands_visible_to
from config.api_support import get_visible, positive_int, query_text
from config.csvstream import CSVRenderer, csv_response
from config.errors import InvalidInput
from sellers.models import SELLER_ID_REGEX, Marketplace

CSV_COLUMNS = ["asin", "marketplace", "seller_id", "seller_name", "price", "currency", "is_buy_box_winner",
               "first_seen_at", "last_seen_at", "resolved_at", "brand"]
_CSV_FIELDS = ("asin__asin", "marketplace_id", "offering_seller_id", "seller_name", "price", "currency",
               "is_buy_box_winner", "first_seen_at", "last_seen_at", "resolved_at")


class FindingSerializer(serializers.ModelSerializer):
    asin = serializers.CharField(source="asin.asin", read_only=True)
    marketplace = serializers.CharField(source="marketplace_id", read_only=True, help_text="Marketplace code")
    seller_id = serializers.CharField(source="offering_seller_id", read_only=True,
                                      help_text="Amazon's seller id of the offer")
    seller_name = serializers.CharField(read_only=True, help_text="The seller's name when it is a seller we know")
    resolution = serializers.SerializerMethodField(help_text="How it was resolved; null while open")

    class Meta:
        model = UnauthorizedOffer
        fields = ["id", "asin", "marketplace", "seller_id", "seller_name", "price", "currency", "is_buy_box_winner",
                  "first_seen_at", "last_seen_at", "resolved_at", "resolution"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=FindingResolution.choices, allow_null=True))
    def get_resolution(self, finding: UnauthorizedOffer) -> str | None:
        return finding.resolution or None


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _csv_rows(rows: Iterable[tuple], brand_name: str) -> Iterator[list[Any]]:
    for asin, market, seller_id, seller_name, price, currency, buy_box, first, last, resolved in rows:
        yield [asin, market, seller_id, seller_name, price, currency, "true" if buy_box else "false",
               _iso(first), _iso(last), _iso(resolved), brand_name]


class BrandFindingsView(generics.ListAPIView):
    serializer_class = FindingSerializer
    renderer_classes = [JSONRenderer, CSVRenderer]
    filter_backends: list = []  # the filters below are validated by hand (stable error codes)

    def get_brand(self) -> Brand:
        if not hasattr(self, "_brand"):
            self._brand = get_visible(brands_visible_to(self.request.user), pk=positive_int(self.kwargs["brand_id"]))
        return self._brand

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return UnauthorizedOffer.objects.none()
        request = self.request
        queryset = UnauthorizedOffer.objects.filter(brand=self.get_brand())
        marketplace = query_text(request, "marketplace").upper()
        if marketplace:
            if not Marketplace.objects.filter(code=marketplace).exists():
                raise InvalidInput(f"“{marketplace[:10]}” is not a marketplace code.", code="INVALID_MARKETPLACE",
                                   field="marketplace", marketplace=marketplace[:10])
            queryset = queryset.filter(marketplace_id=marketplace)
        asin = query_text(request, "asin").upper()
        if asin:
            if not re.fullmatch(ASIN_REGEX.strip("^$"), asin):
                raise InvalidInput(f"“{asin[:40]}” is not an ASIN (10 letters or digits).", code="INVALID_ASIN",
                                   field="asin", asin=asin[:40])
            queryset = queryset.filter(asin__asin=asin)
        seller_id = query_text(request, "seller_id").upper()
        if seller_id:
            if not re.fullmatch(SELLER_ID_REGEX.strip("^$"), seller_id):
                raise InvalidInput(f"“{seller_id[:40]}” is not a seller id.", code="INVALID_SELLER_ID",
                                   field="seller_id", seller_id=seller_id[:40])
            queryset = queryset.filter(offering_seller_id=seller_id)
        resolved = query_text(request, "resolved").lower()
        if resolved:
            if resolved not in {"true", "false"}:
                raise InvalidInput(f"resolved must be true or false, not “{resolved[:20]}”.", field="resolved")
            queryset = queryset.filter(resolved_at__isnull=resolved == "false")
        return queryset.order_by("-last_seen_at", "-id")

    @extend_schema(
        summary="Unauthorized-offer findings of a brand",
        description=(
            "Sellers seen offering the brand's ASINs (new condition) without an active grant, from the offers "
            "scans of the brand sync: who, where, price, buy box, when first and last seen, and when and why "
            "resolved (DISAPPEARED: no longer offering; GRANTED: now authorized). Members of the brand and ops. "
            "Newest sighting first. `?format=csv` streams the whole filtered list (the evidence list for Amazon's "
            "\"Unauthorized Seller Issue\"), columns: " + ", ".join(CSV_COLUMNS) + "."
        ),
        parameters=[
            OpenApiParameter("marketplace", str, description="Marketplace code, e.g. US"),
            OpenApiParameter("asin", str),
            OpenApiParameter("seller_id", str, description="The offering seller"),
            OpenApiParameter("resolved", bool, description="true: resolved findings only; false: open ones only"),
            OpenApiParameter("format", str, enum=["json", "csv"]),
        ],
        responses={
            (200, "application/json"): FindingSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The evidence list, streamed"),
        },
    )
    def get(self, request, *args, **kwargs):
        if getattr(request.accepted_renderer, "format", None) == CSVRenderer.format:
            brand = self.get_brand()
            rows = self.get_queryset().values_list(*_CSV_FIELDS).iterator(chunk_size=2000)
            return csv_response(CSV_COLUMNS, _csv_rows(rows, brand.name), f"findings-brand-{brand.pk}.csv")
        return self.list(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        self.get_brand()  # 404 before anything else
        queryset = self.get_queryset().select_related("asin")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
