"""Running ``manage.py`` in a subprocess under a given environment (the production settings are
read once, at start-up, from the environment)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    """``manage.py *args`` with ``env`` over this process's environment, minus anything that
    configures the app (database, broker, Redis, SP-API, logging) unless ``env`` sets it."""
    clean = {k: v for k, v in os.environ.items()
             if k not in PRODUCTION_ENV and k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "LOG_JSON", "LOG_LEVEL"}
             and not k.startswith(("SPAPI_", "REDIS_"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)
