"""/api/v1/ — every endpoint of API.md."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from audit.api.views import AuditEventViewSet
from authorizations.api.views import (
    CheckBatchView, CheckView, DiagnoseView, GrantViewSet, RequestViewSet, RevokeAllView,
)
from authorizations.api.changes import GrantChangesView
from authorizations.api.findings import BrandFindingsView
from brands.api.sync import BrandSyncView
from brands.api.views import BrandViewSet
from sellers.api.connect import ConnectStartView, SellerDisconnectView
from sellers.api.views import MarketplaceViewSet, SellerViewSet
from spapi_client.api import JobView

from .api_views import MeView, RegisterView, TokenView

router = SimpleRouter(trailing_slash=False)
router.register("marketplaces", MarketplaceViewSet, basename="marketplace")
router.register("brands", BrandViewSet, basename="brand")
router.register("sellers", SellerViewSet, basename="seller")
router.register("grants", GrantViewSet, basename="grant")
router.register("requests", RequestViewSet, basename="request")
router.register("audit-events", AuditEventViewSet, basename="audit-event")

urlpatterns = [
    path("auth/register", RegisterView.as_view(), name="auth-register"),
    path("auth/token", TokenView.as_view(), name="auth-token"),
    path("me", MeView.as_view(), name="me"),
    path("grants/changes", GrantChangesView.as_view(), name="grant-changes"),
    path("check", CheckView.as_view(), name="check"),
    path("check/batch", CheckBatchView.as_view(), name="check-batch"),
    path("diagnose", DiagnoseView.as_view(), name="diagnose"),
    path("jobs/<str:job_id>", JobView.as_view(), name="job"),
    path("brands/<str:brand_id>/sellers/<str:seller_id>/revoke-all", RevokeAllView.as_view(), name="revoke-all"),
    # Before the router: "sellers/connect" would otherwise be read as a seller id.
    path("sellers/connect", ConnectStartView.as_view(), name="seller-connect"),
    path("sellers/<str:seller_id>/disconnect", SellerDisconnectView.as_view(), name="seller-disconnect"),
    path("brands/<str:brand_id>/sync", BrandSyncView.as_view(), name="brand-sync"),
    path("brands/<str:brand_id>/findings", BrandFindingsView.as_view(), name="brand-findings"),
    *router.urls,
]
