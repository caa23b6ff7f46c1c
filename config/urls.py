from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from sellers.api.connect import SpapiCallbackView

from . import web
from .api_views import HealthzView
from .security import ApiDocsView

urlpatterns = [
    # --- The web app (server-rendered pages, htmx) ---
    path("", web.home, name="home"),
    path("accounts/signup/", web.SignupView.as_view(), name="signup"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("brands/", include("brands.web.urls")),
    path("brands/<int:brand_id>/", include("authorizations.web.urls")),
    path("partner/", include("sellers.web.urls")),
    path("ops/", include("audit.web.urls")),
    # --- Admin, API, probes ---
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", HealthzView.as_view(), name="healthz"),
    # SP-API website authorization: Amazon sends the seller's browser back here (SITE_URL + this path).
    path("spapi/callback", SpapiCallbackView.as_view(), name="spapi-callback"),
]

handler404 = "config.api_views.not_found"
