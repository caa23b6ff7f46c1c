"""Connecting a seller account by SP-API website authorization, against the fake SP-API over
real HTTP on loopback: POST /api/v1/sellers/connect → the consent page (the fake) → GET
/spapi/callback → LWA code exchange (the fake) → seller, partner, encrypted token, audit events,
first sync queued. And every way it must refuse: nothing stored, no secret anywhere."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import socket
import threading
import uuid
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core import serializers
from django.db import connection as db_connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from audit.context import Actor
from audit.models import AuditEvent
from authorizations import rules
from config.errors import InvalidInput
from sellers import crypto, oauth
from sellers.models import ConnectState, Seller, SellerConnection, SellerMembership
from spapi_client.client import clear_token_cache
from spapi_client.fake import BASIC_SCENARIO, FakeSpapi
from spapi_client.models import SyncKind, SyncRun
from tests.factories import AsinFactory, BrandFactory, UserFactory

pytestmark = pytest.mark.django_db

SCENARIO = json.loads(BASIC_SCENARIO.read_text(encoding="utf-8"))
HEALTHY = "A2HEALTHYSELL01"  # the scenario's default consenting seller
INFRINGER = "A3INFRINGER0002"
CALLBACK = "/spapi/callback"
JSON = {"HTTP_ACCEPT": "application/json"}
BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def refresh_token(seller_id: str) -> str:
    return SCENARIO["sellers"][seller_id]["refresh_token"]


# --- the fake SP-API and the settings that point at it ----------------------------------------


@pytest.fixture(scope="module")
def fake():
    server = FakeSpapi(BASIC_SCENARIO, speedup=50).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def spapi_settings(settings, fake, monkeypatch):
    lwa = SCENARIO["lwa"]
    settings.SPAPI_ENDPOINT = fake.url
    settings.SPAPI_LWA_TOKEN_URL = fake.lwa_token_url
    settings.SPAPI_CONSENT_URL = fake.consent_url
    settings.SPAPI_LWA_CLIENT_ID = lwa["client_id"]
    settings.SPAPI_LWA_CLIENT_SECRET = lwa["client_secret"]
    settings.SPAPI_APP_ID = lwa["app_id"]
    settings.SPAPI_APP_DRAFT = False
    settings.SITE_URL = "http://testserver"
    settings.SPAPI_MAX_ATTEMPTS = 3
    settings.SPAPI_BACKOFF_INITIAL = 0.01
    settings.SPAPI_BACKOFF_MAX = 0.02
    settings.SPAPI_TIMEOUT = 2.0
    settings.SPAPI_RATE_SPEEDUP = 50  # as the fake's buckets
    settings.SPAPI_RATE_MAX_WAIT = 10.0
    settings.SPAPI_REPORT_POLL_SECONDS = 0  # the first sync's health report (sellers.sync)
    settings.SPAPI_REPORT_MAX_WAIT = 5
    settings.SPAPI_RATELIMIT_PREFIX = f"test-oauth-rl:{uuid.uuid4().hex[:12]}"
    # Throttling off (the callback is anonymous: 30/min would trip across tests).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"oauth-tests-{uuid.uuid4().hex}"}}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES",
                        {"user": "100000/s", "anon": "100000/s", "check": "100000/s", "auth": "100000/s"})
    clear_token_cache()
    fake.reset()
    yield
    clear_token_cache()


class StubTask:
    """Stands in for ``sellers.tasks.sync_seller``: records what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[list] = []

    def apply_async(self, args):
        self.sent.append(list(args))
        return SimpleNamespace(id=f"stub-{len(self.sent)}")


@pytest.fixture
def sync_task(monkeypatch) -> StubTask:
    """The first sync is queued through a stub (the real task would talk to the fake in eager mode)."""
    task = StubTask()
    monkeypatch.setattr(oauth, "_first_sync_task", lambda: task)
    return task


# --- the three legs of the flow ------------------------------------------------------------------


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def start(user) -> tuple[str, str]:
    """POST /api/v1/sellers/connect as ``user``: (consent_url, state)."""
    response = api(user).post("/api/v1/sellers/connect")
    assert response.status_code == 200, response.content
    return response.json()["consent_url"], response.json()["state"]


