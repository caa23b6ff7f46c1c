"""Give every request an id (honouring an incoming ``X-Request-ID``), remember the client IP, and
log one line per request (the access log: gunicorn's own is off, so every line is structured and
carries the request id).

The client IP is ``REMOTE_ADDR``, or, behind ``NUM_PROXIES`` trusted reverse proxies, the address
the outermost of them saw (the same rule as DRF's throttles): audit events and login lockouts
then name the client, not the proxy.
"""
import ipaddress
import logging
import re
import time
import uuid

from django.conf import settings

from .context import bind_request, unbind_request

logger = logging.getLogger(__name__)

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Probed every few seconds by load balancers: logged at DEBUG only.
_QUIET_PATHS = ("/healthz",)


def client_ip(request) -> str | None:
    remote_addr = request.META.get("REMOTE_ADDR") or None
    proxies = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not proxies or not forwarded:
        return remote_addr
    addresses = [part.strip() for part in forwarded.split(",")]
    candidate = addresses[-min(proxies, len(addresses))]
    try:
        return ipaddress.ip_address(candidate).compressed
    except ValueError:
        return remote_addr


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.client_ip = client_ip(request)
        token = bind_request(request.request_id, request.client_ip)
        try:
            response = self.get_response(request)
            duration_ms = round((time.monotonic() - started) * 1000, 1)
            # The path only: query strings can carry secrets (the OAuth callback's code).
            logger.log(
                logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO,
                "%s %s %s %.1fms", request.method, request.path, response.status_code, duration_ms,
                extra={"method": request.method, "path": request.path, "status": response.status_code,
                       "duration_ms": duration_ms},
            )
        finally:
            unbind_request(token)
        response["X-Request-ID"] = request.request_id
        return response
