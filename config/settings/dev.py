"""The embedded default: SQLite and eager Celery unless the environment says otherwise.

Secrets that a newcomer has not set are generated once into ``var/dev-secrets.json`` (ignored
by git), never hard-coded.
"""
import json
import secrets

from cryptography.fernet import Fernet

from .base import *  # noqa: F401,F403
from .base import BASE_DIR, database_from_env, env

DEBUG = env.bool("DEBUG", default=True)


def _local_secrets() -> dict:
    path = BASE_DIR / "var" / "dev-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {"secret_key": secrets.token_urlsafe(50), "field_encryption_key": Fernet.generate_key().decode()}
    path.write_text(json.dumps(values))
    return values


_secrets = _local_secrets()
SECRET_KEY = env.str("SECRET_KEY", default=_secrets["secret_key"])
FIELD_ENCRYPTION_KEYS = [
    k.strip() for k in env.str("FIELD_ENCRYPTION_KEY", default=_secrets["field_encryption_key"]).split(",") if k.strip()
]

DATABASES = {"default": database_from_env(f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")}
(BASE_DIR / "var").mkdir(exist_ok=True)

# Embedded default: with no broker configured, tasks run in-process (explicit here, never in
# production).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
