"""Marketplaces and sellers (API.md "Marketplaces", "Sellers")."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from authorizations.visibility import sellers_visible_to
from brands.selectors import is_ops
from config.api_support import actor_of, get_visible, path_key
from config.errors import NotAllowed
from sellers import services
from sellers.models import SELLER_ID_REGEX, Marketplace
from sellers.sync import seller_sync_request
from spapi_client.api import JobAcceptedSerializer

from .serializers import MarketplaceSerializer, SellerSerializer, SellerUpdateSerializer


class MarketplaceViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = MarketplaceSerializer
    queryset = Marketplace.objects.order_by("-supported", "code")
    pagination_class = None


class SellerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SellerSerializer
    lookup_field = "seller_id"
    lookup_value_regex = r"[^/]+"

    def get_queryset(self):
        return (
            sellers_visible_to(self.request.user)
            .select_related("connection")
            .prefetch_related("participations")
            .order_by("seller_id")
        )

    def get_object(self):
        return get_visible(self.get_queryset(), seller_id=path_key(self.kwargs["seller_id"], SELLER_ID_REGEX))

    @extend_schema(request=SellerUpdateSerializer, responses={200: SellerSerializer})
    def partial_update(self, request, seller_id=None):
        seller = self.get_object()
        data = SellerUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if not values and not (is_ops(request.user) or seller.memberships.filter(user=request.user).exists()):
            # seller_update checks authority per field only, so an empty PATCH would "succeed"
            # for anyone who can see the seller (a brand owner): only its partners and ops may.
            raise NotAllowed("Only the seller's own partners can change it.")
        seller = services.seller_update(actor=actor_of(request), seller=seller, **values)
        return Response(SellerSerializer(self.get_queryset().get(pk=seller.pk)).data)

    @extend_schema(request=None, responses={202: JobAcceptedSerializer},
                   summary="Refresh the seller from SP-API now (participations, health, listing restrictions)")
    @action(detail=True, methods=["post"], url_path="sync")
    def sync(self, request, seller_id=None):
        """Partners of the seller and members of its brands may ask; ops staff are read-only (403)."""
        run = seller_sync_request(actor=actor_of(request), seller=self.get_object())
        return Response({"job_id": str(run.pk)}, status=status.HTTP_202_ACCEPTED)
