"""A fake SP-API (and LWA, and consent page) on loopback, for tests, the demo and benchmarks.

Real HTTP (``http.server.ThreadingHTTPServer``), Amazon's answer shapes (built on the model
files' sandbox examples), Amazon's token buckets per (selling partner, operation) with the
same speed-up factor as the client, Amazon's 429 body, and fault injection.

Run it: ``python manage.py fake_spapi --port 8100 --scenario path.json --speedup 50``; or in a
test: ``fake = FakeSpapi(scenario, speedup=50).start(); fake.url; fake.stop()``, with the app
pointed at it by ``fake.app_settings()`` (the tests' ``fake_spapi_live`` fixture does both).

Endpoints
- ``POST /auth/o2/token`` — LWA: ``grant_type=authorization_code`` (code from the consent
  page, single use) → refresh + access token; ``grant_type=refresh_token`` → access token.
- ``GET /apps/authorize/consent?application_id=&state=&redirect_uri=&version=`` — 302 straight
  back to ``redirect_uri`` with ``state``, ``selling_partner_id`` and ``spapi_oauth_code``.
- The operations of ``ratelimit.USAGE_PLANS`` at Amazon's paths; the caller is the selling
  partner of the ``x-amz-access-token`` header. The ``Host`` header is ignored (the library
  sends garbage for ``http://`` endpoints) and unknown query parameters are tolerated (the
  library adds four spellings of the marketplace to GET calls).
- ``GET /_fake/documents/{id}`` — report documents (the pre-signed URL), ``charset=utf-8``,
  GZIP-compressed when the scenario says so.
- Control: ``POST /_fake/faults`` ``{"operation", "kind", "count", "delay"}`` (kinds: ``429``,
  ``429empty``, ``html500``, ``500``, ``503``, ``timeout``, ``malformed``, ``400``, ``403``;
  operation ``*`` = any); ``GET /_fake/stats`` → ``{operation: {served, throttled, faulted}}``;
  ``POST /_fake/reset``; ``POST /_fake/consent`` ``{"seller_id"}`` (who consents next);
  ``POST /_fake/revoke`` ``{"seller_id"}``; ``POST /_fake/scenario`` (replace the world).

Scenario (JSON; see ``scenarios/basic.json``)::

    {"lwa": {"client_id": "...", "client_secret": "...", "app_id": "..."},   # optional checks
     "consent": {"seller_id": "A..."},                      # who consents (default: first seller)
     "rate_limits": {"getListingsRestrictions": 1},         # reduced rates, sent as x-amzn-RateLimit-Limit
     "report_polls": 3,                                     # getReport polls until final (default)
     "sellers": {"A...": {"name", "refresh_token", "store_name",
                          "participations": ["ATVPDKIKX0DER" | {"marketplace_id", "is_participating",
                                                                  "has_suspended_listings"}],
                          "health_report": {...Amazon's report...},
                          "report": {"polls": 3, "outcome": "DONE" | "FATAL" | "CANCELLED", "gzip": true},
                          "restrictions": {"ASIN": {"MARKETPLACE_ID": [{"reasonCode", "message", "links"}]}}}},
     "catalog": {"ASIN": {"MARKETPLACE_ID": {"brand", "title", "classification": ["Root", ..., "Leaf"],
                                             "identifiers": {"EAN": "..."}}}},
     "offers": {"ASIN": {"MARKETPLACE_ID": [{"seller_id", "price", "currency", "buy_box", "fba",
                                             "condition", "shipping"}]}}}
"""
from __future__ import annotations

import copy
import email.utils
import gzip
import json
import logging
import re
import secrets
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from ..ratelimit import USAGE_PLANS, InProcessTokenBucket

__all__ = ["FakeSpapi", "load_scenario", "QUOTA_EXCEEDED_BODY", "FAULT_KINDS", "BASIC_SCENARIO"]

logger = logging.getLogger(__name__)

BASIC_SCENARIO = Path(__file__).resolve().parent / "scenarios" / "basic.json"
QUOTA_EXCEEDED_BODY = (
    b'{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource.",'
    b'"details":""}]}'
)
FAULT_KINDS = ("429", "429empty", "html500", "500", "503", "timeout", "malformed", "400", "403")
LWA = "lwa"
DOCUMENT_DOWNLOAD = "documentDownload"
SUPPORTED_REPORT_TYPES = {"GET_V2_SELLER_PERFORMANCE_REPORT"}
# What app_settings() names when the scenario has no "lwa" block (the fake then accepts any).
DEFAULT_LWA = {"client_id": "amzn1.application-oa2-client.fake", "client_secret": "fake-lwa-client-secret",
               "app_id": "amzn1.sp.solution.fake-app"}
ACCESS_TOKEN_SECONDS = 3600

