"""Reads of sellers that need care."""
from __future__ import annotations

from . import crypto
from .models import Seller, SellerConnection


def refresh_token_of(seller: Seller) -> str | None:
    """The seller's SP-API refresh token, decrypted, for ``spapi_client`` to call Amazon with;
    None when the seller is not (or no longer) connected. Never log or store what it returns.
    Raises :class:`crypto.DecryptionError` when no configured key can read the stored token."""
    ciphertext = (
        SellerConnection.objects.filter(seller=seller, revoked_at__isnull=True)
        .exclude(refresh_token_encrypted="")
        .values_list("refresh_token_encrypted", flat=True)
        .first()
    )
    return None if ciphertext is None else crypto.decrypt(ciphertext)
