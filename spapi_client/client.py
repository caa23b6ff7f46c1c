"""python-amazon-sp-api clients for one seller connection, paced, checked and retried.

This module and :mod:`spapi_client.operations` are the only code that imports ``sp_api``.

How a call goes (:func:`call`):

1. build the library client (:func:`build_client`):
   - credentials passed explicitly as a dict, with the library's credential-provider chain cut
     down to "from code", so it never falls back to environment variables, AWS Secrets Manager
     or a ``credentials.yml``;
   - the endpoint comes from the marketplace object passed first: ``SPAPI_ENDPOINT`` when set
     (the fake server), else Amazon's endpoint for the marketplace's region;
   - the LWA token URL is redirected by a subclass of ``sp_api.auth.AccessTokenClient`` whose
     ``scheme``/``host``/``path`` come from ``SPAPI_LWA_TOKEN_URL``, passed as
     ``auth_token_client_class``;
   - the library's HTTP transport is swapped for :class:`CheckedTransport`, which sends through
     one shared ``httpx.Client`` per process and checks the status itself: the library only
     raises when a JSON body has a non-empty ``errors`` list, so a 429 with an empty body or a
     500 with an HTML body would otherwise come back as an empty success;
2. take a token from the (seller, operation) bucket (:mod:`spapi_client.ratelimit`) at the last
   moment, when the request is about to leave (``CheckedTransport(before_send=...)``): after the
   client is built and after the LWA access token is had, which the first call of a process
   fetches over the network. Amazon's bucket counts a request when it arrives; any delay between
   our token and the request's departure that varies from one request to the next lets a request
   arrive before Amazon's token for it, and with a burst of 1 that is a 429 (bench/bench_sync.py);
3. on a transient failure (429, 500/502/503/504, time-out, connection error) retry with
   exponential back-off plus jitter, capped, at most ``SPAPI_MAX_ATTEMPTS`` attempts in all.

Secrets: the refresh token travels only inside the library's credentials and the LWA form body.
:class:`SpapiConnection` hides it from ``repr``; error messages are built from status and Amazon
error codes only (and scrubbed of the token as a last resort); nothing here logs a request.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from sp_api.api import CatalogItems, ListingsRestrictions, Products, Reports, Sellers
from sp_api.auth import AccessTokenClient, AccessTokenResponse
from sp_api.auth import access_token_client as _library_token_module
from sp_api.auth.credentials import Credentials
from sp_api.base.credential_provider import CredentialProvider, FromCodeCredentialProvider
from sp_api.base.exceptions import SellingApiException
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from . import ratelimit
from .config import SpapiConfig, get_config
from .errors import (
    SpapiAuthError,
    SpapiClientError,
    SpapiConfigurationError,
    SpapiConnectionError,
    SpapiError,
    SpapiMalformedResponse,
    SpapiNotConnected,
    SpapiRateLimitTimeout,
    SpapiServerError,
    SpapiThrottled,
    SpapiTimeout,
    SpapiTransientError,
    SpapiUnexpectedStatus,
)

__all__ = [
    "SpapiConnection",
    "SpapiResponse",
    "CallStats",
    "connection_for",
    "build_client",
    "call",
    "fetch_document",
    "lwa_client_class",
    "lwa_exchange_code",
    "clear_token_cache",
    "region_of",
    "REGION_ENDPOINTS",
    "MARKETPLACE_REGIONS",
]

logger = logging.getLogger(__name__)

LWA_OPERATION = "lwa"
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


class _HideAccessTokens(logging.Filter):
    """The library logs every request's headers at DEBUG, access token included (its logger is
    pinned at INFO, but anyone can lower it): blank the token in those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        headers = record.args
        if isinstance(headers, Mapping) and any(str(k).lower() == "x-amz-access-token" for k in headers):
            record.args = {k: "[redacted]" if str(k).lower() == "x-amz-access-token" else v for k, v in headers.items()}
        return True


logging.getLogger("sp_api.base.client").addFilter(_HideAccessTokens())

