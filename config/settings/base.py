"""Settings shared by every environment. Values come from the environment (12-factor).

The environment-specific modules (``dev``, ``test``, ``production``) decide the defaults that
differ: the embedded SQLite + eager Celery default lives in ``dev``; ``production`` refuses to
start without a secret key and a broker.
"""
from datetime import timedelta
from pathlib import Path

import environ

from config.logging import logging_config

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
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "axes",
    "csp",
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
    "config.security.ContentSecurityPolicyMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.webkit.WebErrorMiddleware",
    # Last (django-axes): turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
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
                "config.web.navigation",
            ],
            "builtins": ["django.templatetags.i18n", "django.templatetags.static", "django.contrib.humanize.templatetags.humanize"],
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
# django-axes checks every login (web form, admin, API token) for a lockout before Django's own
# backend checks the password (config.security.LockoutBackend).
AUTHENTICATION_BACKENDS = [
    "config.security.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Login lockout (django-axes) ------------------------------------------------------------
# LOGIN_FAILURE_LIMIT failed logins for one username from one address lock that pair out for
# LOGIN_COOLOFF_MINUTES (each further try restarts the wait); a successful login resets the count.
# Attempts live in the database (axes' models); `manage.py axes_reset` lifts lockouts.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.security.lockout_client_ip"
AXES_LOCKOUT_CALLABLE = "config.security.lockout_response"

# --- I18N -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
# Each app keeps its own catalogue (brands/locale, …); this one holds the shared templates' strings.
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Proxies ---------------------------------------------------------------------------------
# How many trusted reverse proxies stand in front of gunicorn (each appends to X-Forwarded-For):
# the client address of throttles, audit events and lockouts is the one the outermost saw.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

# --- Content-Security-Policy (django-csp) -----------------------------------------------------
# The same policy in every environment: the pages use no inline script or style. Forms post to
# our own views only, but "Connect a seller account" redirects to Amazon's consent page, and
# Chrome applies form-action to a form's redirects: the middleware adds the origin of
# SPAPI_CONSENT_URL (config.security), and CSP_FORM_ACTION_EXTRA lists more (e.g. another
# region's Seller Central). /api/docs/ widens the policy for itself (config.security.ApiDocsView).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *env.list("CSP_FORM_ACTION_EXTRA", default=[])],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.authentication.PreparedTokenAuthentication",
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
    "NUM_PROXIES": NUM_PROXIES,
}
# Request bodies are capped: a 10,000-row CSV import fits well within this.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

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
# Deployments (or test runs) sharing one Redis keep their tasks apart by queue name.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TIMEZONE = "UTC"
# Task-level retries of the sync tasks (after the SP-API client's own quick retries): at most
# SYNC_TASK_MAX_RETRIES, waiting SYNC_TASK_RETRY_BACKOFF × 2^n seconds (jittered, capped).
SYNC_TASK_MAX_RETRIES = env.int("SYNC_TASK_MAX_RETRIES", default=5)
SYNC_TASK_RETRY_BACKOFF = env.float("SYNC_TASK_RETRY_BACKOFF", default=60.0)
SYNC_TASK_RETRY_BACKOFF_MAX = env.float("SYNC_TASK_RETRY_BACKOFF_MAX", default=1800.0)
REDIS_URL = env.str("REDIS_URL", default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
# The cache (throttle buckets, the worker heartbeat) is shared by every process through Redis;
# without Redis each process keeps its own.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

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

# --- Logging (config/logging.py) -----------------------------------------------------------
# Readable lines with the request id; LOG_JSON=1 (production's default) writes JSON lines.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_config(json_lines=env.bool("LOG_JSON", default=False), level=LOG_LEVEL)


def validate_limits() -> None:
    """Settings that the domain relies on: refuse nonsense at start-up."""
    from django.core.exceptions import ImproperlyConfigured

    if AUDIT_RETENTION_DAYS < 730:
        raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be at least 730 (two years).")


validate_limits()
