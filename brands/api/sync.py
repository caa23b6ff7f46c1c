"""``POST /api/v1/brands/{id}/sync`` (API.md "Brands and ASINs"): verify the catalog and scan
offers now, on the brand's SP-API account. Answers 202 with the run's id (``GET /api/v1/jobs/{id}``)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from brands import sync
from brands.selectors import MANAGING_ROLES, brands_visible_to, require_brand_role
from config.api_support import actor_of, get_visible, positive_int


class JobCreatedSerializer(serializers.Serializer):
    job_id = serializers.UUIDField(help_text="The sync run: follow it at GET /api/v1/jobs/{job_id}.")


class BrandSyncView(APIView):
    @extend_schema(
        request=None,
        responses={202: JobCreatedSerializer},
        summary="Sync the brand from Amazon now",
        description=(
            "Queues catalog verification (every ASIN × marketplace the brand lists, against Amazon's catalog: "
            "VERIFIED, NOT_FOUND or BRAND_MISMATCH) followed by offers monitoring (unauthorized-offer findings), "
            "on the brand's SP-API account. Owners and managers of the brand. While a sync of the brand is already "
            "pending or running, the answer names that job instead of starting another. A brand without an SP-API "
            "account gets a job that fails, saying so."
        ),
    )
    def post(self, request, brand_id: str):
        brand = get_visible(brands_visible_to(request.user), pk=positive_int(brand_id))
        require_brand_role(actor_of(request), brand, MANAGING_ROLES)
        run, _created = sync.brand_sync_request(brand=brand, requested_by=request.user)
        return Response({"job_id": str(run.pk)}, status=status.HTTP_202_ACCEPTED)
