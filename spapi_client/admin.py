"""Sync runs in the admin: what ran, when, how it went — read-only (runs are written by tasks)."""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import SyncRun


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "status", "seller", "brand", "attempts", "progress", "finished_at", "short_error")
    list_filter = ("status", "kind", ("created_at", admin.DateFieldListFilter))
    list_select_related = ("seller", "brand")
    search_fields = ("id__exact", "seller__seller_id__exact", "task_id__exact")
    search_help_text = "Exact job id, seller id or Celery task id."
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    readonly_fields = ("id", "kind", "status", "seller", "brand", "parent", "requested_by", "task_id", "attempts",
                       "progress_done", "progress_total", "counts", "result", "error", "created_at", "started_at",
                       "finished_at")

    @admin.display(description="progress")
    def progress(self, run: SyncRun) -> str:
        return f"{run.progress_done}/{run.progress_total}"

    @admin.display(description="error")
    def short_error(self, run: SyncRun) -> str:
        return run.error if len(run.error) <= 80 else run.error[:79] + "…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
