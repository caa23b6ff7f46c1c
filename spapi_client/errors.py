"""Typed SP-API failures. Transient ones are worth retrying; the others are final.

Messages are built here from the operation, the HTTP status and Amazon's error code and message
only: never from request parameters, headers or bodies, so a refresh token (or access token)
cannot end up in a message, a repr or a log line.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "SpapiError",
    "SpapiTransientError",
    "SpapiThrottled",
    "SpapiServerError",
    "SpapiTimeout",
    "SpapiConnectionError",
    "SpapiRateLimitTimeout",
    "SpapiClientError",
    "SpapiAuthError",
    "SpapiMalformedResponse",
    "SpapiUnexpectedStatus",
    "SpapiNotConnected",
    "SpapiConfigurationError",
]

MAX_MESSAGE = 300


class SpapiError(Exception):
    """Base of every failure ``spapi_client`` raises.

    ``operation``: the SP-API operation (``getReport``) or ``"lwa"``; ``status``: HTTP status when
    there was an answer; ``errors``: Amazon's ``errors`` list (code/message/details), if any;
    ``attempts``: how many attempts the call made before giving up (set by the retry loop).
    """

    code = "SPAPI_ERROR"
    transient = False

    def __init__(
        self,
        message: str,
        *,
        operation: str = "",
        status: int | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
        rate_limit: float | None = None,
    ) -> None:
        message = message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.status = status
        self.errors = tuple(dict(e) for e in errors if isinstance(e, Mapping))
        self.rate_limit = rate_limit
        self.attempts = 0

    @property
    def amazon_code(self) -> str | None:
        return str(self.errors[0].get("code")) if self.errors and self.errors[0].get("code") else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, operation={self.operation!r}, status={self.status!r})"


class SpapiTransientError(SpapiError):
    """Worth retrying later: throttled, server trouble, network trouble."""

    code = "SPAPI_TRANSIENT"
    transient = True


class SpapiThrottled(SpapiTransientError):
    """HTTP 429 (with Amazon's QuotaExceeded body or with none at all)."""

    code = "SPAPI_THROTTLED"


class SpapiServerError(SpapiTransientError):
    """HTTP 500, 502, 503 or 504, whatever the body (JSON errors, HTML, nothing)."""

    code = "SPAPI_SERVER_ERROR"


class SpapiTimeout(SpapiTransientError):
    code = "SPAPI_TIMEOUT"


class SpapiConnectionError(SpapiTransientError):
    """Could not connect, or the connection broke before an answer."""

    code = "SPAPI_CONNECTION_ERROR"


class SpapiRateLimitTimeout(SpapiTransientError):
    """Our own token bucket would make the call wait longer than ``SPAPI_RATE_MAX_WAIT``.
    Transient (try again later) but not retried inside the call: it already waited."""

    code = "SPAPI_RATE_LIMIT_WAIT"


class SpapiClientError(SpapiError):
    """HTTP 4xx other than 429: the request itself is wrong or not allowed. Final."""

    code = "SPAPI_CLIENT_ERROR"


class SpapiAuthError(SpapiClientError):
    """HTTP 401/403 from SP-API, or LWA refusing the token exchange (``invalid_grant``...):
    the connection is revoked or the credentials are wrong. Final."""

    code = "SPAPI_AUTH_ERROR"


class SpapiMalformedResponse(SpapiError):
    """A success status whose body is not the JSON the operation promises. Final."""

    code = "SPAPI_MALFORMED_RESPONSE"


class SpapiUnexpectedStatus(SpapiError):
    """A status that is neither success, 4xx nor a retryable 5xx (e.g. 501, a redirect). Final."""

    code = "SPAPI_UNEXPECTED_STATUS"


class SpapiNotConnected(SpapiError):
    """The seller has no live SP-API connection (no refresh token). Final."""

    code = "SELLER_NOT_CONNECTED"


class SpapiConfigurationError(SpapiError):
    """Missing LWA credentials or application id, or a library-hostile environment. Final."""

    code = "SPAPI_CONFIGURATION_ERROR"
