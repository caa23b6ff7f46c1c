"""Connecting and disconnecting seller accounts (API.md "Sellers"): SP-API website authorization.

- ``POST /api/v1/sellers/connect`` → ``{consent_url, state}``;
- ``GET /spapi/callback?state=&selling_partner_id=&spapi_oauth_code=`` — Amazon's redirect
  target; authenticates by ``state``. A browser is redirected on; ``Accept: application/json``
  gets the seller;
- ``POST /api/v1/sellers/{seller_id}/disconnect`` — a partner of the seller forgets its token.
"""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.context import Actor
from authorizations.visibility import sellers_visible_to
from config.api_support import actor_of, get_visible, path_key
from config.errors import ApplicationError
from sellers import oauth, services
from sellers.models import SELLER_ID_REGEX, Seller

from .serializers import SellerSerializer

ERROR = {"$ref": "#/components/schemas/ErrorResponse"}  # added to the schema by config.openapi
NO_STORE = {"Cache-Control": "no-store"}

ConnectStartSerializer = inline_serializer("SellerConnectStart", {
    "consent_url": serializers.URLField(help_text="Seller Central's consent page: send the seller's browser there."),
    "state": serializers.CharField(help_text="Single-use, bound to you, valid for 10 minutes; Amazon sends it back "
                                             "to /spapi/callback."),
})


class ConnectStartView(APIView):
    @extend_schema(
        operation_id="sellers_connect",
        summary="Start connecting a Seller Central account (SP-API website authorization)",
        description=(
            "Returns the consent URL to send the seller's browser to. It carries `application_id`, `state`, "
            "`redirect_uri` (`SITE_URL/spapi/callback`) and `version=beta` while the app is a draft. After "
            "consenting, Amazon redirects to `/spapi/callback`, which connects the account to you."
        ),
        request=None,
        responses={200: ConnectStartSerializer,
                   503: OpenApiResponse(ERROR, description="SP-API is not configured here (SPAPI_NOT_CONFIGURED)")},
    )
    def post(self, request):
        consent_url, state = oauth.connect_start(user=request.user)
        return Response({"consent_url": consent_url, "state": state}, headers=NO_STORE)


