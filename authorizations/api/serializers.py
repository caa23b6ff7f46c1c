from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from authorizations.models import AuthorizationRequest, Grant
from authorizations.services import effective_status
from authorizations.timeutil import business_days_between


# -- input fields that answer with API.md's codes ------------------------------------------------
# DRF's own codes ("invalid", "max_length", "not_a_list") only map to the generic INVALID /
# OUT_OF_RANGE; the contract names INVALID_DATE, TOO_MANY_ITEMS, INVALID_ASIN, ... . The values
# themselves (ASIN, seller id and marketplace formats) are checked by the services' cleaners.

class ApiDateTimeField(serializers.DateTimeField):
    """A malformed date or time → 400 ``INVALID_DATE`` naming the field."""

    def to_internal_value(self, value):
        try:
            return super().to_internal_value(value)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError([str(d) for d in exc.detail], code="INVALID_DATE") from None


class CodeListField(serializers.ListField):
    """A list of codes, passed on as given for the service's cleaner to judge one by one (it
    names each bad value: ``INVALID_ASIN`` with the ``asin``). Not a list → ``not_a_list_code``;
    empty → ``REQUIRED``; more than ``max_length`` items → ``TOO_MANY_ITEMS``."""

    def __init__(self, *, not_a_list_code: str = "INVALID", **kwargs):
        self.not_a_list_code = not_a_list_code
        kwargs.setdefault("child", serializers.CharField())  # what the schema shows
        self.max_items = kwargs.get("max_length")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, (str, bytes, dict)) or not isinstance(data, list):
            raise serializers.ValidationError(f"Expected a list of codes but got {type(data).__name__}.",
                                              code=self.not_a_list_code)
        if not data and not self.allow_empty:
            raise serializers.ValidationError("At least one is required.", code="REQUIRED")
        if self.max_items is not None and len(data) > self.max_items:
            raise serializers.ValidationError(f"At most {self.max_items} items (got {len(data)}).",
                                              code="TOO_MANY_ITEMS")
        return list(data)


class GrantSerializer(serializers.ModelSerializer):
    brand = serializers.IntegerField(source="brand_id", read_only=True)
    seller_id = serializers.CharField(source="seller.seller_id", read_only=True)
    asin = serializers.CharField(source="asin.asin", read_only=True)
    marketplace = serializers.CharField(source="marketplace_id", read_only=True)
    status = serializers.SerializerMethodField()
    granted_by = serializers.SerializerMethodField()
    approved_by = serializers.SerializerMethodField()
    expiring_soon = serializers.SerializerMethodField()

    class Meta:
        model = Grant
        fields = ["id", "brand", "seller_id", "asin", "marketplace", "status", "valid_from", "valid_until",
                  "granted_by", "approved_by", "created_at", "status_changed_at", "reason", "status_reason_code",
                  "status_reason", "expiring_soon"]
        read_only_fields = fields

    def get_status(self, grant: Grant) -> str:
        return effective_status(grant)

    def get_granted_by(self, grant: Grant) -> str | None:
        return grant.granted_by.get_username() if grant.granted_by_id else None

    def get_approved_by(self, grant: Grant) -> str | None:
        return grant.approved_by.get_username() if grant.approved_by_id else None

    def get_expiring_soon(self, grant: Grant) -> bool:
        if grant.valid_until is None or effective_status(grant) != "ACTIVE":
            return False
        return grant.valid_until - timezone.now() <= timezone.timedelta(days=settings.EXPIRING_SOON_DAYS)


class GrantCreateSerializer(serializers.Serializer):
    brand = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    seller_id = serializers.CharField(trim_whitespace=False)
    asins = CodeListField(not_a_list_code="INVALID_ASIN", allow_empty=False, max_length=settings.MAX_GRANT_ASINS)
    marketplaces = CodeListField(not_a_list_code="INVALID_MARKETPLACE", required=False, allow_null=True)
    valid_from = ApiDateTimeField(required=False, allow_null=True)
    valid_until = ApiDateTimeField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    partial = serializers.BooleanField(required=False, default=False)


class SkippedSerializer(serializers.Serializer):
    asin = serializers.CharField()
    marketplace = serializers.CharField()
    code = serializers.CharField()


class GrantCreateResultSerializer(serializers.Serializer):
    created = GrantSerializer(many=True)
    skipped = SkippedSerializer(many=True)
    failed = serializers.ListField(child=serializers.DictField())


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RevokeAllResultSerializer(serializers.Serializer):
    revoked = serializers.IntegerField()


class RequestSerializer(serializers.ModelSerializer):
    brand = serializers.IntegerField(source="brand_id", read_only=True)
    brand_name = serializers.CharField(source="brand.name", read_only=True)
    seller_id = serializers.CharField(source="seller.seller_id", read_only=True)
    requested_by = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()
    age_business_days = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = AuthorizationRequest
        fields = ["id", "brand", "brand_name", "seller_id", "asins", "marketplaces", "message", "status",
                  "requested_by", "created_at", "decided_by", "decided_at", "decision_reason", "age_business_days",
                  "overdue"]
        read_only_fields = fields

    def get_requested_by(self, req) -> str | None:
        return req.requested_by.get_username() if req.requested_by_id else None

    def get_decided_by(self, req) -> str | None:
        return req.decided_by.get_username() if req.decided_by_id else None

    def get_age_business_days(self, req) -> int:
        end = req.decided_at or timezone.now()
        return business_days_between(req.created_at.date(), end.date())

    def get_overdue(self, req) -> bool:
        return req.status == "PENDING" and self.get_age_business_days(req) > settings.REQUEST_OVERDUE_BUSINESS_DAYS


class RequestCreateSerializer(serializers.Serializer):
    brand = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    seller_id = serializers.CharField(trim_whitespace=False)
    asins = CodeListField(not_a_list_code="INVALID_ASIN", allow_empty=False, max_length=settings.MAX_GRANT_ASINS)
    marketplaces = CodeListField(not_a_list_code="INVALID_MARKETPLACE", required=False, allow_null=True)
    message = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class RequestApproveResultSerializer(serializers.Serializer):
    request = RequestSerializer()
    created = GrantSerializer(many=True)


class CheckResultSerializer(serializers.Serializer):
    authorized = serializers.BooleanField()
    grant_id = serializers.IntegerField(allow_null=True)
    status = serializers.CharField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)


class CheckItemSerializer(serializers.Serializer):
    """Only the shape; the values are cleaned (INVALID_SELLER_ID, ...) by the view."""

    seller_id = serializers.CharField(trim_whitespace=False)
    asin = serializers.CharField(trim_whitespace=False)
    marketplace = serializers.CharField(trim_whitespace=False)


class CheckBatchSerializer(serializers.Serializer):
    items = CheckItemSerializer(many=True, allow_empty=False, max_length=settings.MAX_CHECK_BATCH)


class CheckBatchResultSerializer(serializers.Serializer):
    results = CheckResultSerializer(many=True)


class RuleCheckSerializer(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    title = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)


class DiagnosisSerializer(serializers.Serializer):
    authorized = serializers.BooleanField()
    checks = RuleCheckSerializer(many=True)
    grant = GrantSerializer(allow_null=True)
    history = serializers.ListField(child=serializers.DictField())
    amazon = serializers.DictField(allow_null=True)
