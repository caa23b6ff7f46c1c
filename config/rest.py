"""REST plumbing shared by every endpoint: one error shape, pagination, throttles.

Every error leaves the API as ``{"errors": [{"code", "detail", ...}]}`` (API.md), whether it
came from a service (:class:`config.errors.ApplicationError`), DRF's own validation, parsing,
authentication, throttling, or an oversized body. Bad input never becomes a 500.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

from .errors import ApplicationError

_REQUIRED_CODES = {"required", "null", "blank", "empty"}
_DATE_CODES = {"date", "datetime", "invalid_date", "invalid_datetime"}


def _item_code(code: str | None) -> str:
    if code and code.isupper():
        return code
    if code in _REQUIRED_CODES:
        return "REQUIRED"
    if code in _DATE_CODES:
        return "INVALID_DATE"
    if code in {"max_length", "max_value", "min_value", "min_length"}:
        return "OUT_OF_RANGE"
    return "INVALID"


def _flatten(detail: Any, path: str = "") -> list[dict[str, Any]]:
    """DRF's nested validation detail → a flat list of API.md error items."""
    if isinstance(detail, dict):
        items: list[dict[str, Any]] = []
        for key, value in detail.items():
            if key == "non_field_errors":
                items += _flatten(value, path)
            elif isinstance(key, int) or str(key).isdigit():  # a list's item (ListField, many=True)
                items += _flatten(value, f"{path}[{key}]")
            else:
                items += _flatten(value, f"{path}.{key}" if path else str(key))
        return items
    if isinstance(detail, list):
        items = []
        nested = any(isinstance(v, (dict, list)) for v in detail)
        for index, value in enumerate(detail):
            items += _flatten(value, f"{path}[{index}]" if nested else path)
        return items
    code = getattr(detail, "code", None)
    item: dict[str, Any] = {"code": _item_code(code), "detail": str(detail)}
    if path:
        item["field"] = path
    return [item]


def error_response(items: list[dict[str, Any]], http_status: int, headers: dict | None = None) -> Response:
    return Response({"errors": items}, status=http_status, headers=headers)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        return error_response(exc.as_dicts(), exc.http_status)
    if isinstance(exc, RequestDataTooBig):
        return error_response([{"code": "TOO_LARGE", "detail": _("The request body is too large.")}],
                              status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Http404):
        return error_response([{"code": "NOT_FOUND", "detail": _("Not found.")}], status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoPermissionDenied):
        return error_response([{"code": "FORBIDDEN", "detail": _("You may not do this.")}], status.HTTP_403_FORBIDDEN)
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        return error_response(_flatten(exc.detail) or [{"code": "INVALID", "detail": _("Invalid input.")}],
                              status.HTTP_400_BAD_REQUEST, headers)
    code = {
        exceptions.ParseError: "INVALID_JSON",
        exceptions.NotAuthenticated: "NOT_AUTHENTICATED",
        exceptions.AuthenticationFailed: "AUTHENTICATION_FAILED",
        exceptions.PermissionDenied: "FORBIDDEN",
        exceptions.NotFound: "NOT_FOUND",
        exceptions.MethodNotAllowed: "METHOD_NOT_ALLOWED",
        exceptions.NotAcceptable: "NOT_ACCEPTABLE",
        exceptions.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
        exceptions.Throttled: "THROTTLED",
    }.get(type(exc), "ERROR")
    http_status = exc.status_code
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        http_status = status.HTTP_401_UNAUTHORIZED
        # A 401 names the scheme to use, also on views that authenticate nobody (sign-up, token).
        headers.setdefault("WWW-Authenticate", "Token")
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return error_response([{"code": code, "detail": str(detail)}], http_status, headers)


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class NewestFirstCursorPagination(CursorPagination):
    """Stable paging over very large, append-mostly tables (no COUNT, no deep OFFSET)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-at", "-id")
    invalid_cursor_message = "This is not a cursor of this list."

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": [exceptions.ErrorDetail(self.invalid_cursor_message,
                                                                               code="INVALID_CURSOR")]}) from None


class LoginRateThrottle(ScopedRateThrottle):
    """Sign-up and token endpoints: per client address, hard (brute force)."""

    scope_attr = "throttle_scope"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class CheckRateThrottle(UserRateThrottle):
    scope = "check"


class BurstUserRateThrottle(UserRateThrottle):
    scope = "user"


class BurstAnonRateThrottle(AnonRateThrottle):
    scope = "anon"