# --- marketplaces and regions -------------------------------------------------------------------

REGION_ENDPOINTS = {
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}
AWS_REGIONS = {"NA": "us-east-1", "EU": "eu-west-1", "FE": "us-west-2"}
MARKETPLACE_REGIONS = {
    "ATVPDKIKX0DER": "NA", "A2EUQ1WTGCTBG2": "NA", "A1AM78C64UM0Y8": "NA", "A2Q3Y263D00KWC": "NA",
    "A1F83G8C2ARO7P": "EU", "A1PA6795UKMFR9": "EU", "A13V1IB3VIYZZH": "EU", "APJ6JRA9NG5V4": "EU",
    "A1RKKUPIHCS9HS": "EU", "A1805IZSGTT6HS": "EU", "A2NODRKZP88ZB9": "EU", "A1C3SOZRARQ6R3": "EU",
    "AMEN7PMS3EDWL": "EU", "A28R8C7NBKEWEA": "EU", "A33AVAJ2PDY3EV": "EU", "A2VIGQ35RCS4UG": "EU",
    "A17E79C6D8DWNP": "EU", "ARBP9OOSHTCHU": "EU", "A21TJRUUN4KGV": "EU", "AE08WJ6YKNBMC": "EU",
    "A1VC38T7YXB528": "FE", "A39IBJ37TRP1C6": "FE", "A19VAU5U5O7RUS": "FE",
}
US_MARKETPLACE_ID = "ATVPDKIKX0DER"


def region_of(marketplace_id: str, default: str = "NA") -> str:
    return MARKETPLACE_REGIONS.get(marketplace_id, default)


@dataclass(frozen=True)
class _Marketplace:
    """What the library reads from its ``Marketplaces`` enum: endpoint, id, AWS region."""

    endpoint: str
    marketplace_id: str
    region: str


def _marketplace(config: SpapiConfig, marketplace_id: str, fallback_region: str) -> _Marketplace:
    region = region_of(marketplace_id, fallback_region)
    endpoint = config.endpoint or REGION_ENDPOINTS[region]
    return _Marketplace(endpoint=endpoint, marketplace_id=marketplace_id, region=AWS_REGIONS[region])


# --- the connection -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpapiConnection:
    """Who we call Amazon as: a selling partner and its (decrypted) LWA refresh token.

    ``marketplace_id``/``region`` pick the regional endpoint for calls that name no marketplace
    (participations, reports). The token is left out of ``repr`` and ``str``."""

    seller_id: str
    refresh_token: str = field(repr=False)
    marketplace_id: str = US_MARKETPLACE_ID
    region: str = "NA"

    def __post_init__(self) -> None:
        if not self.seller_id:
            raise ValueError("seller_id is required")
        if not self.refresh_token:
            raise SpapiNotConnected(f"seller {self.seller_id} has no refresh token")
        if self.region not in REGION_ENDPOINTS:
            raise ValueError(f"region must be one of {sorted(REGION_ENDPOINTS)}, got {self.region!r}")

    def __reduce__(self):  # never pickle the token into a queue or cache by accident
        raise TypeError("SpapiConnection is not picklable: pass the seller id and rebuild it")


def connection_for(seller: Any, *, marketplace: Any = None) -> SpapiConnection:
    """The connection of a ``sellers.Seller``. ``marketplace`` (a ``sellers.Marketplace`` or a
    marketplace id) picks the region; default: the seller's home marketplace, else the US.

    Raises :class:`SpapiNotConnected` when the seller has no live connection."""
    from sellers.selectors import refresh_token_of

    token = refresh_token_of(seller)
    if not token:
        raise SpapiNotConnected(f"seller {seller.seller_id} has no live SP-API connection")
    chosen = marketplace if marketplace is not None else getattr(seller, "home_marketplace", None)
    if chosen is None:
        marketplace_id, region = US_MARKETPLACE_ID, "NA"
    elif isinstance(chosen, str):
        marketplace_id, region = chosen, region_of(chosen)
    else:
        marketplace_id, region = chosen.marketplace_id, chosen.region
    return SpapiConnection(seller_id=seller.seller_id, refresh_token=token, marketplace_id=marketplace_id, region=region)


