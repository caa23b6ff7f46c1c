"""Brands, who runs them, and their ASIN catalog."""
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _, pgettext_lazy

ASIN_REGEX = r"^[A-Z0-9]{10}$"
GCID_REGEX = r"^[A-Za-z0-9]{16}$"


class RegistryStatus(models.TextChoices):
    PENDING = "PENDING", pgettext_lazy("brand registry status", "Pending")
    ACTIVE = "ACTIVE", _("Active")
    SUSPENDED = "SUSPENDED", _("Suspended")
    INACTIVE = "INACTIVE", _("Inactive")


class Brand(models.Model):
    """A brand as the catalog names it, with its Amazon Brand Registry standing."""

    name = models.CharField(max_length=200)
    registry_number = models.CharField(max_length=64, unique=True)
    registry_status = models.CharField(max_length=16, choices=RegistryStatus.choices, default=RegistryStatus.PENDING)
    registry_checked_at = models.DateTimeField(null=True, blank=True)
    dual_control = models.BooleanField(default=False)
    spapi_account = models.ForeignKey(
        "sellers.Seller", null=True, blank=True, on_delete=models.SET_NULL, related_name="monitored_brands"
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(registry_status__in=["PENDING", "ACTIVE", "SUSPENDED", "INACTIVE"]),
                name="brand_registry_status_valid",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="brand_name_not_empty"),
            models.CheckConstraint(condition=~Q(registry_number=""), name="brand_registry_number_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    VIEWER = "viewer", _("Viewer")


class BrandMembership(models.Model):
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="brand_memberships")
    role = models.CharField(max_length=8, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "user"], name="brand_membership_unique"),
            models.CheckConstraint(condition=Q(role__in=["owner", "manager", "viewer"]), name="brand_membership_role_valid"),
        ]

    @property
    def can_manage(self) -> bool:
        return self.role in (Role.OWNER, Role.MANAGER)


class Asin(models.Model):
    """A catalog item of a brand. A GCID proves it is registered to the brand."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="asins")
    asin = models.CharField(max_length=10, validators=[RegexValidator(ASIN_REGEX)])
    gcid = models.CharField(max_length=16, null=True, blank=True, validators=[RegexValidator(GCID_REGEX)])
    title = models.CharField(max_length=500, blank=True)
    category = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asin"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "asin"], name="asin_unique_per_brand"),
            models.CheckConstraint(condition=Q(asin__regex=ASIN_REGEX), name="asin_format"),
            models.CheckConstraint(condition=Q(gcid__isnull=True) | Q(gcid__regex=GCID_REGEX), name="asin_gcid_format"),
        ]
        indexes = [models.Index(fields=["asin"], name="asin_code_idx")]

    def __str__(self) -> str:
        return self.asin


class PresenceStatus(models.TextChoices):
    UNVERIFIED = "UNVERIFIED", _("Not yet verified")
    VERIFIED = "VERIFIED", _("Verified")
    NOT_FOUND = "NOT_FOUND", _("Not found in the catalog")
    BRAND_MISMATCH = "BRAND_MISMATCH", _("Listed under another brand")


class AsinMarketplace(models.Model):
    """Where the brand says an ASIN is sold, and what the last catalog sync saw there."""

    asin = models.ForeignKey(Asin, on_delete=models.CASCADE, related_name="presences")
    marketplace = models.ForeignKey("sellers.Marketplace", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=PresenceStatus.choices, default=PresenceStatus.UNVERIFIED)
    verified_at = models.DateTimeField(null=True, blank=True)
    catalog_brand = models.CharField(max_length=200, blank=True)
    catalog_category = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asin", "marketplace"], name="asin_marketplace_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["UNVERIFIED", "VERIFIED", "NOT_FOUND", "BRAND_MISMATCH"]),
                name="asin_marketplace_status_valid",
            ),
        ]
