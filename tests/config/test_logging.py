"""Logs: JSON lines in production, readable lines in development, the request id on every line of
a request, and never a token or an OAuth code."""
from __future__ import annotations

import json

from .production import PRODUCTION_ENV, manage

# One request that fails authentication (Django logs a warning about it after the response), with
# an OAuth-code-like secret in its query string, then a careless log line holding a refresh token.
REQUEST_AND_LOG = """
import logging
from django.test import Client
Client(HTTP_HOST="auth.example.com").get(
    "/api/v1/me?spapi_oauth_code=ANcode-that-must-not-leak", secure=True, HTTP_X_REQUEST_ID="req-logs-1")
logging.getLogger("spapi_client.client").warning("refreshing with %s", "Atzr|IwEBIA-refresh-token")
"""


def test_production_logs_are_json_lines_with_the_request_id():
    # when a request is served and something is logged, under the production settings
    result = manage("shell", "-c", REQUEST_AND_LOG, env=PRODUCTION_ENV)

    # then every log record is one JSON object on a line (stderr also holds the shell's chatter)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    # and every line of the request carries its id: the access line and Django's warning
    access = [line for line in lines if line["logger"] == "audit.middleware"]
    assert [(a["message"], a["method"], a["path"], a["status"]) for a in access] == [
        ("GET /api/v1/me 401 " + f"{access[0]['duration_ms']:.1f}ms", "GET", "/api/v1/me", 401)]
    warning = [line for line in lines if line["logger"] == "django.request"]
    assert [w["message"] for w in warning] == ["Unauthorized: /api/v1/me"]
    assert {line["request_id"] for line in access + warning} == {"req-logs-1"}
    # and outside the request there is no id
    [token_line] = [line for line in lines if line["logger"] == "spapi_client.client"]
    assert token_line["request_id"] == "-"
    # and no secret reached the log
    assert "ANcode-that-must-not-leak" not in result.stderr
    assert "IwEBIA-refresh-token" not in result.stderr
    assert token_line["message"] == "refreshing with [redacted]"


def test_development_logs_are_readable_lines_with_the_request_id():
    # when the same happens under the development settings
    result = manage("shell", "-c", REQUEST_AND_LOG.replace("auth.example.com", "localhost"),
                    env={"DJANGO_SETTINGS_MODULE": "config.settings.dev"})

    # then the lines are text, naming the request id in brackets
    assert result.returncode == 0, result.stderr
    access = [line for line in result.stderr.splitlines() if "audit.middleware" in line]
    assert len(access) == 1 and "[req-logs-1] audit.middleware: GET /api/v1/me 401" in access[0]
    assert not access[0].startswith("{")
    assert "ANcode-that-must-not-leak" not in result.stderr and "IwEBIA-refresh-token" not in result.stderr
