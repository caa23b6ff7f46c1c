"""/api/v1/ — every endpoint of API.md."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from audit.api.views import AuditEventViewSet
from authorizations.api.views import (
    CheckBatchView, CheckView, DiagnoseView, GrantViewSet, RequestViewSet, RevokeAllView,
)
from authorizations.api.changes import GrantChangesView
from brands.api.views import BrandViewSet
from sellers.api.views import MarketplaceViewSet, SellerViewSet

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
    path("brands/<str:brand_id>/sellers/<str:seller_id>/revoke-all", RevokeAllView.as_view(), name="revoke-all"),
    *router.urls,
]