# --- HTTP -----------------------------------------------------------------------------------------

_http_lock = threading.Lock()
_http_clients: dict[int, httpx.Client] = {}
_ssl_contexts: dict[int, ssl.SSLContext] = {}


def _ssl_context() -> ssl.SSLContext:
    """One verifying SSL context per process. The library builds an ``httpx.Client`` per client
    object; handing it a ready context makes that ~1 ms instead of ~50 ms (loading the CA file)."""
    pid = os.getpid()
    context = _ssl_contexts.get(pid)
    if context is None:
        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
        _ssl_contexts[pid] = context
    return context


def _http_client() -> httpx.Client:
    """One pooled HTTP client per process (a forked worker must not reuse its parent's sockets)."""
    pid = os.getpid()
    client = _http_clients.get(pid)
    if client is None:
        with _http_lock:
            client = _http_clients.get(pid)
            if client is None:
                client = httpx.Client(verify=_ssl_context(), follow_redirects=False)
                _http_clients[pid] = client
    return client


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def _amazon_errors(response: httpx.Response) -> list[dict[str, Any]]:
    """Amazon's ``errors`` list (also the bare-list and LWA ``error`` shapes); [] if none."""
    try:
        body = response.json()
    except ValueError:
        return []
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [e for e in body["errors"] if isinstance(e, dict)]
    if isinstance(body, list):
        return [e for e in body if isinstance(e, dict) and ("code" in e or "message" in e)]
    if isinstance(body, dict) and body.get("error"):  # LWA
        return [{"code": str(body["error"]), "message": str(body.get("error_description") or "")}]
    return []


def _describe(errors: list[dict[str, Any]], response: httpx.Response) -> str:
    if errors:
        first = errors[0]
        text = ": ".join(str(first.get(k)) for k in ("code", "message") if first.get(k))
        return text + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else "")
    if not response.content.strip():
        return "empty body"
    content_type = response.headers.get("content-type", "unknown type").split(";")[0]
    return f"non-JSON {content_type} body of {len(response.content)} bytes"


def check_status(
    response: httpx.Response,
    operation: str,
    *,
    secrets: Iterable[str] = (),
    lwa: bool = False,
    expect_json: bool = True,
) -> None:
    """Raise the typed error an answer deserves; return for a 2xx with a JSON (or empty) body
    (any body when ``expect_json`` is false)."""
    status = response.status_code
    rate_limit = ratelimit.parse_rate_limit_header(response.headers.get("x-amzn-RateLimit-Limit"))
    if 200 <= status < 300:
        if expect_json and response.content.strip():
            try:
                json.loads(response.content)
            except ValueError:
                raise SpapiMalformedResponse(
                    f"{operation}: HTTP {status} with {_describe([], response)}",
                    operation=operation, status=status, rate_limit=rate_limit,
                ) from None
        return
    errors = _amazon_errors(response)
    message = _scrub(f"{operation}: HTTP {status}: {_describe(errors, response)}", secrets)
    safe_errors = [{k: _scrub(str(v), secrets) for k, v in e.items()} for e in errors]
    kwargs = {"operation": operation, "status": status, "errors": safe_errors, "rate_limit": rate_limit}
    if status == 429:
        raise SpapiThrottled(message, **kwargs)
    if status in RETRYABLE_STATUSES:
        raise SpapiServerError(message, **kwargs)
    if status in (401, 403) or (lwa and 400 <= status < 500):
        raise SpapiAuthError(message, **kwargs)
    if 400 <= status < 500:
        raise SpapiClientError(message, **kwargs)
    raise SpapiUnexpectedStatus(message, **kwargs)


