"""Operations: login lockout, request ids across processes, health, commands, backup and restore.

Every test here gets a cache of its own (empty throttle buckets, no worker heartbeat left over
from another test) and the API's throttles out of the way: the lockout tests log in more often
than the token endpoint's hard rate allows.
"""
from __future__ import annotations

import uuid

import pytest
from rest_framework.throttling import SimpleRateThrottle

from tests.api.conftest import UNTHROTTLED


@pytest.fixture(autouse=True)
def _own_cache_no_throttling(monkeypatch, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"ops-tests-{uuid.uuid4().hex}"}}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", dict(UNTHROTTLED))


