from rest_framework import serializers

from config.api_support import StrictBooleanField, StrictCharField
from sellers.models import Marketplace, Seller


class MarketplaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Marketplace
        fields = ["code", "marketplace_id", "region", "name", "supported"]
        read_only_fields = fields


class SellerSerializer(serializers.ModelSerializer):
    home_marketplace = serializers.CharField(source="home_marketplace_id", allow_null=True, read_only=True)
    marketplaces = serializers.SerializerMethodField()
    connected = serializers.SerializerMethodField()

    class Meta:
        model = Seller
        fields = ["seller_id", "name", "home_marketplace", "marketplaces", "health_score", "health_checked_at",
                  "health_breakdown", "infringement_count", "account_status", "is_test_account", "connected",
                  "last_synced_at"]
        read_only_fields = fields

    def get_marketplaces(self, seller: Seller) -> list[str]:
        return sorted(p.marketplace_id for p in seller.participations.all() if p.is_participating)

    def get_connected(self, seller: Seller) -> bool:
        connection = getattr(seller, "connection", None)
        return bool(connection and connection.is_active)


class SellerUpdateSerializer(serializers.Serializer):
    # The service checks the code (one of the seller's marketplaces) and names it in its error.
    home_marketplace = StrictCharField(required=False,
                                       help_text="Partners of the seller: a marketplace code it participates in")
    is_test_account = StrictBooleanField(required=False, help_text="Ops staff only")
