"""``manage.py rotate_encryption_key``: re-encrypt every stored refresh token with the newest key.

Rotation: set ``FIELD_ENCRYPTION_KEY=new,old`` on every process, run this once, then drop the old
key (``FIELD_ENCRYPTION_KEY=new``). Each batch of tokens is re-encrypted and audited
(``connection.key_rotated``) in one transaction; running it again is harmless.
"""
from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.context import Actor
from sellers.crypto import DecryptionError
from sellers.services import connection_tokens_rotate


class Command(BaseCommand):
    help = "Re-encrypt every stored SP-API refresh token with the first key of FIELD_ENCRYPTION_KEY."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="tokens per transaction (default 500)")

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        keys = len(settings.FIELD_ENCRYPTION_KEYS)
        try:
            rotated = connection_tokens_rotate(actor=Actor.command("rotate_encryption_key"), batch_size=batch_size)
        except DecryptionError:
            raise CommandError(
                "A stored refresh token cannot be decrypted with any key of FIELD_ENCRYPTION_KEY: its batch was left "
                "as it was (earlier batches are re-encrypted). Put the key it was written with back in the list "
                "and run this again.") from None
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {rotated} refresh token(s) with the newest key."))
        if keys > 1:
            self.stdout.write(f"Once every process runs with this key list, drop the {keys - 1} older key(s) from "
                              "FIELD_ENCRYPTION_KEY.")
