from django.conf import settings
from rest_framework import serializers

from brands.models import Asin, Brand, RegistryStatus, Role
from config.api_support import StrictBooleanField, StrictCharField


class BrandSerializer(serializers.ModelSerializer):
    spapi_account = serializers.SerializerMethodField()
    sellers_used = serializers.IntegerField(read_only=True)
    sellers_limit = serializers.SerializerMethodField()
    asin_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Brand
        fields = ["id", "name", "registry_number", "registry_status", "dual_control", "spapi_account",
                  "sellers_used", "sellers_limit", "asin_count"]
        read_only_fields = fields

    def get_spapi_account(self, brand: Brand) -> str | None:
        return brand.spapi_account.seller_id if brand.spapi_account_id else None

    def get_sellers_limit(self, brand: Brand) -> int:
        return settings.MAX_SELLERS_PER_BRAND


# Types are checked here; values (lengths, formats, choices) by the services, which name the
# field and the value in their own codes (TOO_LONG, INVALID_REGISTRY_NUMBER, INVALID_ROLE, ...),
# and refuse a registry_status from anyone but ops staff before looking at its value.
class BrandCreateSerializer(serializers.Serializer):
    name = StrictCharField(trim_whitespace=False)
    registry_number = StrictCharField(trim_whitespace=False)


class BrandUpdateSerializer(serializers.Serializer):
    name = StrictCharField(required=False, trim_whitespace=False)
    dual_control = StrictBooleanField(required=False)
    spapi_account = StrictCharField(required=False, allow_null=True, help_text="A seller_id, or null to clear it")
    registry_status = StrictCharField(required=False,
                                      help_text="Ops staff only: " + ", ".join(RegistryStatus.values))


class MemberSerializer(serializers.Serializer):
    username = StrictCharField()
    role = StrictCharField(help_text=", ".join(Role.values))


class AsinMarketplaceSerializer(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.CharField()
    verified_at = serializers.DateTimeField(allow_null=True)


class AsinSerializer(serializers.ModelSerializer):
    marketplaces = serializers.SerializerMethodField()
    sellers_used = serializers.IntegerField(read_only=True)
    sellers_limit = serializers.SerializerMethodField()

    class Meta:
        model = Asin
        fields = ["asin", "gcid", "title", "category", "marketplaces", "sellers_used", "sellers_limit"]
        read_only_fields = fields

    def get_marketplaces(self, asin: Asin) -> list[dict]:
        return [{"code": p.marketplace_id, "status": p.status, "verified_at": p.verified_at}
                for p in sorted(asin.presences.all(), key=lambda p: p.marketplace_id)]

    def get_sellers_limit(self, asin: Asin) -> int:
        return settings.MAX_SELLERS_PER_ASIN


class ImportErrorSerializer(serializers.Serializer):
    """One rejected item; the keys that do not apply are left out (never null)."""

    line = serializers.IntegerField(help_text="The item's position (JSON, from 1) or the CSV line")
    field = serializers.CharField(required=False, help_text="The offending field; absent when the whole item is wrong")
    asin = serializers.CharField(required=False, help_text="The item's ASIN, when it had a valid one")
    marketplace = serializers.CharField(required=False, help_text="The offending marketplace code")
    code = serializers.CharField()
    detail = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    created = serializers.ListField(child=serializers.CharField())
    updated = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.ListField(child=serializers.CharField())
    errors = ImportErrorSerializer(many=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=False)


class RevokeAllResultSerializer(serializers.Serializer):
    revoked = serializers.IntegerField()