class CheckedTransport:
    """Replaces the library's ``HttpxTransport`` on a client: sends through the shared pool with
    our time-out, turns network failures and non-2xx answers into typed errors, and keeps the
    last raw answer (status, headers, body) for the caller to parse. ``before_send`` runs just
    before each request leaves (the rate limiter's token)."""

    def __init__(
        self,
        *,
        operation: str,
        timeout: float,
        secrets: Iterable[str] = (),
        lwa: bool = False,
        expect_json: bool = True,
        before_send: Callable[[], None] | None = None,
    ) -> None:
        self.operation = operation
        self.timeout = timeout
        self.last_response: httpx.Response | None = None
        self._secrets = tuple(s for s in secrets if s)
        self._lwa = lwa
        self._expect_json = expect_json
        self._before_send = before_send

    def __repr__(self) -> str:
        return f"CheckedTransport(operation={self.operation!r})"

    def request(self, method, url, *, params=None, data=None, content=None, headers=None) -> httpx.Response:
        # The library sets "host" to endpoint[8:], which assumes https://; let httpx derive it.
        headers = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
        if self._before_send is not None:
            self._before_send()
        try:
            response = _http_client().request(
                method, url, params=params, data=data, content=content, headers=headers, timeout=self.timeout
            )
        except httpx.TimeoutException as exc:
            raise SpapiTimeout(
                f"{self.operation}: no answer within {self.timeout:g}s ({type(exc).__name__})", operation=self.operation
            ) from exc
        except httpx.TransportError as exc:
            detail = _scrub(str(exc), self._secrets)[:120]
            raise SpapiConnectionError(
                f"{self.operation}: {type(exc).__name__}: {detail}", operation=self.operation
            ) from exc
        self.last_response = response
        check_status(response, self.operation, secrets=self._secrets, lwa=self._lwa, expect_json=self._expect_json)
        return response

    def stream(self, *args, **kwargs):  # pragma: no cover - we never stream
        raise NotImplementedError("CheckedTransport does not stream")

    def close(self) -> None:
        """The pool is shared by every client of the process: nothing to close per client."""


# --- LWA ----------------------------------------------------------------------------------------

_TOKEN_CACHE_SIZE = 4096
_TOKEN_EXPIRY_MARGIN = 120  # seconds before expires_in at which a cached access token is renewed
_token_lock = threading.Lock()
_access_tokens: dict[str, tuple[dict[str, Any], float]] = {}  # key -> (LWA answer, expires at)


def _token_key(token_url: str, client_id: str, refresh_token: str) -> str:
    return hashlib.sha256(f"{token_url}\0{client_id}\0{refresh_token}".encode()).hexdigest()


def clear_token_cache() -> None:
    """Forget every cached access token: ours and the library's module-level caches."""
    with _token_lock:
        _access_tokens.clear()
    _library_token_module.cache.clear()
    _library_token_module.grantless_cache.clear()


