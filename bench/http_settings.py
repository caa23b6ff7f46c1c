"""Settings of the HTTP benchmarks: production's, plus the floor's URL (bench/http_urls.py).

The benchmark sets the environment production insists on (SECRET_KEY, DATABASE_URL,
CELERY_BROKER_URL, FIELD_ENCRYPTION_KEY, REDIS_URL) and sends ``X-Forwarded-Proto: https`` as a
TLS-terminating proxy would; nothing else differs from production.
"""
from config.settings.production import *  # noqa: F401,F403
from config.settings.production import CACHES

ROOT_URLCONF = "http_urls"
# The throttle buckets live in Redis as in production, under a prefix the benchmark removes.
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": "sellerauth-bench"}}
