"""Login lockout (django-axes) and the Content-Security-Policy (django-csp).

Lockout: ``LOGIN_FAILURE_LIMIT`` failed logins for one username from one address lock that pair
out for ``LOGIN_COOLOFF_MINUTES`` (settings ``AXES_*``), on every way in: the web login form, the
admin's, and the API token endpoint (:class:`config.api_views.TokenView`, which answers 429
``LOCKED_OUT`` itself). Each lockout is written to the audit trail as ``auth.locked_out``.

Content-Security-Policy: ``CONTENT_SECURITY_POLICY`` (settings) for every response, with the
SP-API consent page's origin added to ``form-action`` at request time
(:class:`ContentSecurityPolicyMiddleware`); /api/docs/ also allows its own inline script and
style by nonce (:class:`ApiDocsView`).
"""
from __future__ import annotations

import functools
from urllib.parse import urlsplit

from axes.backends import AxesStandaloneBackend
from axes.signals import user_locked_out
from csp.constants import NONCE
from csp.decorators import csp_update
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import engines
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import ngettext
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerView

from audit import services as audit
from audit.context import Actor
from spapi_client.config import DEFAULT_CONSENT_URL

from .db import locking_atomic
from .errors import ApplicationError

LOCKED_OUT_ACTION = "auth.locked_out"
LOCKED_OUT_TEMPLATE = "registration/locked_out.html"


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' check, first of ``AUTHENTICATION_BACKENDS``: a locked-out username and address
    pair is refused before any password is checked.

    A login always comes with its request (form, admin, token endpoint). ``authenticate()``
    without one — Django's test client, a shell — is no client's attempt: axes would raise; here
    it is passed on to the next backend, uncounted."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class LockedOut(ApplicationError):
    """Too many failed logins for this username from this address (HTTP 429)."""

    http_status = 429
    default_code = "LOCKED_OUT"


def cool_off_minutes() -> int:
    return max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def locked_out_error() -> LockedOut:
    minutes = cool_off_minutes()
    return LockedOut(ngettext(
        "Too many failed logins for this username from your address. Try again in %(minutes)s minute.",
        "Too many failed logins for this username from your address. Try again in %(minutes)s minutes.",
        minutes) % {"minutes": minutes})


def lockout_client_ip(request) -> str | None:
    """``AXES_CLIENT_IP_CALLABLE``: the address the request middleware settled on (proxy-aware)."""
    return getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR")


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: what a locked-out login gets — the API's error shape under
    /api/, else the lockout page; 429 with ``Retry-After`` either way."""
    error = locked_out_error()
    if request.path.startswith("/api/"):
        response = JsonResponse({"errors": error.as_dicts()}, status=error.http_status)
    else:
        response = render(request, LOCKED_OUT_TEMPLATE, {"minutes": cool_off_minutes()}, status=error.http_status)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


@receiver(user_locked_out, dispatch_uid="config.security.lockout_audit")
def lockout_audit(sender, request, username: str | None, ip_address: str | None, **kwargs) -> None:
    """Record ``auth.locked_out`` when a username and address pair gets locked out.

    axes signals every refused try while the lockout lasts; one event per lockout is enough, so
    nothing is written while an event for the same pair is younger than the cool-off (a lockout
    kept alive by further tries for longer is recorded again, with the count so far)."""
    from audit.models import AuditEvent  # noqa: PLC0415 (models load after the apps)

    name = (username or "")[:64]
    ip = audit._normal_ip(ip_address)  # as the recorder stores it
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    with locking_atomic():
        recorded = AuditEvent.objects.filter(action=LOCKED_OUT_ACTION, object_type="login", object_id=name, ip=ip,
                                             at__gte=since)
        if recorded.exists():
            return
        audit.record(Actor.for_request(request), audit.event(
            LOCKED_OUT_ACTION, object_type="login", object_id=name,
            after={"username": name, "failures": getattr(request, "axes_failures_since_start", None),
                   "cool_off_minutes": cool_off_minutes()}))


def consent_origin() -> str:
    """The origin of Amazon's consent page (or the fake server's) as the settings say now: the
    demo points ``SPAPI_CONSENT_URL`` at its fake server at run time."""
    parts = urlsplit(settings.SPAPI_CONSENT_URL or DEFAULT_CONSENT_URL)
    return f"{parts.scheme}://{parts.netloc}"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware; ``form-action`` also allows :func:`consent_origin` (the
    seller-connect form's redirect goes there)."""

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only:
            update = dict(parts.update or {})
            update["form-action"] = [*update.get("form-action", ()), consent_origin()]
            parts.update = update
        return parts


# drf-spectacular's Swagger UI page (drf_spectacular/swagger_ui.html) with the request's CSP nonce
# on its two inline blocks, the start-up script and a few style rules; everything else it loads
# is a static file of drf-spectacular-sidecar.
SWAGGER_UI_PAGE = """{% extends "drf_spectacular/swagger_ui.html" %}
{% block head %}
    <title>{{ title|default:"Swagger" }}</title>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    {% if favicon_href %}<link rel="icon" href="{{ favicon_href }}">{% endif %}
    <link rel="stylesheet" href="{{ swagger_ui_css }}">
    <style nonce="{{ request.csp_nonce }}">
      html { box-sizing: border-box; overflow-y: scroll; }
      *, *:after, *:before { box-sizing: inherit; }
      body { background: #fafafa; margin: 0; }
    </style>
{% endblock head %}
{% block body %}
    <div id="swagger-ui"></div>
    <script src="{{ swagger_ui_bundle }}"></script>
    <script src="{{ swagger_ui_standalone }}"></script>
    <script nonce="{{ request.csp_nonce }}">
    {% include template_name_js %}
    </script>
{% endblock body %}
"""


@functools.cache
def swagger_ui_page():
    return engines["django"].from_string(SWAGGER_UI_PAGE)


class ApiDocsView(SpectacularSwaggerView):
    """/api/docs/: Swagger UI under the site's Content-Security-Policy, widened for this page by
    the request's nonce only (its inline script and style carry it)."""

    @extend_schema(exclude=True)
    @method_decorator(csp_update({"script-src": [NONCE], "style-src": [NONCE]}))
    def get(self, request, *args, **kwargs):
        page = super().get(request, *args, **kwargs)
        return HttpResponse(swagger_ui_page().render(page.data, request), headers=page.headers)
