"""Admin pages for marketplaces, sellers and their connections.

- Marketplaces are data: ops staff switch ``supported`` on and off (also straight from the list)
  and add a marketplace Amazon opens, without a deploy. Each change is audited in the admin's
  own transaction.
- Sellers are read-mostly: their facts come from SP-API syncs and partners. The one thing ops
  may change here is the test-account flag, and that goes through ``seller_update`` (permission
  check and audit event included).
- Connections are for looking only, and never show the refresh token, not even encrypted: the
  field is left out of every page, list, filter and search.
"""
from __future__ import annotations

from django.contrib import admin
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from audit.context import Actor
from config.admin import ReadOnlyAdminMixin

from . import services
from .models import Marketplace, Participation, Seller, SellerConnection, SellerMembership

# What makes a connection usable, in SQL (so that pages never load the token to find out).
ACTIVE_CONNECTION = Q(revoked_at__isnull=True) & ~Q(refresh_token_encrypted="")


@admin.register(Marketplace)
class MarketplaceAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "marketplace_id", "country_code", "region", "currency", "supported")
    list_display_links = ("code", "name")
    list_editable = ("supported",)
    list_filter = ("supported", "region")
    search_fields = ("code", "name", "marketplace_id", "country_code")
    ordering = ("code",)
    fields = services.MARKETPLACE_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Marketplace | None = None) -> tuple[str, ...]:
        # The code is the primary key and grants point at it: fixed once created.
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # participations and grants refer to it; switch ``supported`` off instead

    def save_model(self, request: HttpRequest, obj: Marketplace, form, change: bool) -> None:
        services.marketplace_save(actor=Actor.for_request(request), marketplace=obj, created=not change)


class ParticipationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Participation
    fields = ("marketplace", "is_participating", "has_suspended_listings", "updated_at")
    readonly_fields = fields
    extra = 0


class SellerMembershipInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SellerMembership
    verbose_name = _("partner")
    verbose_name_plural = _("partners")
    fields = ("user", "created_at")
    readonly_fields = fields
    extra = 0


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ("seller_id", "name", "home_marketplace", "health_score", "health_checked_at", "infringement_count",
                    "account_status", "is_test_account", "connected", "last_synced_at")
    list_filter = ("account_status", "is_test_account", "home_marketplace")
    search_fields = ("=seller_id", "name")
    list_select_related = ("home_marketplace",)
    show_full_result_count = False
    fields = ("seller_id", "name", "home_marketplace", "health_score", "health_checked_at", "health_breakdown",
              "infringement_count", "account_status", "is_test_account", "last_synced_at", "created_at", "updated_at")
    readonly_fields = tuple(f for f in fields if f != "is_test_account")
    inlines = (ParticipationInline, SellerMembershipInline)

    @admin.display(boolean=True, description=_("connected"), ordering="connected")
    def connected(self, seller: Seller) -> bool:
        return seller.connected

    def get_queryset(self, request: HttpRequest):
        active = SellerConnection.objects.filter(ACTIVE_CONNECTION, seller=OuterRef("pk"))
        return super().get_queryset(request).annotate(connected=Exists(active))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # sellers come from an SP-API connection

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Seller, form, change: bool) -> None:
        if "is_test_account" in form.changed_data:
            services.seller_update(actor=Actor.for_request(request), seller=obj,
                                   is_test_account=form.cleaned_data["is_test_account"])


@admin.register(SellerConnection)
class SellerConnectionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("seller", "connected_by", "connected_at", "revoked_at", "active")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("=seller__seller_id", "seller__name", "connected_by__username")
    list_select_related = ("seller", "connected_by")
    # Never ``refresh_token_encrypted``: an explicit list, so a new model field cannot leak in.
    fields = ("seller", "connected_by", "connected_at", "revoked_at")
    readonly_fields = fields

    @admin.display(boolean=True, description=_("active"), ordering="active")
    def active(self, connection: SellerConnection) -> bool:
        return connection.active

    def get_queryset(self, request: HttpRequest):
        return (super().get_queryset(request).defer("refresh_token_encrypted")
                .annotate(active=ExpressionWrapper(ACTIVE_CONNECTION, output_field=BooleanField())))
