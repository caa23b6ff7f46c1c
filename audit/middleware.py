"""Give every request an id (honouring an incoming ``X-Request-ID``) and remember the client IP."""
import re
import uuid

from .context import bind_request, unbind_request

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.client_ip = request.META.get("REMOTE_ADDR") or None
        token = bind_request(request.request_id, request.client_ip)
        try:
            response = self.get_response(request)
        finally:
            unbind_request(token)
        response["X-Request-ID"] = request.request_id
        return response
