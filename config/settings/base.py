"""Settings shared by every environment. Values come from the environment (12-factor).

The environment-specific modules (``dev``, ``test``, ``production``) decide the defaults that
differ: the embedded SQLite + eager Celery default lives in ``dev``; ``production`` refuses to
start without a secret key and a broker.
"""
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "audit",
    "sellers",
    "brands",
    "authorizations",
    "spapi_client",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL selects the database; the modules below set the default when it is absent.
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def database_from_env(default: str) -> dict:
    config = env.db_url("DATABASE_URL", default=default)
    if config["ENGINE"] == "django.db.backends.postgresql":
        config.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
        config["CONN_HEALTH_CHECKS"] = True
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL + a busy timeout let the demo's web server and eager tasks share the file.
        config.setdefault("OPTIONS", {}).update(
            {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
        )
    return config


# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- I18N -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.rest.StandardPagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "config.rest.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["config.rest.BurstUserRateThrottle", "config.rest.BurstAnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("THROTTLE_USER", default="50/s"),
        "anon": env.str("THROTTLE_ANON", default="30/min"),
        "check": env.str("THROTTLE_CHECK", default="300/s"),
        "auth": env.str("THROTTLE_AUTH", default="10/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
# Request bodies are capped: a 10,000-row CSV import fits well within this.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env.str("REDIS_URL")}
        if env.str("REDIS_URL", default="")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Seller authorization manager API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.add_error_responses",
    ],
}

# --- Celery ---------------------------------------------------------------------------------
# CELERY_BROKER_URL unset means "no broker": the environment modules decide whether that is
# allowed (dev/test: tasks run eagerly; production: refuse to start).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Task-level retries of the sync tasks (after the SP-API client's own quick retries): at most
# SYNC_TASK_MAX_RETRIES, waiting SYNC_TASK_RETRY_BACKOFF × 2^n seconds (jittered, capped).
SYNC_TASK_MAX_RETRIES = env.int("SYNC_TASK_MAX_RETRIES", default=5)
SYNC_TASK_RETRY_BACKOFF = env.float("SYNC_TASK_RETRY_BACKOFF", default=60.0)
SYNC_TASK_RETRY_BACKOFF_MAX = env.float("SYNC_TASK_RETRY_BACKOFF_MAX", default=1800.0)
REDIS_URL = env.str("REDIS_URL", default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")

# --- Secrets --------------------------------------------------------------------------------
# FIELD_ENCRYPTION_KEY: Fernet key(s), comma-separated, newest first (rotation).
FIELD_ENCRYPTION_KEYS = [k.strip() for k in env.str("FIELD_ENCRYPTION_KEY", default="").split(",") if k.strip()]

# --- Domain rules (DOMAIN.md) ---------------------------------------------------------------
MAX_SELLERS_PER_BRAND = env.int("MAX_SELLERS_PER_BRAND", default=50)
MAX_SELLERS_PER_ASIN = env.int("MAX_SELLERS_PER_ASIN", default=10)
MIN_HEALTH_SCORE = env.int("MIN_HEALTH_SCORE", default=90)
HEALTH_MAX_AGE_DAYS = env.int("HEALTH_MAX_AGE_DAYS", default=7)
MAX_INFRINGEMENTS = env.int("MAX_INFRINGEMENTS", default=0)
EXPIRING_SOON_DAYS = env.int("EXPIRING_SOON_DAYS", default=14)
REQUEST_OVERDUE_BUSINESS_DAYS = env.int("REQUEST_OVERDUE_BUSINESS_DAYS", default=7)
# Copyright-controlled media categories are not open to authorization (CATEGORY_EXCLUDED).
EXCLUDED_CATEGORIES = env.list(
    "EXCLUDED_CATEGORIES",
    default=["books", "music", "video", "dvd", "software", "movies & tv", "cds & vinyl", "digital music"],
)
MAX_GRANT_PAIRS = 10_000
MAX_GRANT_ASINS = 10_000
MAX_CHECK_BATCH = 1_000
# Locks wait at most this long before the service gives up with a retryable error.
DB_LOCK_TIMEOUT_MS = env.int("DB_LOCK_TIMEOUT_MS", default=5000)

# --- Audit ----------------------------------------------------------------------------------
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=730)

# --- SP-API ---------------------------------------------------------------------------------
SPAPI_LWA_CLIENT_ID = env.str("SPAPI_LWA_CLIENT_ID", default="")
SPAPI_LWA_CLIENT_SECRET = env.str("SPAPI_LWA_CLIENT_SECRET", default="")
SPAPI_APP_ID = env.str("SPAPI_APP_ID", default="")
SPAPI_ENDPOINT = env.str("SPAPI_ENDPOINT", default="")
SPAPI_LWA_TOKEN_URL = env.str("SPAPI_LWA_TOKEN_URL", default="")
SPAPI_CONSENT_URL = env.str("SPAPI_CONSENT_URL", default="")
SPAPI_APP_DRAFT = env.bool("SPAPI_APP_DRAFT", default=False)  # consent URL carries version=beta
# Amazon's usage-plan rates are multiplied by this (tests and benchmarks against the fake only).
SPAPI_RATE_SPEEDUP = env.float("SPAPI_RATE_SPEEDUP", default=1.0)
SPAPI_MAX_ATTEMPTS = env.int("SPAPI_MAX_ATTEMPTS", default=5)
SPAPI_BACKOFF_INITIAL = env.float("SPAPI_BACKOFF_INITIAL", default=1.0)
SPAPI_BACKOFF_MAX = env.float("SPAPI_BACKOFF_MAX", default=30.0)
SPAPI_TIMEOUT = env.float("SPAPI_TIMEOUT", default=20.0)
SPAPI_RATE_MAX_WAIT = env.float("SPAPI_RATE_MAX_WAIT", default=90.0)
SPAPI_RATELIMIT_PREFIX = env.str("SPAPI_RATELIMIT_PREFIX", default="spapi:rl")
# The seller sync polls an account health report this often, for at most this long per attempt
# (then the task retries later and polls the same report again).
SPAPI_REPORT_POLL_SECONDS = env.float("SPAPI_REPORT_POLL_SECONDS", default=15.0)
SPAPI_REPORT_MAX_WAIT = env.float("SPAPI_REPORT_MAX_WAIT", default=120.0)

# --- E-mail (alerts, expiring-soon notices) ----------------------------------------------------
# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587 (django-environ); unset = SMTP on
# localhost:25. dev (the demo) prints mail to the console; test keeps it in memory.
_email = env.email_url("EMAIL_URL", default="smtp://localhost:25")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Seller authorizations <noreply@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}


def validate_limits() -> None:
    """Settings that the domain relies on: refuse nonsense at start-up."""
    from django.core.exceptions import ImproperlyConfigured

    if AUDIT_RETENTION_DAYS < 730:
        raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be at least 730 (two years).")


validate_limits()
