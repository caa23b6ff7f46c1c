"""SP-API settings, read once per call from Django settings (so ``override_settings`` works).

Every value comes from a Django setting of the same name when the settings module defines it,
else from the environment variable of that name, else from the default below. The first six
are defined in ``config/settings/base.py``; the tuning knobs (attempts, back-off, time-outs,
rate speed-up) fall back to the environment so that tests and benchmarks can set them without
a settings change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

__all__ = ["SpapiConfig", "get_config", "DEFAULT_CONSENT_URL", "DEFAULT_LWA_TOKEN_URL"]

DEFAULT_LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
# Seller Central's consent page (North America; the other regions' Seller Central hosts serve the
# same path). SPAPI_CONSENT_URL overrides it (demo and tests point it at the fake server).
DEFAULT_CONSENT_URL = "https://sellercentral.amazon.com/apps/authorize/consent"
CALLBACK_PATH = "/spapi/callback"


@dataclass(frozen=True)
class SpapiConfig:
    endpoint: str  # "" = Amazon's regional endpoints
    lwa_token_url: str
    lwa_client_id: str
    lwa_client_secret: str
    app_id: str
    consent_url: str
    app_is_draft: bool  # consent URL gets version=beta while the app is a draft
    site_url: str
    rate_speedup: float
    max_attempts: int
    backoff_initial: float  # seconds before the first retry (then doubled, plus jitter)
    backoff_max: float  # cap of one back-off wait
    timeout: float  # seconds, connect and read, per HTTP request
    rate_max_wait: float  # longest acquire() waits for a token before giving up
    redis_url: str
    ratelimit_prefix: str

    def __repr__(self) -> str:  # never the client secret
        return f"SpapiConfig(endpoint={self.endpoint!r}, lwa_token_url={self.lwa_token_url!r}, app_id={self.app_id!r})"

    @property
    def callback_url(self) -> str:
        return f"{self.site_url}{CALLBACK_PATH}"


def _value(name: str, default: Any) -> Any:
    return getattr(settings, name, default)  # config/settings/base.py reads them from the environment


def _float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = _value(name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise _improperly(f"{name} must be a number, got {raw!r}") from exc
    if value < minimum:
        raise _improperly(f"{name} must be at least {minimum}, got {value}")
    return value


def _int(name: str, default: int, *, minimum: int) -> int:
    raw = _value(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise _improperly(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise _improperly(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = _value(name, default)
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() in {"1", "true", "yes", "on"}


def _improperly(message: str) -> Exception:
    from django.core.exceptions import ImproperlyConfigured

    return ImproperlyConfigured(message)


def get_config() -> SpapiConfig:
    speedup = _float("SPAPI_RATE_SPEEDUP", 1.0)
    if speedup <= 0:
        raise _improperly("SPAPI_RATE_SPEEDUP must be positive")
    return SpapiConfig(
        endpoint=str(_value("SPAPI_ENDPOINT", "") or "").rstrip("/"),
        lwa_token_url=str(_value("SPAPI_LWA_TOKEN_URL", "") or "") or DEFAULT_LWA_TOKEN_URL,
        lwa_client_id=str(_value("SPAPI_LWA_CLIENT_ID", "") or ""),
        lwa_client_secret=str(_value("SPAPI_LWA_CLIENT_SECRET", "") or ""),
        app_id=str(_value("SPAPI_APP_ID", "") or ""),
        consent_url=str(_value("SPAPI_CONSENT_URL", "") or "") or DEFAULT_CONSENT_URL,
        app_is_draft=_bool("SPAPI_APP_DRAFT", False),
        site_url=str(_value("SITE_URL", "http://127.0.0.1:8000")).rstrip("/"),
        rate_speedup=speedup,
        max_attempts=_int("SPAPI_MAX_ATTEMPTS", 5, minimum=1),
        backoff_initial=_float("SPAPI_BACKOFF_INITIAL", 1.0),
        backoff_max=_float("SPAPI_BACKOFF_MAX", 30.0),
        timeout=_float("SPAPI_TIMEOUT", 20.0, minimum=0.001),
        rate_max_wait=_float("SPAPI_RATE_MAX_WAIT", 90.0),
        redis_url=str(_value("REDIS_URL", "") or ""),
        ratelimit_prefix=str(_value("SPAPI_RATELIMIT_PREFIX", "spapi:rl") or "spapi:rl"),
    )
