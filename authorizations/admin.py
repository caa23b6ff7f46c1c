"""Admin pages for grants and authorization requests: for looking, not for changing.

Every change to a grant or a request must go through ``authorizations.services``: that is where
the rules are evaluated under the brand's and ASINs' locks and where the audit event is written
in the same transaction. The admin's own saves would skip all three, so these pages are
read-only, with the filters and search ops staff need, and each grant shows its audit history.
"""
from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent
from config.admin import ReadOnlyAdminMixin

from .models import AuthorizationRequest, Grant
from .services import effective_status


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "brand", "seller", "asin", "marketplace", "status", "status_now", "valid_from",
                    "valid_until", "granted_by", "approved_by", "status_changed_at")
    list_filter = ("status", "marketplace", "brand__registry_status", "status_reason_code", "seller__is_test_account")
    search_fields = ("=seller__seller_id", "seller__name", "=asin__asin", "brand__name", "letter_reference")
    list_select_related = ("brand", "seller", "asin", "marketplace", "granted_by", "approved_by")
    # Millions of grants: no COUNT(*) per page, and no date hierarchy (a DISTINCT over every row).
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("brand", "seller", "asin", "marketplace", "status", "status_now")}),
        (_("Term"), {"fields": ("valid_from", "valid_until")}),
        (_("Why"), {"fields": ("reason", "letter_reference", "request", "granted_by", "approved_by", "created_at")}),
        (_("Last change"), {"fields": ("status_changed_at", "status_reason_code", "status_reason")}),
        (_("History"), {"fields": ("history",)}),
    )
    readonly_fields = ("brand", "seller", "asin", "marketplace", "status", "status_now", "valid_from", "valid_until",
                       "reason", "letter_reference", "request", "granted_by", "approved_by", "created_at",
                       "status_changed_at", "status_reason_code", "status_reason", "history")

    @admin.display(description=_("Status now"))
    def status_now(self, obj: Grant) -> str:
        """What the check answers: a grant past its term is expired even before the task runs."""
        return effective_status(obj, timezone.now())

    @admin.display(description=_("Audit history"))
    def history(self, obj: Grant) -> str:
        events = AuditEvent.objects.filter(object_type="grant", object_id=str(obj.pk)).order_by("at", "id")
        return format_html_join(
            "\n", "<div>{} — {} by {} ({}){}</div>",
            ((e.at.isoformat(timespec="seconds"), e.action, e.actor, e.source, f": {e.reason}" if e.reason else "")
             for e in events),
        ) or "-"


@admin.register(AuthorizationRequest)
class AuthorizationRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "brand", "seller", "status", "asin_count", "marketplaces", "requested_by", "created_at",
                    "decided_by", "decided_at")
    list_filter = ("status", "brand__registry_status")
    search_fields = ("=seller__seller_id", "seller__name", "brand__name", "message", "decision_reason")
    list_select_related = ("brand", "seller", "requested_by", "decided_by")
    date_hierarchy = "created_at"
    readonly_fields = ("brand", "seller", "requested_by", "asins", "marketplaces", "message", "status", "created_at",
                       "decided_by", "decided_at", "decision_reason", "grants_link")
    fields = readonly_fields

    @admin.display(description=_("ASINs"))
    def asin_count(self, obj: AuthorizationRequest) -> int:
        return len(obj.asins or [])

    @admin.display(description=_("Grants"))
    def grants_link(self, obj: AuthorizationRequest) -> str:
        # A link rather than an inline: a request can yield up to 10,000 grants.
        url = reverse("admin:authorizations_grant_changelist")
        return format_html('<a href="{}?request__id__exact={}">{}</a>', url, obj.pk, _("Grants from this request"))
