"""Append-only audit events, chained by hash per stream.

Three layers keep events append-only: this model refuses updates and deletes, no API writes
them, and a database trigger (PostgreSQL and SQLite, see migrations) refuses UPDATE and DELETE.
"""
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(RuntimeError):
    pass


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def delete(self):
        raise AppendOnlyError("audit events are append-only")


class AuditStream(models.Model):
    """The head of one hash chain (per brand, per seller, or global).

    Its row is locked to take the next sequence number, so events of one stream are totally
    ordered no matter how many writers run at once.
    """

    name = models.CharField(max_length=64, primary_key=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    # After a retention prune the chain restarts from the last pruned event's hash.
    pruned_through_seq = models.BigIntegerField(default=0)
    pruned_through_hash = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return self.name


class AuditEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    stream = models.CharField(max_length=64)
    seq = models.BigIntegerField()
    at = models.DateTimeField()
    actor_user_id = models.BigIntegerField(null=True, blank=True, help_text=_("No foreign key: history outlives users."))
    actor = models.CharField(max_length=150, help_text=_("Username, or the task's name, frozen at the time."))
    source = models.CharField(max_length=8)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    brand_id = models.BigIntegerField(null=True, blank=True)
    seller_id = models.CharField(max_length=20, blank=True)
    action = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    # The writing transaction's id (PostgreSQL): readers of the grant change feed only pass
    # transactions older than every one still running, so a late commit is never skipped.
    txid = models.BigIntegerField(null=True, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "seq"], name="audit_event_stream_seq_unique"),
            models.CheckConstraint(
                condition=models.Q(source__in=["web", "api", "worker", "command"]), name="audit_event_source_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_at_idx"),
            models.Index(fields=["brand_id", "-at", "-id"], name="audit_brand_at_idx"),
            models.Index(fields=["seller_id", "-at", "-id"], name="audit_seller_at_idx"),
            # Each filter of the ops log leads an index that ends in the log's order (-at, -id),
            # so a filtered page is an index range scan with no sort, at any depth.
            models.Index(fields=["object_type", "object_id", "-at", "-id"], name="audit_object_at_idx"),
            models.Index(fields=["action", "-at", "-id"], name="audit_action_at_id_idx"),
            models.Index(fields=["actor", "-at", "-id"], name="audit_actor_at_id_idx"),
            models.Index(fields=["txid", "id"], condition=models.Q(object_type="grant"), name="audit_grant_feed_idx"),
        ]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type}:{self.object_id}"


class AuditPrunePermit(models.Model):
    """Written only inside the retention prune's own transaction: the trigger lets DELETE through
    for events older than ``until`` while such a row exists (it is removed before commit)."""

    until = models.DateTimeField()
