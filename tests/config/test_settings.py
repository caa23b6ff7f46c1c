"""The settings modules: production refuses to start half-configured; the embedded default needs nothing."""
import pytest

from .production import PRODUCTION_ENV, manage


def test_production_check_deploy_is_clean():
    # given complete production configuration
    # when Django's deployment checklist runs
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    # then it reports nothing
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "CELERY_BROKER_URL", "DATABASE_URL", "FIELD_ENCRYPTION_KEY"])
def test_production_refuses_to_start_without(missing):
    # given production configuration lacking one essential variable
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    # when any command starts
    result = manage("check", env=env)
    # then it stops, naming what is missing
    assert result.returncode != 0
    assert missing in result.stderr


def test_embedded_default_needs_no_services(tmp_path):
    # given no database, broker or secret configured (the dev settings)
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.dev"}
    # when the app's checks run
    result = manage("check", env=env)
    # then it starts on SQLite with eager tasks
    assert result.returncode == 0, result.stderr
    probe = manage("shell", "-c", "from django.conf import settings as s; "
                   "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)", env=env)
    assert probe.stdout.strip().splitlines()[-1].split() == ["django.db.backends.sqlite3", "True"]


SHOW_SECURITY = """
from django.conf import settings as s
from django.test import Client
print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,
      s.SECURE_SSL_REDIRECT, s.X_FRAME_OPTIONS)
client = Client(HTTP_HOST="auth.example.com")
print(client.get("/healthz").status_code, client.get("/accounts/login/").status_code)
print(client.get("/healthz", secure=True).headers.get("Strict-Transport-Security"))
"""


def test_production_is_https_only_except_the_load_balancers_probe():
    # given the production settings
    # when they are read, and plain-HTTP requests come in
    result = manage("shell", "-c", SHOW_SECURITY, env=PRODUCTION_ENV)
    # then HSTS, secure cookies, no framing; /healthz answers over HTTP (503 here: no database),
    # any other page is redirected to HTTPS
    assert result.returncode == 0, result.stderr
    settings_line, statuses, hsts = result.stdout.strip().splitlines()[-3:]
    assert settings_line.split() == ["31536000", "True", "True", "True", "True", "DENY"]
    assert statuses.split() == ["503", "301"]
    assert hsts == "max-age=31536000; includeSubDomains; preload"
