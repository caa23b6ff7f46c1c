"""REST plumbing shared by every endpoint: one error shape, pagination, throttles.

Every error leaves the API as ``{"errors": [{"code", "detail", ...}]}`` (API.md), whether it
came from a service (:class:`config.errors.ApplicationError`), DRF's own validation, parsing,
authentication, throttling, or an oversized body. Bad input never becomes a 500.
"""
from __future__ import annotations

import threading
import time
import weakref
from datetime import datetime
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db.models import Q
from django.http import Http404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.negotiation import BaseContentNegotiation
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
    """Stable paging over very large, append-mostly tables (no COUNT, no deep OFFSET).

    The position is the last row's ``(at, id)`` — a keyset, unique — not only its ``at``: one
    bulk grant writes thousands of events with the same time, and DRF's at-only cursor pages
    through ties by OFFSET, which it caps at 1,000 (past that, ``next`` served the same page
    forever). With the id in the position every page is one index range scan
    (``at <= position``, ties broken by id), however deep. Cursors of the at-only form still
    decode and page as before."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-at", "-id")
    invalid_cursor_message = "This is not a cursor of this list."

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            raise self._invalid() from None
        if cursor is not None and cursor.position is not None and "|" in cursor.position:
            self._keyset(cursor.position)  # a malformed position is a 400, here
        return cursor

    def _invalid(self) -> exceptions.ValidationError:
        return exceptions.ValidationError({"cursor": [exceptions.ErrorDetail(self.invalid_cursor_message,
                                                                           code="INVALID_CURSOR")]})

    def _keyset(self, position: str) -> tuple[datetime, int]:
        at_text, _sep, id_text = position.rpartition("|")
        try:
            at, pk = parse_datetime(at_text), int(id_text)
        except ValueError:
            raise self._invalid() from None
        if at is None or pk < 0:
            raise self._invalid()
        return at, pk

    def _get_position_from_instance(self, instance, ordering):
        if isinstance(instance, dict):
            at, pk = instance["at"], instance["id"]
        else:
            at, pk = instance.at, instance.pk
        return f"{at.isoformat()}|{pk}"

    def paginate_queryset(self, queryset, request, view=None):
        self.cursor = self.decode_cursor(request)
        position = self.cursor.position if self.cursor is not None else None
        if position is None or "|" not in position:
            return super().paginate_queryset(queryset, request, view)  # first page, or an at-only cursor
        at, pk = self._keyset(position)
        # Rows after the position in the cursor's direction: newest-first, or back for "previous".
        if self.cursor.reverse:
            queryset = queryset.filter(Q(at__gt=at) | Q(at=at, id__gt=pk), at__gte=at)
        else:
            queryset = queryset.filter(Q(at__lt=at) | Q(at=at, id__lt=pk), at__lte=at)
        return self._page_after(queryset, request, view, position)

    def _page_after(self, queryset, request, view, position: str):
        """DRF's paging, the position's filter already applied (offsets are always 0: positions are unique)."""
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        reverse = self.cursor.reverse
        ordering = [o[1:] if o.startswith("-") else f"-{o}" for o in self.ordering] if reverse else self.ordering
        results = list(queryset.order_by(*ordering)[:self.page_size + 1])
        self.page = results[:self.page_size]
        following = self._get_position_from_instance(results[-1], self.ordering) if len(results) > len(self.page) else None
        if reverse:
            self.page.reverse()
            self.has_next, self.next_position = True, position
            self.has_previous, self.previous_position = following is not None, following
        else:
            self.has_next, self.next_position = following is not None, following
            self.has_previous, self.previous_position = True, position
        if (self.has_previous or self.has_next) and self.template is not None:
            self.display_page_controls = True
        return self.page


class LoginRateThrottle(ScopedRateThrottle):
    """Sign-up and token endpoints: per client address, hard (brute force)."""

    scope_attr = "throttle_scope"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


# One atomic step of a token bucket: refill at ``rate`` tokens/s up to ``capacity`` since the
# last call (Redis's own clock, shared by every web process), then take up to ``want`` tokens
# (as many as there are, whole ones). Returns {tokens taken, tokens left (string: Lua numbers
# become integers on the way out)}.
_TOKEN_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
if tokens == nil then
  tokens = capacity
else
  tokens = math.min(capacity, tokens + math.max(0, now - tonumber(state[2])) * rate)
end
local taken = math.min(want, math.floor(tokens))
tokens = tokens - taken
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {taken, tostring(tokens)}
"""
_bucket_scripts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class TokenBucketUserRateThrottle(UserRateThrottle):
    """DRF's per-user rate, as a token bucket kept in Redis by one Lua script: atomic across
    processes (DRF's own throttle reads a list of timestamps, rewrites it, and under concurrency
    can lose updates), the same size whatever the rate. ``N/period`` sustains N requests per
    period with bursts of up to N. Without a Redis cache (tests, the embedded demo) it is DRF's
    throttle, unchanged.

    A process takes its tokens from the shared bucket ``LEASE_SHARE`` of a second's worth at a
    time (at least one) and spends them locally for up to ``LEASE_SECONDS``: at 300 requests/s
    one Redis round trip serves 6 requests. Every request still spends a token of the shared
    bucket, so the rate holds across processes; a token leased and not spent in time is dropped
    (the caller gets slightly less, never more, than the rate over any period longer than the
    lease's life, and a burst at most a lease per process above ``N``)."""

    LEASE_SHARE = 1 / 50  # of a second's worth of tokens, taken from Redis at once
    LEASE_SECONDS = 1.0
    _leases: dict[str, tuple[int, float]] = {}  # bucket key -> (tokens in hand, usable until); per process
    _lock = threading.Lock()

    def allow_request(self, request, view):
        cache = caches["default"]
        if self.rate is None or not isinstance(cache, RedisCache):
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        key = cache.make_key(f"bucket:{self.key}")  # not DRF's key: that one holds a list
        now = time.monotonic()
        with self._lock:
            in_hand, until = self._leases.get(key, (0, 0.0))
            if in_hand > 0 and now < until:
                self._leases[key] = (in_hand - 1, until)
                return True
        per_second = self.num_requests / self.duration
        script = _bucket_scripts.get(cache)
        if script is None:
            # Django builds a client per cache call; the bucket keeps one (its pool is shared).
            script = _bucket_scripts[cache] = cache._cache.get_client(write=True).register_script(_TOKEN_BUCKET_LUA)
        want = max(1, int(per_second * self.LEASE_SHARE))
        taken, tokens = script(keys=[key], args=[self.num_requests, per_second, want])
        if taken:
            with self._lock:
                if len(self._leases) > 10_000:  # callers come and go: forget the stale leases
                    for stale in [k for k, (_n, usable_until) in self._leases.items() if usable_until <= now]:
                        del self._leases[stale]
                self._leases[key] = (int(taken) - 1, now + self.LEASE_SECONDS)
            return True
        self._wait = (1 - float(tokens)) * self.duration / self.num_requests
        return False

    def wait(self):
        if hasattr(self, "_wait"):
            return self._wait
        return super().wait()


class JSONOnlyNegotiation(BaseContentNegotiation):
    """For a GET endpoint that only ever answers JSON (the check): no parsing of the Accept
    header on the hot path (DRF's documented "ignore the client" negotiation)."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class CheckRateThrottle(TokenBucketUserRateThrottle):
    scope = "check"


class BurstUserRateThrottle(UserRateThrottle):
    scope = "user"


class BurstAnonRateThrottle(AnonRateThrottle):
    scope = "anon"