class LwaTokenClient(AccessTokenClient):
    """``AccessTokenClient`` redirected to ``SPAPI_LWA_TOKEN_URL`` (see :func:`lwa_client_class`)
    and hardened:

    - the token request goes through :class:`CheckedTransport` (typed errors; the library's own
      ``_request`` calls ``response.json()`` before looking at the status, so an HTML 500 from
      LWA would surface as a ``JSONDecodeError``);
    - access tokens are cached per process until ``expires_in`` minus a margin, in a cache as big
      as the number of sellers (the library's cache ignores ``expires_in`` and holds 10 tokens,
      so a sync over more than ten sellers would refresh a token on every call);
    - the authorization-code exchange sends ``redirect_uri`` (the library leaves it out).
    """

    scheme = "https://"
    host = "api.amazon.com"
    path = "/auth/o2/token"

    def __init__(self, refresh_token=None, credentials=None, proxies=None, verify=True):
        # Not super().__init__(): that builds another httpx client (and SSL context) per client.
        self.cred = Credentials(refresh_token, credentials)
        self.proxies = proxies
        self.verify = verify
        self.redirect_uri: str | None = None
        self._transport = CheckedTransport(
            operation=LWA_OPERATION, timeout=get_config().timeout, secrets=(self.cred.refresh_token,), lwa=True
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.token_url!r})"

    @property
    def token_url(self) -> str:
        return self.scheme + self.host + self.path

    def _request(self, url, data, headers) -> dict[str, Any]:
        response = self._transport.request("POST", url, data=data, headers=headers)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("access_token"):
            raise SpapiMalformedResponse(
                f"{LWA_OPERATION}: HTTP {response.status_code} answer has no access_token", operation=LWA_OPERATION,
                status=response.status_code,
            )
        return body

    def get_auth(self) -> AccessTokenResponse:
        key = _token_key(self.token_url, self.cred.client_id or "", self.cred.refresh_token or "")
        now = time.monotonic()
        with _token_lock:
            cached = _access_tokens.get(key)
        if cached is not None and cached[1] > now:
            return AccessTokenResponse(**cached[0])
        body = self._request(self.token_url, self.data, self.headers)
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        expires_at = time.monotonic() + max(0.0, lifetime - _TOKEN_EXPIRY_MARGIN)
        entry = {k: body.get(k) for k in ("access_token", "token_type", "expires_in")}  # no refresh token
        with _token_lock:
            if len(_access_tokens) >= _TOKEN_CACHE_SIZE:
                for stale in [k for k, (_v, exp) in _access_tokens.items() if exp <= now] or [next(iter(_access_tokens))]:
                    _access_tokens.pop(stale, None)
            _access_tokens[key] = (entry, expires_at)
        return AccessTokenResponse(**entry)

    def forget(self) -> None:
        key = _token_key(self.token_url, self.cred.client_id or "", self.cred.refresh_token or "")
        with _token_lock:
            _access_tokens.pop(key, None)

    def _auth_code_request_body(self, auth_code):
        body = super()._auth_code_request_body(auth_code)
        if self.redirect_uri:
            body["redirect_uri"] = self.redirect_uri
        return body


_lwa_classes: dict[str, type[LwaTokenClient]] = {}