# marketplace id -> (country code, name, currency, language, domain)
MARKETPLACES: dict[str, tuple[str, str, str, str, str]] = {
    "ATVPDKIKX0DER": ("US", "Amazon.com", "USD", "en_US", "www.amazon.com"),
    "A2EUQ1WTGCTBG2": ("CA", "Amazon.ca", "CAD", "en_CA", "www.amazon.ca"),
    "A1AM78C64UM0Y8": ("MX", "Amazon.com.mx", "MXN", "es_MX", "www.amazon.com.mx"),
    "A2Q3Y263D00KWC": ("BR", "Amazon.com.br", "BRL", "pt_BR", "www.amazon.com.br"),
    "A1F83G8C2ARO7P": ("GB", "Amazon.co.uk", "GBP", "en_GB", "www.amazon.co.uk"),
    "A1PA6795UKMFR9": ("DE", "Amazon.de", "EUR", "de_DE", "www.amazon.de"),
    "A13V1IB3VIYZZH": ("FR", "Amazon.fr", "EUR", "fr_FR", "www.amazon.fr"),
    "APJ6JRA9NG5V4": ("IT", "Amazon.it", "EUR", "it_IT", "www.amazon.it"),
    "A1RKKUPIHCS9HS": ("ES", "Amazon.es", "EUR", "es_ES", "www.amazon.es"),
    "A1805IZSGTT6HS": ("NL", "Amazon.nl", "EUR", "nl_NL", "www.amazon.nl"),
    "A2NODRKZP88ZB9": ("SE", "Amazon.se", "SEK", "sv_SE", "www.amazon.se"),
    "A1C3SOZRARQ6R3": ("PL", "Amazon.pl", "PLN", "pl_PL", "www.amazon.pl"),
    "AMEN7PMS3EDWL": ("BE", "Amazon.com.be", "EUR", "fr_BE", "www.amazon.com.be"),
    "A28R8C7NBKEWEA": ("IE", "Amazon.ie", "EUR", "en_IE", "www.amazon.ie"),
    "A33AVAJ2PDY3EV": ("TR", "Amazon.com.tr", "TRY", "tr_TR", "www.amazon.com.tr"),
    "A2VIGQ35RCS4UG": ("AE", "Amazon.ae", "AED", "en_AE", "www.amazon.ae"),
    "A17E79C6D8DWNP": ("SA", "Amazon.sa", "SAR", "ar_SA", "www.amazon.sa"),
    "ARBP9OOSHTCHU": ("EG", "Amazon.eg", "EGP", "ar_EG", "www.amazon.eg"),
    "A21TJRUUN4KGV": ("IN", "Amazon.in", "INR", "en_IN", "www.amazon.in"),
    "AE08WJ6YKNBMC": ("ZA", "Amazon.co.za", "ZAR", "en_ZA", "www.amazon.co.za"),
    "A1VC38T7YXB528": ("JP", "Amazon.co.jp", "JPY", "ja_JP", "www.amazon.co.jp"),
    "A39IBJ37TRP1C6": ("AU", "Amazon.com.au", "AUD", "en_AU", "www.amazon.com.au"),
    "A19VAU5U5O7RUS": ("SG", "Amazon.sg", "SGD", "en_SG", "www.amazon.sg"),
}


class ScenarioError(ValueError):
    pass


def load_scenario(source: str | Path | dict[str, Any] | None = None) -> dict[str, Any]:
    """A scenario from a dict, a JSON file path, or the basic one; checked and normalised."""
    if source is None:
        source = BASIC_SCENARIO
    if isinstance(source, dict):
        scenario = copy.deepcopy(source)
    else:
        scenario = json.loads(Path(source).read_text(encoding="utf-8"))
    if not isinstance(scenario, dict):
        raise ScenarioError("a scenario is a JSON object")
    sellers = scenario.setdefault("sellers", {})
    if not isinstance(sellers, dict):
        raise ScenarioError("'sellers' must be an object keyed by seller id")
    tokens: set[str] = set()
    for seller_id, seller in sellers.items():
        if not isinstance(seller, dict) or not seller.get("refresh_token"):
            raise ScenarioError(f"seller {seller_id}: a refresh_token is required")
        if seller["refresh_token"] in tokens:
            raise ScenarioError(f"seller {seller_id}: refresh_token used twice")
        tokens.add(seller["refresh_token"])
        seller["participations"] = [
            {"marketplace_id": p, "is_participating": True, "has_suspended_listings": False} if isinstance(p, str) else p
            for p in seller.get("participations", [])
        ]
    for key in ("catalog", "offers"):
        if not isinstance(scenario.setdefault(key, {}), dict):
            raise ScenarioError(f"'{key}' must be an object keyed by ASIN")
    for operation, rate in (scenario.get("rate_limits") or {}).items():
        if operation not in USAGE_PLANS or not isinstance(rate, (int, float)) or rate <= 0:
            raise ScenarioError(f"rate_limits: bad entry {operation!r}: {rate!r}")
    return scenario


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _errors(code: str, message: str, details: str = "") -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": details}]}


def _classification_id(name: str) -> str:
    return str(zlib.crc32(name.encode("utf-8")) % 10_000_000_000)


def _csv(query: dict[str, list[str]], key: str) -> list[str]:
    values: list[str] = []
    for raw in query.get(key, []):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return values


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


