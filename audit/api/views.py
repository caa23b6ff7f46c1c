"""The audit log (API.md "Audit"): ops see every event, brand members their brands'."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from itertools import islice

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from audit.models import AuditEvent
from audit.selectors import audit_verify
from authorizations.visibility import audit_events_visible_to
from brands.selectors import is_ops
from config.csvstream import CSVRenderer, csv_rows
from config.errors import NotAllowed
from config.rest import NewestFirstCursorPagination

from .serializers import AuditEventSerializer, VerifyResultSerializer

CSV_COLUMNS = ["id", "at", "actor", "source", "action", "object_type", "object_id", "brand_id", "seller_id",
               "before", "after", "reason", "request_id", "ip", "stream", "seq", "hash"]


# The export reads EXPORT_FETCH_ROWS rows per round trip (a server-side cursor: memory stays
# flat whatever the size) and hands the web server LINES_PER_CHUNK lines at a time: one write
# per line cost more than formatting the line.
EXPORT_FETCH_ROWS = 5000
LINES_PER_CHUNK = 1000


def _in_chunks(lines: Iterator[str]) -> Iterator[str]:
    """The same text as ``lines``, joined LINES_PER_CHUNK lines at a time."""
    while chunk := "".join(islice(lines, LINES_PER_CHUNK)):
        yield chunk


class _TimeField(IsoDateTimeField):
    """An ISO-8601 time; anything else is API.md's ``INVALID_DATE``, naming the value."""

    def to_python(self, value):
        try:
            parsed = super().to_python(value)
            # In UTC now: a time at the edge of the calendar (0001-01-01T00:00+01:00) would
            # otherwise overflow when the database adapter converts it.
            return parsed.astimezone(dt.timezone.utc) if parsed is not None else None
        except (DjangoValidationError, ValueError, OverflowError):
            raise DjangoValidationError(_("“%(value)s” is not an ISO-8601 date or time."),
                                        code="INVALID_DATE", params={"value": str(value)[:40]}) from None


class TimeFilter(filters.IsoDateTimeFilter):
    field_class = _TimeField


class IdFilter(filters.NumberFilter):
    """A whole number within the id column's range (``1.5`` or ``1e30`` is a 400, not a match
    or a database overflow)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class AuditEventFilterSet(filters.FilterSet):
    brand = IdFilter(field_name="brand_id")
    seller_id = filters.CharFilter(field_name="seller_id")
    actor = filters.CharFilter(field_name="actor")
    action = filters.CharFilter(field_name="action")
    object_type = filters.CharFilter(field_name="object_type")
    object_id = filters.CharFilter(field_name="object_id")
    since = TimeFilter(field_name="at", lookup_expr="gte")
    until = TimeFilter(field_name="at", lookup_expr="lt")

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

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "csv"])],
        responses={
            (200, "application/json"): AuditEventSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The filtered events, streamed; columns: "
                                               + ", ".join(CSV_COLUMNS) + " (ip for ops staff only)"),
        },
    )
    def list(self, request, *args, **kwargs):
        if getattr(request.accepted_renderer, "format", None) == CSVRenderer.format:  # ?format=csv or Accept: text/csv
            queryset = self.filter_queryset(self.get_queryset()).order_by("-at", "-id")
            # Client addresses are for ops staff only, as in the JSON events.
            columns = CSV_COLUMNS if is_ops(request.user) else [c for c in CSV_COLUMNS if c != "ip"]
            rows = queryset.values_list(*columns).iterator(chunk_size=EXPORT_FETCH_ROWS)
            response = StreamingHttpResponse(_in_chunks(csv_rows(columns, rows)), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
            return response
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: VerifyResultSerializer})
    @action(detail=False, methods=["get"], renderer_classes=[JSONRenderer])
    def verify(self, request):
        if not is_ops(request.user):
            raise NotAllowed("Only ops staff can verify the audit chain.")
        result = audit_verify()
        return Response({"ok": result.ok, "checked": result.checked, "first_bad_event": result.first_bad_event})
