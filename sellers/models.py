"""Marketplaces and seller partners: who they are, where they sell, how healthy they are."""
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

SELLER_ID_REGEX = r"^[A-Z0-9]{10,20}$"
MARKETPLACE_CODE_REGEX = r"^[A-Z]{2}$"


class Region(models.TextChoices):
    NA = "NA", _("North America")
    EU = "EU", _("Europe")
    FE = "FE", _("Far East")


class Marketplace(models.Model):
    """An Amazon site. ``code`` is ours (``UK`` for the United Kingdom); support is data."""

    code = models.CharField(max_length=2, primary_key=True, validators=[RegexValidator(MARKETPLACE_CODE_REGEX)])
    marketplace_id = models.CharField(max_length=20, unique=True)
    country_code = models.CharField(max_length=2, help_text=_("Amazon's country code (GB for UK)."))
    region = models.CharField(max_length=2, choices=Region.choices)
    name = models.CharField(max_length=64)
    currency = models.CharField(max_length=3, blank=True)
    supported = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=MARKETPLACE_CODE_REGEX), name="marketplace_code_format"),
            models.CheckConstraint(condition=Q(region__in=["NA", "EU", "FE"]), name="marketplace_region_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class AccountStatus(models.TextChoices):
    NORMAL = "NORMAL", _("Normal")
    AT_RISK = "AT_RISK", _("At risk")
    DEACTIVATED = "DEACTIVATED", _("Deactivated")


class Seller(models.Model):
    """A third-party seller partner (a Seller Central merchant account)."""

    seller_id = models.CharField(
        max_length=20, unique=True, validators=[RegexValidator(SELLER_ID_REGEX)], help_text=_("Amazon merchant id.")
    )
    name = models.CharField(max_length=200)
    home_marketplace = models.ForeignKey(
        Marketplace, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    marketplaces = models.ManyToManyField(Marketplace, through="Participation", related_name="sellers")
    health_score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    health_checked_at = models.DateTimeField(null=True, blank=True)
    health_breakdown = models.JSONField(default=dict, blank=True)
    infringement_count = models.PositiveIntegerField(default=0)
    account_status = models.CharField(max_length=16, choices=AccountStatus.choices, default=AccountStatus.NORMAL)
    is_test_account = models.BooleanField(default=False)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["seller_id"]
        constraints = [
            models.CheckConstraint(condition=Q(seller_id__regex=SELLER_ID_REGEX), name="seller_id_format"),
            models.CheckConstraint(
                condition=Q(health_score__isnull=True) | Q(health_score__gte=0, health_score__lte=100),
                name="seller_health_score_range",
            ),
            models.CheckConstraint(
                condition=Q(account_status__in=["NORMAL", "AT_RISK", "DEACTIVATED"]), name="seller_account_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.seller_id})"


class Participation(models.Model):
    """A marketplace the seller participates in (Sellers API ``getMarketplaceParticipations``)."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="participations")
    marketplace = models.ForeignKey(Marketplace, on_delete=models.PROTECT, related_name="participations")
    is_participating = models.BooleanField(default=True)
    has_suspended_listings = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["seller", "marketplace"], name="participation_unique")]


class SellerConnection(models.Model):
    """The seller's SP-API authorization: an LWA refresh token, encrypted at rest."""

    seller = models.OneToOneField(Seller, on_delete=models.CASCADE, related_name="connection")
    refresh_token_encrypted = models.TextField(blank=True)
    connected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    connected_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and bool(self.refresh_token_encrypted)

    def __str__(self) -> str:
        # Never the token, not even encrypted.
        return f"connection of {self.seller_id}"


class SellerMembership(models.Model):
    """A user who acts for a seller (a partner), linked by the SP-API OAuth connection."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seller_memberships")
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "seller"], name="seller_membership_unique")]


class ConnectState(models.Model):
    """The ``state`` of one SP-API website authorization: bound to the user who started it,
    single-use, short-lived. Only its sha256 is stored."""

    state_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="connect_state_expiry_idx")]
