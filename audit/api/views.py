"""The audit log (API.md "Audit"): ops see every event, brand members their brands'."""
from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from audit.models import AuditEvent
from audit.selectors import audit_verify
from authorizations.visibility import audit_events_visible_to
from brands.selectors import is_ops
from config.csvstream import CSVRenderer, csv_response
from config.errors import NotAllowed
from config.rest import NewestFirstCursorPagination

from .serializers import AuditEventSerializer, VerifyResultSerializer

CSV_COLUMNS = ["id", "at", "actor", "source", "action", "object_type", "object_id", "brand_id", "seller_id",
               "before", "after", "reason", "request_id", "ip", "stream", "seq", "hash"]


class AuditEventFilterSet(filters.FilterSet):
    brand = filters.NumberFilter(field_name="brand_id")
    seller_id = filters.CharFilter(field_name="seller_id")
    actor = filters.CharFilter(field_name="actor")
    action = filters.CharFilter(field_name="action")
    object_type = filters.CharFilter(field_name="object_type")
    object_id = filters.CharFilter(field_name="object_id")
    since = filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["brand", "seller_id", "actor", "action", "object_type", "object_id", "since", "until"]


class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet
    pagination_class = NewestFirstCursorPagination
    renderer_classes = [JSONRenderer, CSVRenderer]

    def get_queryset(self):
        if not self.request.user.is_authenticated:
            return AuditEvent.objects.none()
        return audit_events_visible_to(self.request.user)

    @extend_schema(parameters=[OpenApiParameter("format", str, enum=["json", "csv"])])
    def list(self, request, *args, **kwargs):
        if request.query_params.get("format") == "csv":
            queryset = self.filter_queryset(self.get_queryset()).order_by("-at", "-id")
            rows = queryset.values_list(*CSV_COLUMNS).iterator(chunk_size=2000)
            return csv_response(CSV_COLUMNS, rows, "audit-events.csv")
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: VerifyResultSerializer})
    @action(detail=False, methods=["get"], renderer_classes=[JSONRenderer])
    def verify(self, request):
        if not is_ops(request.user):
            raise NotAllowed("Only ops staff can verify the audit chain.")
        result = audit_verify()
        return Response({"ok": result.ok, "checked": result.checked, "first_bad_event": result.first_bad_event})