class Answer:
    """What a route returns: status, body (JSON-able, bytes or None), headers."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
                 content_type: str = "application/json") -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.content_type = content_type

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


class FakeState:
    """The fake's world and bookkeeping; every method holds the lock."""

    def __init__(self, scenario: dict[str, Any], speedup: float, base_url: Callable[[], str]) -> None:
        self.lock = threading.RLock()
        self.speedup = speedup
        self.base_url = base_url
        self.access_tokens: dict[str, tuple[str, float]] = {}  # token -> (seller, expires at)
        self.load(scenario)

    # -- setup --
    def load(self, scenario: str | Path | dict[str, Any]) -> None:
        with self.lock:
            self.scenario = load_scenario(scenario)
            self.refresh_tokens = {s["refresh_token"]: sid for sid, s in self.scenario["sellers"].items()}
            self.reset()

    def reset(self) -> None:
        with self.lock:
            plans = dict(USAGE_PLANS)
            for operation, rate in (self.scenario.get("rate_limits") or {}).items():
                plans[operation] = (min(float(rate), USAGE_PLANS[operation][0]), USAGE_PLANS[operation][1])
            self.plans = plans
            self.buckets = InProcessTokenBucket(speedup=self.speedup, plans=plans)
            self.faults: dict[str, deque[dict[str, Any]]] = {}
            self.stats: dict[str, dict[str, int]] = {
                op: {"served": 0, "throttled": 0, "faulted": 0} for op in [*USAGE_PLANS, LWA, DOCUMENT_DOWNLOAD]
            }
            self.reports: dict[str, dict[str, Any]] = {}
            self.documents: dict[str, dict[str, Any]] = {}
            self.codes: dict[str, tuple[str, str | None]] = {}
            self.revoked: set[str] = set()
            sellers = list(self.scenario["sellers"])
            self.consent_seller = (self.scenario.get("consent") or {}).get("seller_id") or (sellers[0] if sellers else None)

    # -- bookkeeping --
    def count(self, operation: str, what: str) -> None:
        with self.lock:
            self.stats.setdefault(operation, {"served": 0, "throttled": 0, "faulted": 0})[what] += 1

    def add_fault(self, operation: str, kind: str, count: int, delay: float | None) -> None:
        if kind not in FAULT_KINDS:
            raise ScenarioError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if operation != "*" and operation not in self.stats:
            raise ScenarioError(f"unknown operation {operation!r}")
        with self.lock:
            queue = self.faults.setdefault(operation, deque())
            for _ in range(max(0, int(count))):
                queue.append({"kind": kind, "delay": delay})

    def take_fault(self, operation: str) -> dict[str, Any] | None:
        with self.lock:
            for key in (operation, "*"):
                queue = self.faults.get(key)
                if queue:
                    return queue.popleft()
        return None

    def seller_of_access_token(self, token: str | None) -> str | None:
        with self.lock:
            entry = self.access_tokens.get(token or "")
            if entry is None or entry[1] < time.monotonic() or entry[0] in self.revoked:
                return None
            return entry[0]

    def issue_access_token(self, seller_id: str) -> str:
        token = "Atza|fake-" + secrets.token_urlsafe(24)
        with self.lock:
            self.access_tokens[token] = (seller_id, time.monotonic() + ACCESS_TOKEN_SECONDS)
        return token

    def seller(self, seller_id: str) -> dict[str, Any]:
        return self.scenario["sellers"].get(seller_id) or {}

    def catalog_entry(self, asin: str, marketplace_id: str) -> dict[str, Any] | None:
        entry = (self.scenario["catalog"].get(asin) or {}).get(marketplace_id)
        return entry if isinstance(entry, dict) else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Amazon
    server_version = "FakeSPAPI/1.0"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    fake: FakeSpapi  # set on the per-server subclass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("fake SP-API: " + format, *args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    # -- plumbing --
    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            answer = self.fake.route(method, split.path, query, body, self.headers)
        except Exception:  # a bug in the fake must not look like an Amazon answer
            logger.exception("fake SP-API: error handling %s %s", method, split.path)
            answer = Answer(500, _errors("FakeServerBug", "The fake server failed; see its log."))
        if answer is None:  # injected time-out: say nothing, drop the connection
            self.close_connection = True
            return
        self._send(answer)

    def _send(self, answer: Answer) -> None:
        payload = answer.payload()
        try:
            self.send_response(answer.status)
            if payload or answer.status not in (204, 302):
                self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.send_header("Date", email.utils.formatdate(usegmt=True))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if payload:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakeSpapi:
    """The fake server. ``start()`` serves on a thread (port 0 = a free port); ``serve_forever()``
    blocks (the management command). ``url`` is its base URL (SP-API endpoint, LWA host and
    consent host at once)."""

    def __init__(
        self,
        scenario: str | Path | dict[str, Any] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        speedup: float = 1.0,
        public_url: str | None = None,
    ) -> None:
        if speedup <= 0:
            raise ValueError("speedup must be positive")
        self.host = host
        self.port = port
        self.speedup = float(speedup)
        self._public_url = public_url.rstrip("/") if public_url else None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.state = FakeState(load_scenario(scenario), self.speedup, lambda: self.url)
        self._routes: list[tuple[str, re.Pattern[str], str | None, Callable[..., Answer | None]]] = [
            ("POST", re.compile(r"^/auth/o2/token$"), LWA, self._lwa_token),
            ("GET", re.compile(r"^/apps/authorize/consent$"), None, self._consent),
            ("GET", re.compile(r"^/sellers/v1/marketplaceParticipations$"), "getMarketplaceParticipations",
             self._participations),
            ("POST", re.compile(r"^/reports/2021-06-30/reports$"), "createReport", self._create_report),
            ("GET", re.compile(r"^/reports/2021-06-30/reports/(?P<report_id>[^/]+)$"), "getReport", self._get_report),
            ("GET", re.compile(r"^/reports/2021-06-30/documents/(?P<document_id>[^/]+)$"), "getReportDocument",
             self._get_report_document),
            ("GET", re.compile(r"^/_fake/documents/(?P<document_id>[^/]+)$"), DOCUMENT_DOWNLOAD, self._download),
            ("GET", re.compile(r"^/catalog/2022-04-01/items$"), "searchCatalogItems", self._search_catalog),
            ("POST", re.compile(r"^/batches/products/pricing/v0/itemOffers$"), "getItemOffersBatch", self._offers_batch),
            ("GET", re.compile(r"^/products/pricing/v0/items/(?P<asin>[^/]+)/offers$"), "getItemOffers",
             self._item_offers),
            ("GET", re.compile(r"^/listings/2021-08-01/restrictions$"), "getListingsRestrictions", self._restrictions),
            ("POST", re.compile(r"^/_fake/faults$"), None, self._control_faults),
            ("GET", re.compile(r"^/_fake/stats$"), None, self._control_stats),
            ("POST", re.compile(r"^/_fake/reset$"), None, self._control_reset),
            ("POST", re.compile(r"^/_fake/consent$"), None, self._control_consent),
            ("POST", re.compile(r"^/_fake/revoke$"), None, self._control_revoke),
            ("POST", re.compile(r"^/_fake/scenario$"), None, self._control_scenario),
            ("GET", re.compile(r"^/_fake/health$"), None, lambda **_: Answer(200, {"ok": True})),
        ]

    # -- lifecycle --
    def _bind(self) -> _Server:
        handler = type("FakeSpapiHandler", (_Handler,), {"fake": self})
        server = _Server((self.host, self.port), handler)
        self.port = server.server_address[1]
        self._server = server
        return server

    def start(self) -> FakeSpapi:
        self._stopping.clear()
        server = self._bind()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-spapi-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        server = self._bind()
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeSpapi:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self._public_url or f"http://{self.host}:{self.port}"

    @property
    def lwa_token_url(self) -> str:
        return f"{self.url}/auth/o2/token"

    @property
    def consent_url(self) -> str:
        return f"{self.url}/apps/authorize/consent"

    def app_settings(self) -> dict[str, Any]:
        """The Django settings that point the app at this server: endpoint, LWA token and consent
        URLs, the scenario's LWA client and application id, and this server's rate speed-up (the
        client's buckets must run at the fake's pace). Environment variables of the same names do
        the same for another process."""
        lwa = {**DEFAULT_LWA, **(self.state.scenario.get("lwa") or {})}
        return {
            "SPAPI_ENDPOINT": self.url,
            "SPAPI_LWA_TOKEN_URL": self.lwa_token_url,
            "SPAPI_CONSENT_URL": self.consent_url,
            "SPAPI_LWA_CLIENT_ID": lwa["client_id"],
            "SPAPI_LWA_CLIENT_SECRET": lwa["client_secret"],
            "SPAPI_APP_ID": lwa["app_id"],
            "SPAPI_RATE_SPEEDUP": self.speedup,
        }

    # -- in-process control (same as the /_fake endpoints) --
    def load(self, scenario: str | Path | dict[str, Any]) -> None:
        """Replace the world (and reset buckets, faults, counters, reports)."""
        self.state.load(scenario)

    def inject_fault(self, operation: str, kind: str, count: int = 1, delay: float | None = None) -> None:
        self.state.add_fault(operation, kind, count, delay)

    def stats(self) -> dict[str, dict[str, int]]:
        with self.state.lock:
            return copy.deepcopy(self.state.stats)

    def reset(self) -> None:
        self.state.reset()

    def set_consent_seller(self, seller_id: str) -> None:
        with self.state.lock:
            if seller_id not in self.state.scenario["sellers"]:
                raise ScenarioError(f"unknown seller {seller_id!r}")
            self.state.consent_seller = seller_id

    def revoke(self, seller_id: str) -> None:
        with self.state.lock:
            self.state.revoked.add(seller_id)

    # -- routing --
    def route(self, method: str, path: str, query: dict[str, list[str]], body: bytes, headers: Any) -> Answer | None:
        for route_method, pattern, operation, handler in self._routes:
            match = pattern.match(path)
            if not match or route_method != method:
                continue
            if operation is None:
                return handler(query=query, body=body, **match.groupdict())
            fault = self.state.take_fault(operation)
            if fault is not None:
                self.state.count(operation, "faulted")
                return self._fault(fault)
            if operation in (LWA, DOCUMENT_DOWNLOAD):
                self.state.count(operation, "served")
                return handler(query=query, body=body, **match.groupdict())
            seller_id = self.state.seller_of_access_token(headers.get("x-amz-access-token"))
            if seller_id is None:
                return Answer(403, _errors("Unauthorized", "Access to requested resource is denied.",
                                           "The access token you provided is revoked, malformed or invalid."))
            if self.state.buckets.try_acquire(seller_id, operation) > 0:
                self.state.count(operation, "throttled")
                return Answer(429, QUOTA_EXCEEDED_BODY)
            self.state.count(operation, "served")
            answer = handler(seller_id=seller_id, query=query, body=body, **match.groupdict())
            if answer is not None and (200 <= answer.status < 300 or answer.status in (400, 404)):
                answer.headers.setdefault("x-amzn-RateLimit-Limit", f"{self.state.plans[operation][0]:g}")
            return answer
        return Answer(404, _errors("NotFound", f"No fake route for {method} {path}"))

    def _fault(self, fault: dict[str, Any]) -> Answer | None:
        kind = fault["kind"]
        if kind == "timeout":
            self._stopping.wait(fault.get("delay") if fault.get("delay") is not None else 5.0)
            return None
        if kind == "429":
            return Answer(429, QUOTA_EXCEEDED_BODY)
        if kind == "429empty":
            return Answer(429, b"")
        if kind == "html500":
            return Answer(500, b"<html><head><title>500 Internal Server Error</title></head><body>"
                               b"<h1>Internal Server Error</h1></body></html>", content_type="text/html")
        if kind == "500":
            return Answer(500, _errors("InternalFailure", "We encountered an internal error. Please try again."))
        if kind == "503":
            return Answer(503, _errors("ServiceUnavailable", "Service temporarily unavailable. Please try again."))
        if kind == "malformed":
            return Answer(200, b'{"payload": [{"marketplace": {"id": "ATVPDKIKX0DER", ')
        if kind == "400":
            return Answer(400, _errors("InvalidInput", "Injected bad request."))
        return Answer(403, _errors("Unauthorized", "Access to requested resource is denied."))

    # -- LWA and consent --
    def _lwa_token(self, *, query, body) -> Answer:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        lwa = self.state.scenario.get("lwa") or {}
        if (lwa.get("client_id") and form.get("client_id") != lwa["client_id"]) or (
            lwa.get("client_secret") and form.get("client_secret") != lwa["client_secret"]
        ):
            return Answer(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        grant = form.get("grant_type")
        state = self.state
        if grant == "refresh_token":
            with state.lock:
                seller_id = state.refresh_tokens.get(form.get("refresh_token") or "")
                if seller_id is None or seller_id in state.revoked:
                    return Answer(400, {"error": "invalid_grant",
                                        "error_description": "The request has an invalid grant parameter : refresh_token"})
            return Answer(200, {"access_token": state.issue_access_token(seller_id),
                                "refresh_token": form["refresh_token"], "token_type": "bearer",
                                "expires_in": ACCESS_TOKEN_SECONDS})
        if grant == "authorization_code":
            with state.lock:
                issued = state.codes.pop(form.get("code") or "", None)
            if issued is None:
                return Answer(400, {"error": "invalid_grant",
                                    "error_description": "The request has an invalid grant parameter : code"})
            seller_id, redirect_uri = issued
            if redirect_uri and form.get("redirect_uri") and form["redirect_uri"] != redirect_uri:
                return Answer(400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"})
            refresh_token = state.seller(seller_id)["refresh_token"]
            return Answer(200, {"access_token": state.issue_access_token(seller_id), "refresh_token": refresh_token,
                                "token_type": "bearer", "expires_in": ACCESS_TOKEN_SECONDS})
        return Answer(400, {"error": "unsupported_grant_type", "error_description": f"grant_type {grant!r}"})

    def _consent(self, *, query, body) -> Answer:
        application_id, state_value, redirect_uri = (_first(query, k) for k in ("application_id", "state", "redirect_uri"))
        expected_app = (self.state.scenario.get("lwa") or {}).get("app_id")
        if not application_id or (expected_app and application_id != expected_app):
            return Answer(400, b"<html><body>Unknown application_id.</body></html>", content_type="text/html")
        if not state_value or not redirect_uri:
            return Answer(400, b"<html><body>state and redirect_uri are required.</body></html>",
                          content_type="text/html")
        with self.state.lock:
            seller_id = self.state.consent_seller
            if seller_id is None:
                return Answer(400, b"<html><body>No seller in the scenario.</body></html>", content_type="text/html")
            code = "ANfake" + secrets.token_urlsafe(18)
            self.state.codes[code] = (seller_id, redirect_uri)
        params = urlencode({"state": state_value, "selling_partner_id": seller_id, "spapi_oauth_code": code})
        location = f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{params}"
        return Answer(302, None, headers={"Location": location})

    # -- Sellers --
    def _participations(self, *, seller_id, query, body) -> Answer:
        seller = self.state.seller(seller_id)
        payload = []
        for entry in seller.get("participations", []):
            marketplace_id = entry["marketplace_id"]
            country, name, currency, language, domain = MARKETPLACES.get(
                marketplace_id, ("", marketplace_id, "", "", ""))
            payload.append({
                "marketplace": {"id": marketplace_id, "countryCode": country, "name": name,
                                "defaultCurrencyCode": currency, "defaultLanguageCode": language,
                                "domainName": domain},
                "storeName": seller.get("store_name") or seller.get("name") or seller_id,
                "participation": {"isParticipating": bool(entry.get("is_participating", True)),
                                  "hasSuspendedListings": bool(entry.get("has_suspended_listings", False))},
            })
        return Answer(200, {"payload": payload})

    # -- Reports --
    def _create_report(self, *, seller_id, query, body) -> Answer:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return Answer(400, _errors("InvalidInput", "Request body is not valid JSON."))
        report_type = request.get("reportType") if isinstance(request, dict) else None
        marketplace_ids = request.get("marketplaceIds") if isinstance(request, dict) else None
        if report_type not in SUPPORTED_REPORT_TYPES or not isinstance(marketplace_ids, list) or not marketplace_ids:
            return Answer(400, _errors("400", "Invalid input", "Invalid input"))
        report_id = str(50_000_000_000 + secrets.randbelow(10_000_000_000))
        seller = self.state.seller(seller_id)
        plan = seller.get("report") or {}
        with self.state.lock:
            self.state.reports[report_id] = {
                "seller_id": seller_id, "reportType": report_type, "marketplaceIds": marketplace_ids,
                "createdTime": _now_iso(), "polls": 0,
                "polls_until_final": max(1, int(plan.get("polls", self.state.scenario.get("report_polls", 3)))),
                "outcome": plan.get("outcome") or ("DONE" if seller.get("health_report") is not None else "CANCELLED"),
                "gzip": bool(plan.get("gzip", False)), "documentId": None,
            }
        return Answer(202, {"reportId": report_id})

    def _get_report(self, *, seller_id, query, body, report_id) -> Answer:
        with self.state.lock:
            report = self.state.reports.get(report_id)
            if report is None or report["seller_id"] != seller_id:
                return Answer(404, _errors("NotFound", "The report does not exist."))
            report["polls"] += 1
            polls, final_at = report["polls"], report["polls_until_final"]
            if polls < final_at:
                status = "IN_QUEUE" if polls == 1 else "IN_PROGRESS"
            else:
                status = report["outcome"]
            answer = {"reportId": report_id, "reportType": report["reportType"],
                      "marketplaceIds": report["marketplaceIds"], "createdTime": report["createdTime"],
                      "processingStatus": status}
            if status != "IN_QUEUE":
                answer["processingStartTime"] = report["createdTime"]
            if status in ("DONE", "FATAL", "CANCELLED"):
                answer["processingEndTime"] = _now_iso()
            if status == "DONE":
                if report["documentId"] is None:
                    document_id = f"amzn1.spdoc.1.4.na.{uuid.uuid4()}"
                    content = json.dumps(self.state.seller(seller_id).get("health_report") or {}).encode("utf-8")
                    self.state.documents[document_id] = {
                        "seller_id": seller_id, "gzip": report["gzip"],
                        "content": gzip.compress(content) if report["gzip"] else content,
                    }
                    report["documentId"] = document_id
                answer["reportDocumentId"] = report["documentId"]
        return Answer(200, answer)

    def _get_report_document(self, *, seller_id, query, body, document_id) -> Answer:
        with self.state.lock:
            document = self.state.documents.get(document_id)
        if document is None or document["seller_id"] != seller_id:
            return Answer(404, _errors("NotFound", "The report document does not exist."))
        answer = {"reportDocumentId": document_id, "url": f"{self.url}/_fake/documents/{document_id}"}
        if document["gzip"]:
            answer["compressionAlgorithm"] = "GZIP"
        return Answer(200, answer)

    def _download(self, *, query, body, document_id) -> Answer:
        with self.state.lock:
            document = self.state.documents.get(document_id)
        if document is None:
            return Answer(403, b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code></Error>",
                          content_type="application/xml")
        # charset=utf-8 on both: the library decodes with iso-8859-1 unless the answer names a charset
        content_type = "application/octet-stream; charset=utf-8" if document["gzip"] else "application/json; charset=utf-8"
        return Answer(200, document["content"], content_type=content_type)

    # -- Catalog Items 2022-04-01 --
    def _catalog_item(self, asin: str, marketplace_ids: list[str], included: set[str]) -> dict[str, Any] | None:
        present = [(m, e) for m in marketplace_ids if (e := self.state.catalog_entry(asin, m)) is not None]
        if not present:
            return None
        item: dict[str, Any] = {"asin": asin}
        if "summaries" in included:
            summaries = []
            for marketplace_id, entry in present:
                path = entry.get("classification") or []
                leaf = path[-1] if path else ""
                summaries.append({
                    "marketplaceId": marketplace_id, "brand": entry.get("brand", ""),
                    "browseClassification": {"displayName": leaf, "classificationId": _classification_id(leaf)},
                    "itemClassification": "BASE_PRODUCT", "itemName": entry.get("title", ""),
                    "manufacturer": entry.get("manufacturer", entry.get("brand", "")),
                    "websiteDisplayGroupName": path[0] if path else "",
                })
            item["summaries"] = summaries
        if "identifiers" in included:
            item["identifiers"] = [
                {"marketplaceId": m, "identifiers": [{"identifier": v, "identifierType": t}
                                                     for t, v in (e.get("identifiers") or {}).items()]}
                for m, e in present
            ]
        if "classifications" in included:
            trees = []
            for marketplace_id, entry in present:
                node: dict[str, Any] | None = None
                for name in entry.get("classification") or []:
                    current = {"displayName": name, "classificationId": _classification_id(name)}
                    if node is not None:
                        current["parent"] = node
                    node = current
                trees.append({"marketplaceId": marketplace_id, "classifications": [node] if node else []})
            item["classifications"] = trees
        return item

    def _search_catalog(self, *, seller_id, query, body) -> Answer:
        bad = Answer(400, _errors("400", "Request has missing or invalid parameters and cannot be parsed."))
        marketplace_ids = _csv(query, "marketplaceIds")
        identifiers = [i.upper() for i in _csv(query, "identifiers")]
        if not marketplace_ids or not identifiers or _first(query, "identifiersType") not in ("ASIN",):
            return bad  # (the fake supports ASIN identifier searches only)
        if len(identifiers) > 20:
            return bad
        try:
            page_size = int(_first(query, "pageSize") or 10)
            offset = int((_first(query, "pageToken") or "page-0").removeprefix("page-"))
        except ValueError:
            return bad
        if not 1 <= page_size <= 20:
            return bad
        included = set(_csv(query, "includedData")) or {"summaries"}
        found = [item for asin in dict.fromkeys(identifiers)
                 if (item := self._catalog_item(asin, marketplace_ids, included)) is not None]
        page = found[offset:offset + page_size]
        pagination: dict[str, str] = {}
        if offset + page_size < len(found):
            pagination["nextToken"] = f"page-{offset + page_size}"
        if offset:
            pagination["previousToken"] = f"page-{max(0, offset - page_size)}"
        brands: dict[str, int] = {}
        for item in found:
            for summary in item.get("summaries", []):
                brands[summary["brand"]] = brands.get(summary["brand"], 0) + 1
        answer = {"numberOfResults": len(found), "pagination": pagination,
                  "refinements": {"brands": [{"numberOfResults": n, "brandName": b} for b, n in brands.items()],
                                  "classifications": []},
                  "items": page}
        return Answer(200, answer)

    # -- Product Pricing v0 --
    def _offers_payload(self, asin: str, marketplace_id: str, item_condition: str) -> dict[str, Any]:
        offers = [o for o in (self.state.scenario["offers"].get(asin) or {}).get(marketplace_id, [])
                  if str(o.get("condition", "new")).lower() == item_condition.lower()]
        country, _name, default_currency, _lang, _domain = MARKETPLACES.get(marketplace_id, ("US", "", "USD", "", ""))

        def money(amount: Any, currency: str) -> dict[str, Any]:
            return {"CurrencyCode": currency, "Amount": amount}

        rendered = []
        for offer in offers:
            currency = offer.get("currency", default_currency)
            rendered.append({
                "Shipping": money(offer.get("shipping", 0), currency),
                "ListingPrice": money(offer.get("price", 0), currency),
                "ShippingTime": {"maximumHours": 48, "minimumHours": 24, "availabilityType": "NOW"},
                "ShipsFrom": {"Country": country},
                "PrimeInformation": {"IsPrime": bool(offer.get("fba")), "IsNationalPrime": bool(offer.get("fba"))},
                "SubCondition": str(offer.get("condition", "new")).lower(),
                "SellerId": offer["seller_id"],
                "IsFeaturedMerchant": bool(offer.get("buy_box")),
                "IsBuyBoxWinner": bool(offer.get("buy_box")),
                "IsFulfilledByAmazon": bool(offer.get("fba")),
            })
        summary: dict[str, Any] = {"TotalOfferCount": len(rendered)}
        if rendered:
            cheapest = min(rendered, key=lambda o: o["ListingPrice"]["Amount"])
            summary["LowestPrices"] = [{"condition": item_condition.lower(), "fulfillmentChannel": "Merchant",
                                        "LandedPrice": cheapest["ListingPrice"], "ListingPrice": cheapest["ListingPrice"],
                                        "Shipping": cheapest["Shipping"]}]
            summary["NumberOfOffers"] = [{"condition": item_condition.lower(), "fulfillmentChannel": "Merchant",
                                          "OfferCount": len(rendered)}]
            winners = [o for o in rendered if o["IsBuyBoxWinner"]]
            if winners:
                summary["BuyBoxPrices"] = [{"condition": item_condition.lower(), "LandedPrice": winners[0]["ListingPrice"],
                                            "ListingPrice": winners[0]["ListingPrice"], "Shipping": winners[0]["Shipping"]}]
        return {"ASIN": asin, "status": "Success" if rendered else "NoBuyableOffers", "ItemCondition": item_condition,
                "Identifier": {"MarketplaceId": marketplace_id, "ItemCondition": item_condition, "ASIN": asin},
                "Summary": summary, "Offers": rendered, "marketplaceId": marketplace_id}

    def _offers_batch(self, *, seller_id, query, body) -> Answer:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return Answer(400, _errors("InvalidInput", "Request body is not valid JSON."))
        requests_ = request.get("requests") if isinstance(request, dict) else None
        if not isinstance(requests_, list) or not 1 <= len(requests_) <= 20:
            return Answer(400, _errors("InvalidInput", "1 to 20 requests are required."))
        responses = []
        for item in requests_:
            item = item if isinstance(item, dict) else {}
            match = re.fullmatch(r"/products/pricing/v0/items/([^/]+)/offers", str(item.get("uri", "")))
            asin = match.group(1).upper() if match else ""
            marketplace_id, condition = item.get("MarketplaceId"), item.get("ItemCondition")
            echo = {"MarketplaceId": marketplace_id, "Asin": asin, "CustomerType": item.get("CustomerType", "Consumer"),
                    "ItemCondition": condition}
            headers = {"x-amzn-RequestId": str(uuid.uuid4()), "Date": email.utils.formatdate(usegmt=True)}
            if not match or item.get("method") != "GET" or not marketplace_id or not condition:
                responses.append({"status": {"statusCode": 400, "reasonPhrase": "Bad Request"},
                                  "body": _errors("InvalidInput", "Invalid Input"), "headers": headers, "request": echo})
            elif self.state.catalog_entry(asin, marketplace_id) is None:
                responses.append({"status": {"statusCode": 404, "reasonPhrase": "Not Found"},
                                  "body": _errors("NOT_FOUND", f"Item {asin} in marketplace {marketplace_id} not found"),
                                  "headers": headers, "request": echo})
            else:
                responses.append({"status": {"statusCode": 200, "reasonPhrase": "OK"},
                                  "body": {"payload": self._offers_payload(asin, marketplace_id, condition)},
                                  "headers": headers, "request": echo})
        return Answer(200, {"responses": responses})

    def _item_offers(self, *, seller_id, query, body, asin) -> Answer:
        marketplace_id, condition = _first(query, "MarketplaceId"), _first(query, "ItemCondition")
        if not marketplace_id or not condition:
            return Answer(400, _errors("InvalidInput", "Invalid Input"))
        if self.state.catalog_entry(asin.upper(), marketplace_id) is None:
            return Answer(404, _errors("NOT_FOUND", f"Item {asin} in marketplace {marketplace_id} not found"))
        return Answer(200, {"payload": self._offers_payload(asin.upper(), marketplace_id, condition)})

    # -- Listings Restrictions 2021-08-01 --
    def _restrictions(self, *, seller_id, query, body) -> Answer:
        asin, requested_seller = (_first(query, "asin") or "").upper(), _first(query, "sellerId")
        marketplace_ids = _csv(query, "marketplaceIds")
        condition_type = _first(query, "conditionType") or ""
        if not asin or not requested_seller or not marketplace_ids:
            return Answer(400, [{"code": "BAD_REQUEST", "message": "Invalid 'asin' provided."}])
        if requested_seller != seller_id:
            return Answer(403, _errors("Unauthorized", "Access to requested resource is denied.",
                                       "sellerId is not the selling partner of the access token."))
        restrictions = []
        mine = (self.state.seller(seller_id).get("restrictions") or {}).get(asin) or {}
        for marketplace_id in marketplace_ids:
            if self.state.catalog_entry(asin, marketplace_id) is None:
                reasons = [{"reasonCode": "ASIN_NOT_FOUND",
                            "message": "The specified ASIN does not exist in the requested marketplace."}]
            else:
                reasons = mine.get(marketplace_id) or []
            if reasons:
                entry = {"marketplaceId": marketplace_id, "reasons": reasons}
                if condition_type:
                    entry["conditionType"] = condition_type
                restrictions.append(entry)
        return Answer(200, {"restrictions": restrictions})

    # -- control --
    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        try:
            value = json.loads(body or b"{}")
        except ValueError as exc:
            raise ScenarioError(f"body is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ScenarioError("body must be a JSON object")
        return value

    def _control(self, action: Callable[[], Any]) -> Answer:
        try:
            result = action()
        except ScenarioError as exc:
            return Answer(400, {"error": str(exc)})
        return Answer(200, result if result is not None else {"ok": True})

    def _control_faults(self, *, query, body) -> Answer:
        def add() -> None:
            request = self._json(body)
            delay = request.get("delay")
            self.inject_fault(str(request.get("operation", "")), str(request.get("kind", "")),
                              int(request.get("count", 1)), float(delay) if delay is not None else None)
        return self._control(add)

    def _control_stats(self, *, query, body) -> Answer:
        return Answer(200, self.stats())

    def _control_reset(self, *, query, body) -> Answer:
        return self._control(self.reset)

    def _control_consent(self, *, query, body) -> Answer:
        return self._control(lambda: self.set_consent_seller(str(self._json(body).get("seller_id", ""))))

    def _control_revoke(self, *, query, body) -> Answer:
        return self._control(lambda: self.revoke(str(self._json(body).get("seller_id", ""))))

    def _control_scenario(self, *, query, body) -> Answer:
        return self._control(lambda: self.state.load(self._json(body)))
