"""sellers.crypto: refresh tokens encrypted at rest, keys rotated without losing them."""
from __future__ import annotations

import traceback

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from sellers import crypto

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
SECRET = "Atzr|IwEBIA-refresh-token-for-rotation-tests"


def _encrypt_with_old_key() -> str:
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        return crypto.encrypt(SECRET)


def test_encrypted_value_hides_the_secret_and_decrypts_back() -> None:
    # given

    # when
    ciphertext = crypto.encrypt(SECRET)

    # then
    assert SECRET not in ciphertext and "IwEBIA" not in ciphertext
    assert crypto.decrypt(ciphertext) == SECRET
    assert crypto.encrypt(SECRET) != ciphertext  # a fresh IV each time


def test_during_rotation_a_value_encrypted_with_the_old_key_still_decrypts() -> None:
    # given
    old_ciphertext = _encrypt_with_old_key()

    # when
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        plaintext = crypto.decrypt(old_ciphertext)

    # then
    assert plaintext == SECRET


def test_new_values_are_encrypted_with_the_newest_key() -> None:
    # given
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        ciphertext = crypto.encrypt(SECRET)

    # when
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        plaintext = crypto.decrypt(ciphertext)

    # then
    assert plaintext == SECRET


def test_rotate_re_encrypts_with_the_new_key_so_the_old_one_can_be_dropped() -> None:
    # given
    old_ciphertext = _encrypt_with_old_key()
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        rotated = crypto.rotate(old_ciphertext)

    # when: the old key is removed
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        plaintext = crypto.decrypt(rotated)
        with pytest.raises(crypto.DecryptionError) as excinfo:
            crypto.decrypt(old_ciphertext)

    # then: the rotated value decrypts, the unrotated one cannot, and the error gives nothing away
    assert rotated != old_ciphertext
    assert plaintext == SECRET
    text = "".join(traceback.format_exception(excinfo.value))
    for leak in (SECRET, old_ciphertext, old_ciphertext[:20], OLD_KEY, NEW_KEY):
        assert leak not in text
        assert leak not in repr(excinfo.value)


def test_rotate_refuses_a_value_no_key_can_read_without_leaking_it() -> None:
    # given
    old_ciphertext = _encrypt_with_old_key()

    # when
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]), pytest.raises(crypto.DecryptionError) as excinfo:
        crypto.rotate(old_ciphertext)

    # then
    assert old_ciphertext not in "".join(traceback.format_exception(excinfo.value))


@pytest.mark.parametrize("garbage", ["", "not-a-token", "gAAAAAB" + "x" * 80, "ü" * 10])
def test_garbage_raises_decryption_error(garbage) -> None:
    # given: a column someone edited by hand

    # when
    with pytest.raises(crypto.DecryptionError) as excinfo:
        crypto.decrypt(garbage)

    # then
    assert str(excinfo.value)
    if garbage:
        assert garbage not in str(excinfo.value)


def test_a_single_key_or_the_comma_separated_form_is_accepted() -> None:
    # given
    old_ciphertext = _encrypt_with_old_key()

    # when
    with override_settings(FIELD_ENCRYPTION_KEYS=f"{NEW_KEY}, {OLD_KEY}"):
        plaintext = crypto.decrypt(old_ciphertext)
    with override_settings(FIELD_ENCRYPTION_KEYS=OLD_KEY):
        again = crypto.decrypt(old_ciphertext)

    # then
    assert plaintext == again == SECRET


def test_missing_or_malformed_keys_are_a_configuration_error() -> None:
    # given

    # when / then
    with override_settings(FIELD_ENCRYPTION_KEYS=[]), pytest.raises(ImproperlyConfigured):
        crypto.encrypt(SECRET)
    with override_settings(FIELD_ENCRYPTION_KEYS=["not-a-fernet-key"]), pytest.raises(ImproperlyConfigured) as excinfo:
        crypto.encrypt(SECRET)
    assert "not-a-fernet-key" not in "".join(traceback.format_exception(excinfo.value))
