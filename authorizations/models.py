"""Grants (who may sell which ASIN where, for how long) and partners' requests for them."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _, pgettext_lazy


class GrantStatus(models.TextChoices):
    PENDING_APPROVAL = "PENDING_APPROVAL", _("Pending approval")
    ACTIVE = "ACTIVE", _("Active")
    SUSPENDED = "SUSPENDED", _("Suspended")
    REVOKED = "REVOKED", _("Revoked")
    EXPIRED = "EXPIRED", _("Expired")
    REJECTED = "REJECTED", _("Rejected")


# A live grant holds a slot against the limits (a suspended one keeps it).
LIVE_STATUSES = (GrantStatus.PENDING_APPROVAL, GrantStatus.ACTIVE, GrantStatus.SUSPENDED)
LIVE_STATUS_VALUES = tuple(s.value for s in LIVE_STATUSES)


class Grant(models.Model):
    """One seller may sell one ASIN in one marketplace, within a term."""

    brand = models.ForeignKey("brands.Brand", on_delete=models.PROTECT, related_name="grants")
    seller = models.ForeignKey("sellers.Seller", on_delete=models.PROTECT, related_name="grants")
    asin = models.ForeignKey("brands.Asin", on_delete=models.PROTECT, related_name="grants")
    marketplace = models.ForeignKey("sellers.Marketplace", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=GrantStatus.choices)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    letter_reference = models.CharField(max_length=200, blank=True, help_text=_("The authorization letter it rests on."))
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    request = models.ForeignKey(
        "authorizations.AuthorizationRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="grants"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField()
    status_reason_code = models.CharField(max_length=40, blank=True)
    status_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Also the check's index: (seller, asin, marketplace) among live grants.
            models.UniqueConstraint(
                fields=["seller", "asin", "marketplace"],
                condition=Q(status__in=LIVE_STATUS_VALUES),
                name="grant_one_live_per_seller_asin_marketplace",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in GrantStatus]), name="grant_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")), name="grant_term_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["brand", "status"], name="grant_brand_status_idx"),
            models.Index(fields=["asin", "status"], name="grant_asin_status_idx"),
            models.Index(fields=["seller", "status"], name="grant_seller_status_idx"),
            models.Index(fields=["valid_until"], condition=Q(status__in=LIVE_STATUS_VALUES), name="grant_live_until_idx"),
        ]

    def __str__(self) -> str:
        return f"grant {self.pk}: {self.seller_id}/{self.asin_id}/{self.marketplace_id} {self.status}"


class RequestStatus(models.TextChoices):
    PENDING = "PENDING", pgettext_lazy("authorization request status", "Pending")
    APPROVED = "APPROVED", _("Approved")
    REJECTED = "REJECTED", _("Rejected")


class AuthorizationRequest(models.Model):
    """A partner asks a brand for ASINs × marketplaces."""

    brand = models.ForeignKey("brands.Brand", on_delete=models.PROTECT, related_name="requests")
    seller = models.ForeignKey("sellers.Seller", on_delete=models.PROTECT, related_name="requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    asins = models.JSONField(help_text=_("ASIN codes asked for."))
    marketplaces = models.JSONField(help_text=_("Marketplace codes asked for: the scope of the grants it can yield."))
    message = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["PENDING", "APPROVED", "REJECTED"]), name="request_status_valid"),
        ]
        indexes = [models.Index(fields=["brand", "status"], name="request_brand_status_idx")]


class IdempotencyKey(models.Model):
    """A POST that creates grants or requests, remembered by the client's ``Idempotency-Key``:
    a retry with the same key and body gets the first answer instead of granting twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]


class FindingResolution(models.TextChoices):
    DISAPPEARED = "DISAPPEARED", _("No longer offering")
    GRANTED = "GRANTED", _("Now authorized")


class UnauthorizedOffer(models.Model):
    """A seller seen offering a brand's ASIN in a marketplace without an active grant: the
    evidence a brand files with Amazon. Resolved when the offer disappears or a grant covers it."""

    brand = models.ForeignKey("brands.Brand", on_delete=models.PROTECT, related_name="findings")
    asin = models.ForeignKey("brands.Asin", on_delete=models.PROTECT, related_name="findings")
    marketplace = models.ForeignKey("sellers.Marketplace", on_delete=models.PROTECT, related_name="+")
    offering_seller_id = models.CharField(max_length=20, help_text=_("Amazon's seller id of the offer."))
    seller_name = models.CharField(max_length=200, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    is_buy_box_winner = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=12, choices=FindingResolution.choices, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["asin", "marketplace", "offering_seller_id"], condition=Q(resolved_at__isnull=True),
                name="finding_one_open_per_offer",
            ),
        ]
        indexes = [models.Index(fields=["brand", "resolved_at", "-last_seen_at"], name="finding_brand_idx")]


class ListingRestrictionCheck(models.Model):
    """Amazon's own gating of a seller for an ASIN in a marketplace (``getListingsRestrictions``),
    from the last seller sync: informational, beside our verdict — it never blocks a grant."""

    seller = models.ForeignKey("sellers.Seller", on_delete=models.CASCADE, related_name="restriction_checks")
    asin = models.CharField(max_length=10)
    marketplace = models.ForeignKey("sellers.Marketplace", on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField()
    # [{"reason_code", "message", "links": [{"resource", "verb", "title", "type"}]}]; [] = not gated
    restrictions = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["seller", "asin", "marketplace"], name="restriction_check_unique"),
        ]
