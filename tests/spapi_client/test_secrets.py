"""A refresh token never shows up in a log line, an exception message or a repr."""
from __future__ import annotations

import logging
import pickle
import traceback

import httpx
import pytest

from spapi_client import operations as ops
from spapi_client.client import CallStats, build_client
from spapi_client.config import get_config
from spapi_client.errors import SpapiAuthError, SpapiError

from .conftest import HEALTHY, SCENARIO, US, connection, refresh_token

LOGGERS = ["", "spapi_client", "sp_api", "sp_api.base.client", "sp_api.auth", "httpx", "httpcore", "tenacity"]


def _everything_about(error: BaseException) -> str:
    """Message, repr, attributes and the whole formatted chain (causes included)."""
    parts = [str(error), repr(error), repr(vars(error))]
    parts.extend(traceback.format_exception(error))
    cause = error.__cause__ or error.__context__
    while cause is not None:
        parts.extend([str(cause), repr(cause)])
        cause = cause.__cause__ or cause.__context__
    return "\n".join(parts)


def test_refresh_tokens_stay_out_of_logs_and_errors(caplog, settings, fake):
    # given: every logger at DEBUG (the library's own client logger included)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    conn = connection(HEALTHY)
    secrets = [refresh_token(HEALTHY), SCENARIO["lwa"]["client_secret"]]
    errors: list[BaseException] = []

    # when: successful calls, retried faults, refused tokens, a code exchange
    httpx.post(f"{fake.url}/_fake/faults", json={"operation": "getMarketplaceParticipations", "kind": "html500"})
    httpx.post(f"{fake.url}/_fake/faults", json={"operation": "lwa", "kind": "429"})
    ops.get_marketplace_participations(conn, stats=CallStats())
    for kind in ("400", "malformed"):
        httpx.post(f"{fake.url}/_fake/faults", json={"operation": "getListingsRestrictions", "kind": kind})
        with pytest.raises(SpapiError) as raised:
            ops.get_listings_restrictions(conn, "B0ACME0001", HEALTHY, US)
        errors.append(raised.value)
    answer = httpx.get(ops.consent_url("s"), follow_redirects=False)
    code = httpx.URL(answer.headers["location"]).params["spapi_oauth_code"]
    assert ops.exchange_authorization_code(code, "http://testserver.local/spapi/callback") == secrets[0]
    with pytest.raises(SpapiAuthError) as raised:
        ops.exchange_authorization_code(code, "http://testserver.local/spapi/callback")
    errors.append(raised.value)
    fake.revoke(HEALTHY)
    from spapi_client.client import clear_token_cache

    clear_token_cache()
    with pytest.raises(SpapiAuthError) as raised:
        ops.get_marketplace_participations(conn)
    errors.append(raised.value)
    settings.SPAPI_LWA_TOKEN_URL = "http://127.0.0.1:1/auth/o2/token"
    settings.SPAPI_MAX_ATTEMPTS = 1
    clear_token_cache()
    with pytest.raises(SpapiError) as raised:
        ops.get_marketplace_participations(conn)
    errors.append(raised.value)

    # then
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert "retrying" in logged and "HTTP Request" in logged and "Request Headers" in logged  # logs were captured
    access_tokens = list(fake.state.access_tokens)
    assert access_tokens and not any(token in logged for token in access_tokens)  # not even access tokens
    for secret in secrets:
        assert secret not in logged
        for error in errors:
            assert secret not in _everything_about(error)


def test_reprs_hide_the_token(healthy):
    client = build_client(healthy, "getListingsRestrictions")

    for text in (repr(healthy), str(healthy), repr(client._auth), repr(client._transport), repr(get_config())):
        assert healthy.refresh_token not in text
        assert SCENARIO["lwa"]["client_secret"] not in text
    with pytest.raises(TypeError):
        pickle.dumps(healthy)
