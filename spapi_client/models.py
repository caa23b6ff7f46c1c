"""Sync runs: every pull from Amazon (and every background job) is a row ops can see."""
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _, pgettext_lazy


class SyncKind(models.TextChoices):
    SELLER = "seller", _("Seller sync (participations, health, listing restrictions)")
    SELLER_PARTICIPATIONS = "seller.participations", _("Seller marketplace participations")
    SELLER_HEALTH = "seller.health", _("Seller account health")
    SELLER_RESTRICTIONS = "seller.restrictions", _("Amazon listing restrictions of a seller's grants")
    BRAND = "brand", _("Brand sync (catalog and offers)")
    BRAND_CATALOG = "brand.catalog", _("Catalog verification")
    BRAND_OFFERS = "brand.offers", _("Offers monitoring")
    GRANTS_EXPIRY = "grants.expiry", _("Expiry of grants past their term")
    EXPIRING_NOTICE = "grants.expiring_notice", _("Expiring-soon notice")
    ASIN_IMPORT = "asin_import", _("ASIN catalog import")


class SyncStatus(models.TextChoices):
    PENDING = "PENDING", pgettext_lazy("sync run status", "Pending")
    RUNNING = "RUNNING", _("Running")
    SUCCESS = "SUCCESS", _("Succeeded")
    FAILURE = "FAILURE", _("Failed")


class SyncRun(models.Model):
    """One run of a sync task, created before it is enqueued (its id is the API's job id)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=SyncKind.choices)
    seller = models.ForeignKey("sellers.Seller", null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_runs")
    brand = models.ForeignKey("brands.Brand", null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_runs")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    status = models.CharField(max_length=8, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # calls, throttled, retries, items read and changed: what ops need to judge a run
    counts = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Ops' sync-runs page: newest first, optionally of one kind.
            models.Index(fields=["-created_at"], name="syncrun_created_idx"),
            models.Index(fields=["kind", "-created_at"], name="syncrun_kind_idx"),
            models.Index(fields=["status", "-created_at"], name="syncrun_status_idx"),
            models.Index(fields=["seller", "kind", "-created_at"], name="syncrun_seller_idx"),
            models.Index(fields=["brand", "kind", "-created_at"], name="syncrun_brand_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.status} ({self.id})"


class SyncRunInput(models.Model):
    """What a background job reads that is too large for its task's arguments: an ASIN import's
    CSV text (up to the 5 MB upload cap) and its options. Kept out of :class:`SyncRun` so that
    listing runs never reads it; the task deletes it when the run ends."""

    run = models.OneToOneField(SyncRun, primary_key=True, on_delete=models.CASCADE, related_name="input")
    params = models.JSONField(default=dict, blank=True)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"input of {self.run_id}"
