"""``Idempotency-Key`` on POSTs that create grants or requests (a retried request does not
grant twice). The key is claimed in the same transaction as the change: a concurrent retry waits
for the first to commit and then replays its answer; a failed attempt leaves no key behind."""
from __future__ import annotations

import hashlib
import json
import re
from typing import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.response import Response

from authorizations.models import IdempotencyKey

from .errors import Conflict, InvalidInput

HEADER = "Idempotency-Key"
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(request, handler: Callable[[], Response]) -> Response:
    key = request.headers.get(HEADER)
    if key is None:
        return handler()
    if not _KEY_RE.match(key):
        raise InvalidInput(_("Idempotency-Key must be 1 to 255 visible ASCII characters."),
                           code="INVALID_IDEMPOTENCY_KEY", field=HEADER)
    fingerprint = _fingerprint(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(user=request.user, key=key, endpoint=request.path[:200],
                                                       request_hash=fingerprint)
            replay = None
        except IntegrityError:
            record = IdempotencyKey.objects.select_for_update().get(user=request.user, key=key)
            replay = record
        if replay is not None:
            if replay.request_hash != fingerprint:
                raise Conflict(_("This Idempotency-Key was already used for a different request."),
                               code="IDEMPOTENCY_KEY_REUSED", field=HEADER)
            return Response(replay.response_body, status=replay.response_status, headers={"Idempotent-Replayed": "true"})
        response = handler()
        record.response_status, record.response_body = response.status_code, response.data
        record.save(update_fields=["response_status", "response_body"])
    return response
