from rest_framework import serializers

from audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    brand = serializers.IntegerField(source="brand_id", allow_null=True, read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "source", "action", "object_type", "object_id", "brand", "seller_id",
                  "before", "after", "reason", "request_id"]
        read_only_fields = fields


class VerifyResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_bad_event = serializers.IntegerField(allow_null=True)
