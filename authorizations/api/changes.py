"""GET /api/v1/grants/changes — the ordered grant change feed (API.md)."""
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from authorizations.changes import grant_changes
from config.errors import InvalidInput

class ChangeSerializer(serializers.Serializer):
    cursor = serializers.CharField()
    at = serializers.DateTimeField()
    grant_id = serializers.IntegerField()
    seller_id = serializers.CharField()
    asin = serializers.CharField()
    marketplace = serializers.CharField()
    status = serializers.CharField()
    action = serializers.CharField()


class GrantChangesView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("cursor", str, description="Resume after this change; none = from the beginning"),
                    OpenApiParameter("limit", int, description="At most 1,000 changes per page (default 100)")],
        responses={200: inline_serializer("GrantChanges", {
            "changes": ChangeSerializer(many=True), "next_cursor": serializers.CharField()})},
    )
    def get(self, request):
        raw_limit = request.query_params.get("limit", "100")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
            raise InvalidInput("limit must be a whole number from 1 to 1,000.", code="INVALID", field="limit")
        changes, next_cursor = grant_changes(user=request.user, cursor=request.query_params.get("cursor") or None,
                                             limit=int(raw_limit))
        return Response({"changes": changes, "next_cursor": next_cursor})
