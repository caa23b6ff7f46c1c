"""Read-only admin views of the audit log: nobody adds, changes or deletes events here."""
from __future__ import annotations

from django.contrib import admin

from config.admin import ReadOnlyAdminMixin

from .models import AuditEvent, AuditStream


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "source", "action", "object_type", "object_id", "brand_id", "seller_id", "reason")
    list_filter = ("action", "source", "object_type")
    # Exact matches: a substring search would read every one of millions of events.
    search_fields = ("actor__exact", "object_id__exact", "seller_id__exact")
    search_help_text = "Exact username or task name, object id, or seller id."
    show_full_result_count = False


@admin.register(AuditStream)
class AuditStreamAdmin(ReadOnlyAdmin):
    list_display = ("name", "last_seq", "pruned_through_seq")
    search_fields = ("name",)
