"""Logging for every process (web, worker, beat, commands): one console handler on the root logger.

- Production writes one JSON object per line (python-json-logger), development a readable line.
- Every record carries ``request_id``: the id of the HTTP request being served (bound by
  :class:`audit.middleware.RequestContextMiddleware`), of the request that queued the task being
  run (carried in a Celery message header, see :mod:`config.celery`), or of the management
  command; ``-`` outside all of them.
- Amazon's LWA tokens never reach a log line: :class:`RedactSecretsFilter` blanks anything shaped
  like one, whoever logs it (the SP-API client is careful already; this is the backstop).

``settings.LOGGING = logging_config(json_lines=..., level=...)``; Celery's worker and beat use
the same configuration (``setup_logging`` in :mod:`config.celery`).
"""
from __future__ import annotations

import logging
import re
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS

from audit.context import current_request_id

NO_REQUEST = "-"
# LWA refresh ("Atzr|…") and access ("Atza|…") tokens, as Amazon and the fake server shape them.
_LWA_TOKEN = re.compile(r"\bAtz[ar]\|[^\s\"',;&)}\]]+")
REDACTED = "[redacted]"


class RequestIdFilter(logging.Filter):
    """Stamp ``record.request_id``: the bound request (or task, or command) id."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id()
        if not request_id:
            # django.request logs a request's 4xx/5xx after the middleware has unbound it, and
            # hands the request over in the record.
            request_id = getattr(getattr(record, "request", None), "request_id", "")
        record.request_id = request_id or NO_REQUEST
        return True


class RedactSecretsFilter(logging.Filter):
    """Replace anything shaped like an LWA token in the final message by ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _LWA_TOKEN.search(message):
            record.msg, record.args = _LWA_TOKEN.sub(REDACTED, message), None
        return True


def logging_config(*, json_lines: bool, level: str) -> dict[str, Any]:
    """``dictConfig`` for the console: JSON lines or readable lines, request ids, no tokens."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "redact_secrets": {"()": RedactSecretsFilter},
        },
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                # Django's request logs attach the HttpRequest, whose repr shows the query string
                # (an OAuth callback's code): never serialise it.
                "reserved_attrs": [*RESERVED_ATTRS, "request"],
            },
            "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "plain",
                "filters": ["request_id", "redact_secrets"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's own console and mail handlers are replaced by the root's (one line per record).
        "loggers": {
            "django": {"handlers": ["console"], "level": level, "propagate": False},
            "django.server": {"handlers": ["console"], "level": level, "propagate": False},
            # One line per HTTP call to Amazon, with its full URL: report documents are fetched by
            # pre-signed URL (a short-lived credential). Failures are logged by the SP-API client.
            "httpx": {"level": "WARNING"},
        },
    }
