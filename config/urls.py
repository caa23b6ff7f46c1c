from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from sellers.api.connect import SpapiCallbackView

from .api_views import HealthzView

urlpatterns = [
    # Until the web app's pages exist, the home of the product is its API documentation.
    path("", RedirectView.as_view(pattern_name="api-docs", permanent=False), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", HealthzView.as_view(), name="healthz"),
    # SP-API website authorization: Amazon sends the seller's browser back here (SITE_URL + this path).
    path("spapi/callback", SpapiCallbackView.as_view(), name="spapi-callback"),
]

handler404 = "config.api_views.not_found"
