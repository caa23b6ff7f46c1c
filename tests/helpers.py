"""Small helpers shared by several test folders."""
from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def token_client(user=None) -> APIClient:
    """An APIClient sending ``Authorization: Token <key>`` for ``user`` (none: anonymous)."""
    client = APIClient()
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION="Token " + token.key)
    return client


def redis_client(url: str):
    """A connected Redis client (raises when Redis does not answer)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    client.ping()
    return client


def delete_redis_keys(url: str, prefix: str) -> None:
    """Remove a test's rate-limit buckets (``prefix:*``); nothing to do when Redis is absent."""
    if not url:
        return
    try:
        client = redis_client(url)
    except Exception:  # noqa: BLE001 - nothing to clean when Redis is absent
        return
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
