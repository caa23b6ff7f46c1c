"""Test settings: DATABASE_URL picks PostgreSQL (CI) or SQLite; Celery always eager."""
from cryptography.fernet import Fernet

from .base import *  # noqa: F401,F403
from .base import BASE_DIR, database_from_env, env

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-for-production-0123456789abcdef"
FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
DATABASES = {"default": database_from_env(f"sqlite:///{BASE_DIR / 'var' / 'test.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="") or None}
if not DATABASES["default"]["TEST"]["NAME"]:
    del DATABASES["default"]["TEST"]["NAME"]

CELERY_BROKER_URL = ""
CELERY_TASK_ALWAYS_EAGER = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
