"""Encryption at rest for refresh tokens: Fernet with key rotation (MultiFernet).

``FIELD_ENCRYPTION_KEY`` holds one key, or several comma-separated, newest first: new values are
encrypted with the first, and any of them decrypts.
"""
from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """The stored value cannot be decrypted with any configured key (message never holds it)."""


def _configured_keys() -> tuple[str | bytes, ...]:
    keys = getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or ()
    if isinstance(keys, (str, bytes)):  # one key, or the environment's comma-separated form
        keys = keys.split("," if isinstance(keys, str) else b",")
    return tuple(k.strip() for k in keys if k and k.strip())


@functools.lru_cache(maxsize=4)
def _multifernet(keys: tuple[str | bytes, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])
    except (ValueError, TypeError):
        # Not ``from exc``: the key itself must not end up in a traceback or a log.
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be Fernet keys (urlsafe base64, 32 bytes)") from None


def _fernet() -> MultiFernet:
    """Read the keys on every call (settings may change in tests; a rotation is a restart)."""
    keys = _configured_keys()
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is not set")
    return _multifernet(keys)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from None