class _JsonWhateverAccepted(BaseContentNegotiation):
    """The callback answers JSON (its errors, ``Accept: application/json``) or a redirect, so a
    browser's ``Accept: text/html`` must not turn into a 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def wants_json(request) -> bool:
    """``Accept: application/json`` preferred over HTML (a browser's ``*/*`` does not count)."""
    django_request = getattr(request, "_request", request)
    return django_request.get_preferred_type(["text/html", "application/json"]) == "application/json" and any(
        t.main_type == "application" and t.sub_type == "json" for t in django_request.accepted_types)


def asks_for_html(request) -> bool:
    """``text/html`` named in ``Accept`` (as browsers do; ``*/*`` alone does not count)."""
    django_request = getattr(request, "_request", request)
    return any(t.main_type == "text" and t.sub_type == "html" for t in django_request.accepted_types)


CALLBACK_PARAMETERS = [
    OpenApiParameter("state", str, required=True, description="The state of POST /api/v1/sellers/connect"),
    OpenApiParameter("selling_partner_id", str, required=True, description="The merchant id that consented"),
    OpenApiParameter("spapi_oauth_code", str, required=True, description="LWA authorization code (single use)"),
]


class SpapiCallbackView(APIView):
    """Amazon's redirect after the seller consented. Authenticates by ``state``."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _JsonWhateverAccepted

    @extend_schema(
        operation_id="spapi_callback",
        summary="SP-API website authorization callback (browser redirect target)",
        description=(
            "Validates `state` (bound to the user who started the flow, single-use, expires after 10 minutes; a "
            "session, if present, must be that user's), exchanges the code for a refresh token at LWA, creates or "
            "updates the seller, links the user as its partner and queues its first sync. A browser is redirected "
            "(302) to the seller's page; `Accept: application/json` gets 200 with the seller. A bad, reused or "
            "expired state answers 400 `INVALID_STATE` and stores nothing (a browser, whose `Accept` names "
            "`text/html`, gets an HTML page saying so in its language; other clients the JSON error)."
        ),
        parameters=CALLBACK_PARAMETERS,
        responses={
            200: OpenApiResponse(SellerSerializer, description="With `Accept: application/json`: the connected seller"),
            302: OpenApiResponse(description="Browsers: redirected to the connected seller's page "
                                             "(`/partner/sellers/{seller_id}/`) with a success message"),
            400: OpenApiResponse(ERROR, description=(
                "`INVALID_STATE` (missing, unknown, used, expired, or another user's), `REQUIRED`, "
                "`INVALID_SELLER_ID` (malformed selling_partner_id), `SPAPI_EXCHANGE_FAILED` (LWA refused the "
                "code: start again); nothing is stored"),
                examples=[OpenApiExample("Invalid state", value={"errors": [{
                    "code": "INVALID_STATE", "field": "state",
                    "detail": "This authorization link is invalid, already used or expired. Start connecting the "
                              "seller account again."}]})]),
            502: OpenApiResponse(ERROR, description=(
                "`SPAPI_EXCHANGE_FAILED`: LWA failed or could not be reached; nothing is stored and the state is "
                "used up: start again")),
        },
        auth=[{}, {"tokenAuth": []}, {"cookieAuth": []}],
    )
    def get(self, request):
        as_json = wants_json(request)
        user = request.user if request.user.is_authenticated else None
        seller = oauth.connect_complete(
            state=request.query_params.get("state"),
            selling_partner_id=request.query_params.get("selling_partner_id"),
            spapi_oauth_code=request.query_params.get("spapi_oauth_code"),
            session_user=user,
            request_actor=Actor.for_request(request, source="api" if as_json else "web"),
        )
        if not as_json:
            messages.success(request._request, _(
                "Seller Central account %(seller)s is connected. Its marketplaces and account health are read "
                "by its first sync.") % {"seller": seller.seller_id})
            response = HttpResponseRedirect(reverse("partner:seller", kwargs={"seller_id": seller.seller_id}))
        else:
            seller = Seller.objects.select_related("connection").prefetch_related("participations").get(pk=seller.pk)
            response = Response(SellerSerializer(seller).data)
        response["Cache-Control"] = "no-store"
        return response

    def handle_exception(self, exc):
        """A browser (asking for HTML by name, not preferring JSON) gets a page in its language
        saying why and what to do; every other client keeps the JSON errors."""
        request = self.request
        if isinstance(exc, ApplicationError) and asks_for_html(request) and not wants_json(request):
            response = render(request._request, "sellers/connect_failed.html",
                              {"errors": exc.as_dicts(), "exception": exc}, status=exc.http_status)
            response["Cache-Control"] = "no-store"
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # The URL holds the code and the state: never pass it on as a Referer.
        response["Referrer-Policy"] = "no-referrer"
        return response


class SellerDisconnectView(APIView):
    @extend_schema(
        operation_id="sellers_disconnect",
        summary="Disconnect a seller account (forget its SP-API refresh token)",
        description="A partner of the seller. The seller then fails `SELLER_NOT_CONNECTED` until it is connected "
                    "again. Disconnecting a seller that is not connected does nothing.",
        request=None,
        responses={204: None,
                   403: OpenApiResponse(ERROR, description="Not a partner of the seller (FORBIDDEN)"),
                   404: OpenApiResponse(ERROR, description="No such seller, or not visible to you")},
    )
    def post(self, request, seller_id: str):
        seller = get_visible(sellers_visible_to(request.user), seller_id=path_key(seller_id, SELLER_ID_REGEX))
        services.seller_disconnect(actor=actor_of(request), seller=seller)
        return Response(status=status.HTTP_204_NO_CONTENT)