def lwa_client_class(token_url: str) -> type[LwaTokenClient]:
    """A subclass of :class:`LwaTokenClient` (hence of ``AccessTokenClient``) that posts to
    ``token_url``: the library builds its URL as ``scheme + host + path``."""
    cls = _lwa_classes.get(token_url)
    if cls is None:
        parts = urlsplit(token_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SpapiConfigurationError(f"SPAPI_LWA_TOKEN_URL is not an http(s) URL: {token_url!r}")
        cls = type(
            "LwaTokenClient",
            (LwaTokenClient,),
            {"scheme": f"{parts.scheme}://", "host": parts.netloc, "path": parts.path or "/auth/o2/token"},
        )
        _lwa_classes[token_url] = cls
    return cls


def _lwa_credentials(config: SpapiConfig, refresh_token: str | None) -> dict[str, str | None]:
    if not (config.lwa_client_id and config.lwa_client_secret):
        raise SpapiConfigurationError("SPAPI_LWA_CLIENT_ID and SPAPI_LWA_CLIENT_SECRET must be set")
    return {"refresh_token": refresh_token, "lwa_app_id": config.lwa_client_id, "lwa_client_secret": config.lwa_client_secret}


def lwa_exchange_code(code: str, redirect_uri: str, *, stats: CallStats | None = None) -> dict[str, Any]:
    """Exchange an authorization code for LWA tokens (``grant_type=authorization_code``).
    Returns LWA's answer (``refresh_token``, ``access_token``, ...); never log it."""
    config = get_config()
    credentials = CredentialProvider(
        credentials=_lwa_credentials(config, None), credential_providers=(FromCodeCredentialProvider,)
    ).credentials

    def attempt() -> dict[str, Any]:
        client = lwa_client_class(config.lwa_token_url)(credentials=credentials, verify=_ssl_context())
        client.redirect_uri = redirect_uri
        client._transport._secrets = (code,)  # the code is single-use, but still keep it out of messages
        answer = client.authorize_auth_code(code)
        if not answer.get("refresh_token"):
            raise SpapiMalformedResponse(f"{LWA_OPERATION}: the code exchange returned no refresh_token", operation=LWA_OPERATION)
        return answer

    return _with_retries(LWA_OPERATION, "-", attempt, config=config, stats=stats)


# --- library clients ----------------------------------------------------------------------------

# operation -> (library class, constructor extras). The library dispatches CatalogItems and
# Products on ``version``; CatalogItems defaults to 2020-12-01, which has no brand in summaries.
_OPERATION_APIS: dict[str, tuple[type, dict[str, Any]]] = {
    "getMarketplaceParticipations": (Sellers, {}),
    "createReport": (Reports, {}),
    "getReport": (Reports, {}),
    "getReportDocument": (Reports, {}),
    "searchCatalogItems": (CatalogItems, {"version": "2022-04-01"}),
    "getItemOffersBatch": (Products, {"version": "v0"}),
    "getItemOffers": (Products, {"version": "v0"}),
    "getListingsRestrictions": (ListingsRestrictions, {}),
}


def _check_environment() -> None:
    # Both change the library's behaviour at import or construction (SPAPI.md): refuse to run.
    if os.environ.get("SP_API_DEFAULT_MARKETPLACE"):
        raise SpapiConfigurationError("unset SP_API_DEFAULT_MARKETPLACE: it overrides the marketplace of every client")
    if os.environ.get("AWS_ENV", "PRODUCTION").upper() != "PRODUCTION":
        raise SpapiConfigurationError("unset AWS_ENV: it points the library at Amazon's static sandbox")


def build_client(conn: SpapiConnection, operation: str, *, marketplace_id: str | None = None,
                 before_send: Callable[[], None] | None = None):
    """The library client for ``operation`` on behalf of ``conn``, talking to ``marketplace_id``'s
    region (default: the connection's marketplace), with a :class:`CheckedTransport` that runs
    ``before_send`` just before each request leaves."""
    try:
        api_class, extras = _OPERATION_APIS[operation]
    except KeyError:
        raise SpapiConfigurationError(f"unknown SP-API operation {operation!r}", operation=operation) from None
    _check_environment()
    config = get_config()
    client = api_class(
        _marketplace(config, marketplace_id or conn.marketplace_id, conn.region),
        credentials=_lwa_credentials(config, conn.refresh_token),
        credential_providers=(FromCodeCredentialProvider,),
        auth_token_client_class=lwa_client_class(config.lwa_token_url),
        verify=_ssl_context(),
        timeout=config.timeout,
        **extras,
    )
    client._transport.close()
    client._transport = CheckedTransport(operation=operation, timeout=config.timeout, secrets=(conn.refresh_token,),
                                         before_send=before_send)
    return client


# --- calls --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpapiResponse:
    status: int
    headers: Mapping[str, str]  # case-insensitive (httpx.Headers)
    body: Any  # parsed JSON; None for an empty body
    attempts: int

    @property
    def rate_limit(self) -> float | None:
        return ratelimit.parse_rate_limit_header(self.headers.get("x-amzn-RateLimit-Limit"))


@dataclass
class CallStats:
    """Counts a caller (a sync run) can accumulate over many calls: pass the same object to each."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    throttled: int = 0
    failures: int = 0
    rate_wait_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls, "attempts": self.attempts, "retries": self.retries, "throttled": self.throttled,
            "failures": self.failures, "rate_wait_seconds": round(self.rate_wait_seconds, 3),
        }


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, SpapiTransientError) and not isinstance(exc, SpapiRateLimitTimeout)


def _log_retry(operation: str, seller_id: str, max_attempts: int) -> Callable[[RetryCallState], None]:
    def log(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "SP-API %s for seller %s: attempt %d/%d failed (%s: %s); retrying in %.2fs",
            operation, seller_id, state.attempt_number, max_attempts, type(exc).__name__, exc, wait,
        )

    return log


def _backoff(config: SpapiConfig) -> Callable[[RetryCallState], float]:
    """Exponential back-off with jitter and a cap: initial × 2^(n-1) + U(0, initial), ≤ max."""

    def wait(state: RetryCallState) -> float:
        exponential = config.backoff_initial * 2 ** (state.attempt_number - 1)
        return min(config.backoff_max, exponential + random.uniform(0, config.backoff_initial))

    return wait


def _with_retries(
    operation: str, seller_id: str, attempt: Callable[[], Any], *, config: SpapiConfig, stats: CallStats | None
):
    stats = stats if stats is not None else CallStats()
    stats.calls += 1
    retrying = Retrying(
        stop=stop_after_attempt(config.max_attempts),
        wait=_backoff(config),
        retry=retry_if_exception(_retryable),
        before_sleep=_log_retry(operation, seller_id, config.max_attempts),
        reraise=True,
    )
    number = 0
    try:
        for state in retrying:
            with state:
                number = state.retry_state.attempt_number
                stats.attempts += 1
                stats.retries += int(number > 1)
                try:
                    return attempt()
                except SpapiThrottled:
                    stats.throttled += 1
                    raise
    except SpapiError as exc:
        stats.failures += 1
        exc.attempts = number
        raise
    raise AssertionError("unreachable")  # pragma: no cover


def call(
    conn: SpapiConnection,
    operation: str,
    invoke: Callable[[Any], Any],
    *,
    marketplace_id: str | None = None,
    stats: CallStats | None = None,
    check: Callable[[SpapiResponse], None] | None = None,
) -> SpapiResponse:
    """Run ``invoke(library_client)`` for ``operation``: paced by the (seller, operation) bucket
    (its token taken as the request leaves), checked, retried. Returns the raw answer (status,
    headers, parsed JSON body) for a parser. ``check`` may raise a transient error for an answer
    that is a failure in disguise (a 429 inside a batch), which is then retried like any other.

    Raises a :class:`~spapi_client.errors.SpapiError`; its ``attempts`` says how many were made."""
    config = get_config()
    limiter = ratelimit.get_limiter()
    tracked = stats if stats is not None else CallStats()
    attempts_before = tracked.attempts

    def take_token() -> None:
        tracked.rate_wait_seconds += limiter.acquire(conn.seller_id, operation)

    def attempt() -> SpapiResponse:
        client = build_client(conn, operation, marketplace_id=marketplace_id, before_send=take_token)
        transport: CheckedTransport = client._transport
        try:
            invoke(client)
        except SellingApiException as exc:  # a 2xx whose JSON carries an ``errors`` list
            raise SpapiClientError(
                _scrub(f"{operation}: {getattr(exc, 'amzn_code', '')}: {getattr(exc, 'message', '')}", (conn.refresh_token,)),
                operation=operation, status=transport.last_response.status_code if transport.last_response else None,
            ) from None
        except SpapiAuthError:
            client._auth.forget()  # a revoked or expired access token must not be reused
            raise
        except SpapiError as exc:
            if exc.rate_limit is not None:
                limiter.note_rate_limit(conn.seller_id, operation, exc.rate_limit)
            raise
        response = transport.last_response
        assert response is not None
        limiter.note_rate_limit(
            conn.seller_id, operation, ratelimit.parse_rate_limit_header(response.headers.get("x-amzn-RateLimit-Limit"))
        )
        body = response.json() if response.content.strip() else None
        answer = SpapiResponse(
            status=response.status_code, headers=response.headers, body=body, attempts=tracked.attempts - attempts_before
        )
        if check is not None:
            check(answer)
        return answer

    return _with_retries(operation, conn.seller_id, attempt, config=config, stats=tracked)


def fetch_document(url: str, *, operation: str = "getReportDocument", stats: CallStats | None = None) -> httpx.Response:
    """GET a report document from its pre-signed URL (no token, not metered), checked and retried."""
    config = get_config()

    def attempt() -> httpx.Response:
        transport = CheckedTransport(operation=f"{operation}:download", timeout=config.timeout, expect_json=False)
        return transport.request("GET", url)

    return _with_retries(operation, "-", attempt, config=config, stats=stats)