def consent(fake: FakeSpapi, consent_url: str, *, seller_id: str = HEALTHY) -> dict[str, str]:
    """The seller consents on the (fake) Seller Central page: the callback's query parameters."""
    fake.set_consent_seller(seller_id)
    answer = httpx.get(consent_url, follow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://testserver" + CALLBACK
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def callback(params: dict[str, str], *, client: Client | None = None, headers: dict | None = None):
    return (client or Client()).get(CALLBACK, params, **(headers if headers is not None else JSON))


def counts() -> dict[str, int]:
    return {
        "sellers": Seller.objects.count(),
        "connections": SellerConnection.objects.count(),
        "memberships": SellerMembership.objects.count(),
        "audit_events": AuditEvent.objects.count(),
        "sync_runs": SyncRun.objects.count(),
    }


def error_codes(response) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- start -----------------------------------------------------------------------------------


def test_connect_gives_a_consent_url_and_stores_only_the_state_hash(fake) -> None:
    # given
    user = UserFactory(username="alice")

    # when
    response = api(user).post("/api/v1/sellers/connect")

    # then
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert set(body) == {"consent_url", "state"}
    state = body["state"]
    assert len(state) >= 43
    url = urlsplit(body["consent_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == fake.consent_url
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query == {"application_id": SCENARIO["lwa"]["app_id"], "state": state,
                     "redirect_uri": "http://testserver/spapi/callback"}  # no version=beta: not a draft
    row = ConnectState.objects.get()
    assert row.state_hash == hashlib.sha256(state.encode()).hexdigest()
    assert row.user == user and row.used_at is None
    assert dt.timedelta(minutes=9, seconds=50) < row.expires_at - timezone.now() <= dt.timedelta(minutes=10)
    assert state not in json.dumps(list(ConnectState.objects.values()), default=str)


def test_the_consent_url_asks_for_the_beta_version_while_the_app_is_a_draft(settings) -> None:
    # given
    settings.SPAPI_APP_DRAFT = True

    # when
    consent_url, _state = start(UserFactory())

    # then
    assert parse_qs(urlsplit(consent_url).query)["version"] == ["beta"]


def test_connect_needs_a_signed_in_user() -> None:
    # given / when
    response = api().post("/api/v1/sellers/connect")

    # then
    assert response.status_code == 401
    assert ConnectState.objects.count() == 0


def test_connect_without_sp_api_configured_is_a_clear_error_and_stores_nothing(settings) -> None:
    # given
    settings.SPAPI_APP_ID = ""

    # when
    response = api(UserFactory()).post("/api/v1/sellers/connect")

    # then
    assert response.status_code == 503
    assert error_codes(response) == ["SPAPI_NOT_CONFIGURED"]
    assert ConnectState.objects.count() == 0


# --- the round trip ----------------------------------------------------------------------------


def test_round_trip_connects_the_seller_to_the_user_who_started(fake, sync_task, django_capture_on_commit_callbacks) -> None:
    # given: alice starts, the seller consents on the fake Seller Central page
    alice = UserFactory(username="alice")
    consent_url, state = start(alice)
    params = consent(fake, consent_url)
    assert params["state"] == state and params["selling_partner_id"] == HEALTHY

    # when: Amazon sends the browser back (no session: the state authenticates)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = callback(params)

    # then: the seller JSON as SellerSerializer gives it
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["seller_id"] == HEALTHY and body["connected"] is True
    assert set(body) >= {"seller_id", "name", "home_marketplace", "marketplaces", "health_score", "connected",
                         "last_synced_at"}
    # the seller exists, alice is its partner
    seller = Seller.objects.get(seller_id=HEALTHY)
    assert SellerMembership.objects.filter(user=alice, seller=seller).exists()
    # the token is stored encrypted and decrypts to what LWA (the fake) issued
    connection = SellerConnection.objects.get(seller=seller)
    assert connection.is_active and connection.connected_by == alice
    assert refresh_token(HEALTHY) not in connection.refresh_token_encrypted
    assert crypto.decrypt(connection.refresh_token_encrypted) == refresh_token(HEALTHY)
    # audited, as alice (not "anonymous"), with the request's id
    created = AuditEvent.objects.get(action="connection.created", seller_id=HEALTHY)
    assert created.actor == "alice" and created.actor_user_id == alice.pk
    assert created.request_id == response["X-Request-ID"]
    assert {e.action for e in AuditEvent.objects.filter(seller_id=HEALTHY)} == {
        "seller.created", "membership.added", "connection.created"}
    # the state is used up
    assert ConnectState.objects.get().used_at is not None
    # the first sync: a run, sent only once the transaction committed
    run = SyncRun.objects.get(seller=seller)
    assert (run.kind, run.requested_by) == (SyncKind.SELLER, alice)
    assert len(callbacks) == 1 and sync_task.sent == [[str(run.pk)]]
    # LWA: the code exchange, then an access token for the identity check (one Listings Restrictions call)
    assert fake.stats()["lwa"]["served"] == 2
    assert fake.stats()["getListingsRestrictions"]["served"] == 1


def test_a_browser_is_redirected_and_its_session_may_be_the_same_user(fake, sync_task) -> None:
    # given: alice, signed in in her browser
    alice = UserFactory(username="alice")
    browser = Client()
    browser.force_login(alice)
    params = consent(fake, start(alice)[0])

    # when
    response = callback(params, client=browser, headers=BROWSER)

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("partner:seller", args=[HEALTHY])  # the seller's page
    assert response["Referrer-Policy"] == "no-referrer"
    assert SellerMembership.objects.filter(user=alice, seller__seller_id=HEALTHY).exists()
    assert AuditEvent.objects.get(action="connection.created").source == "web"


def test_a_reconnection_replaces_the_token_and_links_the_new_partner(fake, sync_task) -> None:
    # given: alice connected the seller; bob (a colleague) connects it again
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    assert callback(consent(fake, start(alice)[0])).status_code == 200

    # when
    response = callback(consent(fake, start(bob)[0]))

    # then
    assert response.status_code == 200
    assert Seller.objects.count() == 1
    assert set(SellerMembership.objects.values_list("user__username", flat=True)) == {"alice", "bob"}
    assert SellerConnection.objects.get().connected_by == bob


# --- refusals: nothing stored ---------------------------------------------------------------------


def test_a_forged_state_is_refused_and_nothing_is_stored(fake, sync_task) -> None:
    # given: a real code, but a state we never issued
    alice = UserFactory()
    params = consent(fake, start(alice)[0])
    before = counts()

    # when
    response = callback({**params, "state": "forged-" + params["state"][7:]})

    # then
    assert response.status_code == 400
    assert error_codes(response) == ["INVALID_STATE"]
    assert counts() == before
    assert ConnectState.objects.get().used_at is None
    assert fake.stats()["lwa"]["served"] == 0  # the code was never even sent to LWA


def test_a_callback_claiming_another_seller_is_refused_and_stores_nothing(fake, sync_task) -> None:
    # given: alice consents with her own account, then edits the callback to claim another seller
    alice = UserFactory()
    params = consent(fake, start(alice)[0])
    before = counts()

    # when
    response = callback({**params, "selling_partner_id": INFRINGER})

    # then: Amazon's answer for the claimed sellerId proves the token is not that seller's
    assert response.status_code == 400
    assert error_codes(response) == ["SELLER_IDENTITY_MISMATCH"]
    assert counts() == before
    assert not Seller.objects.filter(seller_id__in=[INFRINGER, HEALTHY]).exists()


def test_a_reused_state_is_refused_and_nothing_more_is_stored(fake, sync_task) -> None:
    # given: the flow completed once
    alice = UserFactory()
    consent_url, _state = start(alice)
    assert callback(consent(fake, consent_url)).status_code == 200
    before = counts()
    # the same state comes back, even with a fresh code for another seller
    params = consent(fake, consent_url, seller_id=INFRINGER)

    # when
    response = callback(params)

    # then
    assert response.status_code == 400
    assert error_codes(response) == ["INVALID_STATE"]
    assert counts() == before
    assert not Seller.objects.filter(seller_id=INFRINGER).exists()


def test_an_expired_state_is_refused_and_nothing_is_stored(fake, sync_task) -> None:
    # given: a state issued eleven minutes ago
    alice = UserFactory()
    params = consent(fake, start(alice)[0])
    ConnectState.objects.update(created_at=timezone.now() - dt.timedelta(minutes=11),
                                expires_at=timezone.now() - dt.timedelta(minutes=1))
    before = counts()

    # when
    response = callback(params)

    # then
    assert response.status_code == 400
    assert error_codes(response) == ["INVALID_STATE"]
    assert counts() == before


def test_a_session_of_another_user_is_refused_and_the_owner_can_still_finish(fake, sync_task) -> None:
    # given: alice started; the callback arrives in a browser where bob is signed in
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    params = consent(fake, start(alice)[0])
    bobs_browser = Client()
    bobs_browser.force_login(bob)
    before = counts()

    # when
    response = callback(params, client=bobs_browser)

    # then: refused, nothing stored, the state not used up
    assert response.status_code == 400
    assert error_codes(response) == ["INVALID_STATE"]
    assert counts() == before
    assert ConnectState.objects.get().used_at is None
    # ... so alice's own browser can still finish it, and the seller is hers, not bob's
    alices_browser = Client()
    alices_browser.force_login(alice)
    assert callback(params, client=alices_browser).status_code == 200
    assert list(SellerMembership.objects.values_list("user__username", flat=True)) == ["alice"]


def test_a_deactivated_user_s_state_is_refused(fake, sync_task) -> None:
    # given
    alice = UserFactory()
    params = consent(fake, start(alice)[0])
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    before = counts()

    # when
    response = callback(params)

    # then
    assert response.status_code == 400 and error_codes(response) == ["INVALID_STATE"]
    assert counts() == before


@pytest.mark.parametrize(
    ("drop", "replace", "expected"),
    [
        ("state", {}, [("INVALID_STATE", "state")]),
        ("selling_partner_id", {}, [("REQUIRED", "selling_partner_id")]),
        ("spapi_oauth_code", {}, [("REQUIRED", "spapi_oauth_code")]),
        (None, {"selling_partner_id": "not-a-seller"}, [("INVALID_SELLER_ID", "selling_partner_id")]),
        (None, {"state": ""}, [("INVALID_STATE", "state")]),
        (None, {"state": "x" * 5000}, [("INVALID_STATE", "state")]),
        (None, {"spapi_oauth_code": "bad\x00code"}, [("INVALID", "spapi_oauth_code")]),
        (None, {"state": "", "selling_partner_id": "", "spapi_oauth_code": ""},
         [("INVALID_STATE", "state"), ("REQUIRED", "selling_partner_id"), ("REQUIRED", "spapi_oauth_code")]),
    ],
)
def test_missing_or_malformed_parameters_are_400_and_store_nothing(fake, sync_task, drop, replace, expected) -> None:
    # given
    params = consent(fake, start(UserFactory())[0])
    if drop:
        params.pop(drop)
    params.update(replace)
    before = counts()

    # when
    response = callback(params)

    # then
    assert response.status_code == 400
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == expected
    assert counts() == before
    assert ConnectState.objects.get().used_at is None
    assert fake.stats()["lwa"]["served"] == 0


# --- the LWA exchange failing ------------------------------------------------------------------


def test_a_code_lwa_refuses_is_a_400_exchange_failure_and_uses_up_the_state(fake, sync_task) -> None:
    # given: a valid state, but a code LWA never issued
    params = {**consent(fake, start(UserFactory())[0]), "spapi_oauth_code": "ANbogus-code-0123456789"}
    before = counts()

    # when
    response = callback(params)

    # then
    assert response.status_code == 400
    assert error_codes(response) == ["SPAPI_EXCHANGE_FAILED"]
    assert "invalid_grant" in response.json()["errors"][0]["detail"]
    assert params["spapi_oauth_code"] not in response.content.decode()
    assert counts() == before
    assert ConnectState.objects.get().used_at is not None  # the partner starts again
    assert error_codes(callback(params)) == ["INVALID_STATE"]


@pytest.mark.parametrize("failure", ["lwa unreachable", "lwa answers html 500"])
def test_lwa_failing_is_a_502_exchange_failure_and_stores_no_seller(fake, sync_task, settings, failure) -> None:
    # given
    params = consent(fake, start(UserFactory())[0])
    if failure == "lwa unreachable":
        settings.SPAPI_LWA_TOKEN_URL = f"http://127.0.0.1:{closed_port()}/auth/o2/token"
    else:
        fake.inject_fault("lwa", "html500", count=10)
    before = counts()

    # when
    response = callback(params)

    # then
    assert response.status_code == 502
    assert error_codes(response) == ["SPAPI_EXCHANGE_FAILED"]
    assert params["spapi_oauth_code"] not in response.content.decode()
    assert params["state"] not in response.content.decode()
    assert counts() == before
    assert not Seller.objects.filter(seller_id=HEALTHY).exists()
    assert ConnectState.objects.get().used_at is not None


# --- secrets -------------------------------------------------------------------------------------


def _logged(caplog, *, whole_records: bool = False) -> str:
    """What the log handlers printed (messages, arguments, tracebacks); with ``whole_records``
    also every attribute of every record (Django's ``django.request`` records carry the request
    object itself, whose repr holds the URL's query)."""
    records = caplog.records
    extra = (repr(r.__dict__) for r in records) if whole_records else (repr(r.args) for r in records)
    return caplog.text + "".join(extra)


def test_the_refresh_token_appears_in_no_response_no_audit_event_and_no_log(fake, sync_task, caplog) -> None:
    # given: everything logged, down to DEBUG; three flows started and consented (the browser's
    # legs: their logs hold the code, as a browser's history would)
    caplog.set_level(logging.DEBUG)
    alice = UserFactory(username="alice")
    bodies = []
    response = api(alice).post("/api/v1/sellers/connect")
    bodies.append(response.content)
    by_json = consent(fake, response.json()["consent_url"])
    by_browser = consent(fake, start(alice)[0])
    refused = {**consent(fake, start(alice)[0]), "spapi_oauth_code": "ANbogus"}
    browser_logs = _logged(caplog, whole_records=True)
    caplog.clear()

    # when: our side — complete by JSON and by browser, fail one exchange, read the seller, disconnect
    bodies.append(callback(by_json).content)
    bodies.append(callback(by_browser, headers=BROWSER).content)
    bodies.append(callback(refused).content)
    bodies.append(api(alice).get(f"/api/v1/sellers/{HEALTHY}").content)
    bodies.append(api(alice).post(f"/api/v1/sellers/{HEALTHY}/disconnect").content)

    # then
    token = refresh_token(HEALTHY)
    secret_part = token.split("|", 1)[1]
    for body in bodies:
        assert token not in body.decode() and secret_part not in body.decode()
    events = serializers.serialize("json", AuditEvent.objects.all())
    assert AuditEvent.objects.filter(action="connection.created").count() == 2
    assert token not in events and secret_part not in events
    for params in (by_json, by_browser, refused):
        assert params["spapi_oauth_code"] not in events and params["state"] not in events
    server_logs = _logged(caplog)
    assert "connected by alice" in server_logs  # the capture works
    everything = browser_logs + _logged(caplog, whole_records=True)
    assert token not in everything and secret_part not in everything
    for params in (by_json, by_browser, refused):
        assert params["spapi_oauth_code"] not in server_logs and params["state"] not in server_logs


# --- disconnect -------------------------------------------------------------------------------


@pytest.fixture
def connected(fake, sync_task, marketplaces):
    """alice connected HEALTHY through the whole flow; an ACTIVE brand with an ASIN in the US."""
    alice = UserFactory(username="alice")
    assert callback(consent(fake, start(alice)[0])).status_code == 200
    seller = Seller.objects.get(seller_id=HEALTHY)
    seller.home_marketplace_id = "US"
    seller.save(update_fields=["home_marketplace"])
    asin = AsinFactory(brand=BrandFactory(), marketplaces=["US"])
    return SimpleNamespace(user=alice, seller=seller, asin=asin)


def _judge(world) -> set[str]:
    return rules.evaluate(brand=world.asin.brand, seller=Seller.objects.get(pk=world.seller.pk),
                          asin_codes=[world.asin.asin], marketplace_codes=["US"]).failed_codes()


def test_disconnect_revokes_the_connection_and_the_seller_is_then_not_connected(connected) -> None:
    # given
    assert "SELLER_NOT_CONNECTED" not in _judge(connected)

    # when
    response = api(connected.user).post(f"/api/v1/sellers/{HEALTHY}/disconnect")

    # then
    assert response.status_code == 204
    connection = SellerConnection.objects.get(seller=connected.seller)
    assert connection.revoked_at is not None and connection.refresh_token_encrypted == ""
    revoked = AuditEvent.objects.get(action="connection.revoked")
    assert (revoked.actor, revoked.seller_id, revoked.source) == ("alice", HEALTHY, "api")
    assert "SELLER_NOT_CONNECTED" in _judge(connected)
    # and again: nothing more to do
    assert api(connected.user).post(f"/api/v1/sellers/{HEALTHY}/disconnect").status_code == 204
    assert AuditEvent.objects.filter(action="connection.revoked").count() == 1


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("stranger", 404), ("ops", 403)])
def test_only_a_partner_may_disconnect(connected, who, expected) -> None:
    # given
    user = {"anonymous": None, "stranger": UserFactory(),
            "ops": UserFactory(is_staff=True)}[who]

    # when
    response = api(user).post(f"/api/v1/sellers/{HEALTHY}/disconnect")

    # then
    assert response.status_code == expected
    assert SellerConnection.objects.get(seller=connected.seller).is_active


def test_disconnect_of_a_malformed_seller_id_is_not_found() -> None:
    # given / when
    response = api(UserFactory()).post("/api/v1/sellers/not-a-seller/disconnect")

    # then
    assert response.status_code == 404


# --- first sync, purge, schema ------------------------------------------------------------------


def test_the_first_sync_runs_after_the_commit_with_the_new_connection(fake, django_capture_on_commit_callbacks) -> None:
    # given: the real sellers.tasks.sync_seller (eager Celery), talking to the fake
    alice = UserFactory(username="alice")
    params = consent(fake, start(alice)[0])

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = callback(params)

    # then: the run finished and the seller's participations came from Amazon (the fake)
    assert response.status_code == 200
    run = SyncRun.objects.get(seller__seller_id=HEALTHY, kind=SyncKind.SELLER)
    assert run.requested_by == alice and run.task_id
    assert run.status == "SUCCESS", run.error
    seller = Seller.objects.get(seller_id=HEALTHY)
    assert seller.last_synced_at is not None
    assert seller.participations.exists()


def test_purge_removes_expired_states_only() -> None:
    # given
    user = UserFactory()
    now = timezone.now()
    for name, expires_at, used_at in [("fresh", now + dt.timedelta(minutes=5), None),
                                      ("used-fresh", now + dt.timedelta(minutes=5), now),
                                      ("expired", now - dt.timedelta(seconds=1), None),
                                      ("used-expired", now - dt.timedelta(hours=1), now - dt.timedelta(hours=2))]:
        ConnectState.objects.create(state_hash=oauth.state_hash(name), user=user, expires_at=expires_at, used_at=used_at)

    # when
    purged = oauth.connect_states_purge()

    # then
    assert purged == 2
    assert set(ConnectState.objects.values_list("state_hash", flat=True)) == {
        oauth.state_hash("fresh"), oauth.state_hash("used-fresh")}


def test_the_openapi_schema_documents_the_endpoints_and_their_errors() -> None:
    # given / when
    response = api(UserFactory()).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    # then
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    callback_get = paths["/spapi/callback"]["get"]
    assert {"200", "302", "400", "502"} <= set(callback_get["responses"])
    assert {p["name"] for p in callback_get["parameters"]} >= {"state", "selling_partner_id", "spapi_oauth_code"}
    assert "200" in paths["/api/v1/sellers/connect"]["post"]["responses"]
    assert "204" in paths["/api/v1/sellers/{seller_id}/disconnect"]["post"]["responses"]


# --- single use under concurrency (PostgreSQL: real row locks, one connection per thread) ----------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_callbacks_with_one_state_connect_once(fake, sync_task) -> None:
    # given: one state, one code, eight callbacks at once
    alice = UserFactory(username="alice")
    params = consent(fake, start(alice)[0])
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def complete() -> None:
        try:
            barrier.wait(timeout=10)
            oauth.connect_complete(state=params["state"], selling_partner_id=params["selling_partner_id"],
                                   spapi_oauth_code=params["spapi_oauth_code"],
                                   request_actor=Actor(name="anonymous", source="web"))
            outcome = "connected"
        except InvalidInput as exc:
            outcome = exc.code
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome = f"{type(exc).__name__}: {exc}"
        finally:
            db_connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=complete) for _ in range(8)]

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then
    assert sorted(outcomes) == ["INVALID_STATE"] * 7 + ["connected"], outcomes
    assert fake.stats()["lwa"]["served"] == 2  # one code exchange, one access token for the identity check
    assert SellerMembership.objects.filter(user=alice, seller__seller_id=HEALTHY).count() == 1
    assert AuditEvent.objects.filter(action="connection.created").count() == 1
