"""Admin pages for brands and their catalogs: for looking, not for changing.

Every change to a brand, a membership or an ASIN must go through ``brands.services`` so that it
is authorised and audited in the same transaction; the admin's own saves would skip both. So
these pages are read-only, with the filters and search ops staff need.
"""
from django.contrib import admin

from config.admin import ReadOnlyAdminMixin

from .models import Asin, AsinMarketplace, Brand, BrandMembership


class BrandMembershipInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = BrandMembership
    fields = ("user", "role", "created_at")
    readonly_fields = fields
    extra = 0


@admin.register(Brand)
class BrandAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "name", "registry_number", "registry_status", "registry_checked_at", "dual_control", "spapi_account",
        "created_at",
    )
    list_filter = ("registry_status", "dual_control")
    search_fields = ("name", "registry_number")
    list_select_related = ("spapi_account",)
    date_hierarchy = "created_at"
    inlines = (BrandMembershipInline,)


class AsinMarketplaceInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AsinMarketplace
    fields = ("marketplace", "status", "verified_at", "catalog_brand", "catalog_category")
    readonly_fields = fields
    extra = 0


@admin.register(Asin)
class AsinAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("asin", "brand", "gcid", "title", "category", "updated_at")
    list_filter = ("brand__registry_status", "presences__marketplace", "presences__status")
    search_fields = ("=asin", "=gcid", "title", "brand__name", "=brand__registry_number")
    list_select_related = ("brand",)
    show_full_result_count = False
    inlines = (AsinMarketplaceInline,)
