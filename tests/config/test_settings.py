"""The settings modules: production refuses to start half-configured; the embedded default needs nothing."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "k" * 20 + "-production-secret-key-with-enough-entropy-0123456789",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "auth.example.com",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in PRODUCTION_ENV and k != "DJANGO_ALLOW_ASYNC_UNSAFE" and not k.startswith(("SPAPI_", "REDIS_"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


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
