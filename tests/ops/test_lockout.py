"""Login lockout (django-axes): LOGIN_FAILURE_LIMIT failed logins for one username from one
address lock that pair out for LOGIN_COOLOFF_MINUTES, on the web login and the API token
endpoint alike; a success resets the count; every lockout is audited."""
from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password
LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token"
HOME = "203.0.113.7"
ELSEWHERE = "198.51.100.9"

pytestmark = pytest.mark.django_db


@pytest.fixture
def limit(settings) -> int:
    return settings.AXES_FAILURE_LIMIT


@pytest.fixture
def lin():
    return UserFactory(username="lin")


def web_login(password: str, *, username: str = "lin", address: str = HOME):
    return Client().post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address,
                         HTTP_ACCEPT_LANGUAGE="en")


def api_token(password: str, *, username: str = "lin", address: str = HOME):
    return APIClient().post(TOKEN, {"username": username, "password": password}, format="json", REMOTE_ADDR=address)


def fail(login, times: int, **kwargs) -> list[int]:
    return [login("wrong-password", **kwargs).status_code for _ in range(times)]


def test_the_defaults_are_five_failures_and_fifteen_minutes(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == dt.timedelta(minutes=15)
    assert settings.AUTHENTICATION_BACKENDS[0] == "config.security.LockoutBackend"


def test_the_web_login_locks_out_at_the_limit_and_says_so(lin, limit):
    # given one failure short of the limit: the form is shown again
    assert fail(web_login, limit - 1) == [200] * (limit - 1)

    # when the last allowed try fails too
    response = web_login("wrong-password")

    # then the lockout page answers, in words, with the wait
    assert response.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in response.templates]
    assert "Too many failed logins" in response.content.decode()
    assert "Try again in 15 minutes" in response.content.decode()
    assert int(response["Retry-After"]) == 15 * 60

    # and even the right password is refused, without a session
    again = web_login(PASSWORD)
    assert again.status_code == 429
    assert "_auth_user_id" not in again.client.session


def test_the_api_token_endpoint_locks_out_with_the_error_shape(lin, limit):
    # given failures up to one short of the limit: plain 401s
    assert fail(api_token, limit - 1) == [401] * (limit - 1)

    # when the limit is reached, and afterwards with the right password
    locking = api_token("wrong-password")
    after = api_token(PASSWORD)

    # then both are refused with LOCKED_OUT, and no token is handed out
    for response in (locking, after):
        assert response.status_code == 429
        [error] = response.json()["errors"]
        assert error["code"] == "LOCKED_OUT"
        assert "15 minutes" in error["detail"]
        assert int(response["Retry-After"]) == 15 * 60
    assert "token" not in after.json()


def test_failures_on_the_web_and_the_api_add_up(lin, limit):
    # given failures through the web form
    fail(web_login, limit - 1)

    # when the last one comes through the API
    response = api_token("wrong-password")

    # then the pair is locked out everywhere
    assert response.status_code == 429
    assert web_login(PASSWORD).status_code == 429


def test_the_lockout_is_per_username_and_address(lin, limit):
    # given lin is locked out from one address
    UserFactory(username="mei")
    fail(api_token, limit)

    # then lin from another address, and another user from the same address, still log in
    assert api_token(PASSWORD, address=ELSEWHERE).status_code == 200
    assert api_token(PASSWORD, username="mei").status_code == 200
    assert api_token(PASSWORD).status_code == 429


def test_a_successful_login_resets_the_count(lin, limit):
    # given failures one short of the limit, then the right password
    fail(web_login, limit - 1)
    assert web_login(PASSWORD).status_code == 302

    # when as many failures follow
    statuses = fail(web_login, limit - 1)

    # then the user is not locked out
    assert statuses == [200] * (limit - 1)
    assert api_token(PASSWORD).status_code == 200


def test_the_lockout_ends_after_the_cool_off(lin, limit, settings):
    # given a lockout whose last failed try is older than the cool-off
    fail(api_token, limit)
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.timezone.utc) - settings.AXES_COOLOFF_TIME
                                 - dt.timedelta(seconds=1))

    # then the right password works again
    assert api_token(PASSWORD).status_code == 200


def test_ops_lift_a_lockout_with_axes_reset(lin, limit):
    # given
    fail(web_login, limit)

    # when ops staff reset the attempts of that username
    call_command("axes_reset_username", "lin")

    # then lin logs in
    assert web_login(PASSWORD).status_code == 302


def test_a_lockout_is_audited_once_without_the_password(lin, limit):
    # given
    fail(web_login, limit - 1)

    # when the limit is reached, and the locked-out user keeps trying
    locking = web_login("s3cret-guess")
    fail(web_login, 3)

    # then one auth.locked_out event tells who was locked out, from where, by which request
    [event] = AuditEvent.objects.filter(action="auth.locked_out")
    assert (event.object_type, event.object_id) == ("login", "lin")
    assert (event.actor, event.source, event.ip) == ("anonymous", "web", HOME)
    assert event.request_id == locking["X-Request-ID"]
    assert event.after == {"username": "lin", "failures": limit, "cool_off_minutes": 15}
    stored = str(event.before) + str(event.after) + event.reason
    assert "s3cret-guess" not in stored and "wrong-password" not in stored


def test_an_api_lockout_is_audited_as_api(lin, limit):
    # when
    fail(api_token, limit)

    # then
    [event] = AuditEvent.objects.filter(action="auth.locked_out")
    assert (event.object_id, event.source, event.ip) == ("lin", "api", HOME)


def test_lockouts_of_other_pairs_are_audited_each(lin, limit):
    # when lin is locked out from two addresses, and a username that does not exist from one
    fail(api_token, limit)
    fail(api_token, limit, address=ELSEWHERE)
    fail(api_token, limit, username="ghost")

    # then three lockouts are on record
    assert sorted(AuditEvent.objects.filter(action="auth.locked_out").values_list("object_id", "ip")) == [
        ("ghost", HOME), ("lin", ELSEWHERE), ("lin", HOME)]
