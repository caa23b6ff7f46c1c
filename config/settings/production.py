"""Production: everything from the environment; refuse to start without the essentials."""
from django.core.exceptions import ImproperlyConfigured

from config.logging import logging_config

from .base import *  # noqa: F401,F403
from .base import LOG_LEVEL, database_from_env, env

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in production.")

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
if not CELERY_BROKER_URL:
    raise ImproperlyConfigured("CELERY_BROKER_URL must be set in production (tasks never run eagerly there).")
CELERY_TASK_ALWAYS_EAGER = False

if not env.str("DATABASE_URL", default=""):
    raise ImproperlyConfigured("DATABASE_URL must be set in production.")
DATABASES = {"default": database_from_env("")}

FIELD_ENCRYPTION_KEYS = [k.strip() for k in env.str("FIELD_ENCRYPTION_KEY", default="").split(",") if k.strip()]
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be set in production (refresh tokens are encrypted).")

# HTTPS only: a TLS-terminating proxy in front sets X-Forwarded-Proto. Load balancers probe
# /healthz over plain HTTP inside the network, so it is not redirected.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
X_FRAME_OPTIONS = "DENY"  # and the Content-Security-Policy's frame-ancestors 'none' (base)

# One JSON object per log line (LOG_JSON=0 for readable lines).
LOGGING = logging_config(json_lines=env.bool("LOG_JSON", default=True), level=LOG_LEVEL)
