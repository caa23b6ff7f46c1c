"""``manage.py sync_now`` and ``manage.py rotate_encryption_key``."""
from __future__ import annotations

import re
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import AuditEvent
from sellers.crypto import DecryptionError, decrypt, encrypt
from sellers.models import SellerConnection
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from spapi_client.runs import run_create
from tests.factories import SellerFactory
from tests.sync.conftest import HEALTHY, fake, spapi_settings, world  # noqa: F401  (the fake SP-API world)


def sync_now(*args: str) -> str:
    out = StringIO()
    call_command("sync_now", *args, stdout=out)
    return out.getvalue()


def request_id_of(output: str) -> str:
    return re.search(r"request id (\w+)", output).group(1)


# -- sync_now --------------------------------------------------------------------------------------

def test_sync_now_wait_runs_the_seller_sync_here_under_the_commands_request_id(transactional_db, world):
    # when
    output = sync_now("--seller", HEALTHY, "--wait")

    # then the run finished here, and the task's audit events carry the command's request id
    run = SyncRun.objects.get(seller=world.healthy, kind=SyncKind.SELLER)
    assert run.status == SyncStatus.SUCCESS, run.error
    assert f"job {run.pk} succeeded" in output
    events = AuditEvent.objects.filter(source="worker", seller_id=HEALTHY)
    assert events.exists()
    assert set(events.values_list("request_id", flat=True)) == {request_id_of(output)}


def test_sync_now_queues_the_seller_sync_for_the_workers(world, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks() as sent:
        output = sync_now("--seller", HEALTHY)

    # then one run waits, its task to be sent once the transaction commits
    run = SyncRun.objects.get(seller=world.healthy)
    assert run.status == SyncStatus.PENDING and len(sent) == 1
    assert f"job {run.pk}: PENDING" in output


def test_sync_now_wait_does_not_run_a_second_sync_beside_one_under_way(world):
    # given a sync of the seller queued a moment ago
    queued = run_create(kind=SyncKind.SELLER, seller=world.healthy)

    # when
    with pytest.raises(CommandError, match=f"job {queued.pk} was already under way"):
        sync_now("--seller", HEALTHY, "--wait")

    # then nothing new
    assert list(SyncRun.objects.all()) == [queued]


def test_sync_now_refuses_a_seller_that_is_not_connected(world):
    # given
    SellerConnection.objects.filter(seller=world.healthy).update(revoked_at=timezone.now())

    # then
    with pytest.raises(CommandError, match="SELLER_NOT_CONNECTED"):
        sync_now("--seller", HEALTHY, "--wait")
    assert not SyncRun.objects.exists()


def test_sync_now_names_an_unknown_seller_or_brand(world):
    with pytest.raises(CommandError, match="No seller 'A0NOSUCHSELLER'"):
        sync_now("--seller", "A0NOSUCHSELLER")
    with pytest.raises(CommandError, match="No brand 999999"):
        sync_now("--brand", "999999")


def test_sync_now_takes_a_seller_or_a_brand(world):
    with pytest.raises(CommandError):
        sync_now("--seller", HEALTHY, "--brand", str(world.acme.pk))
    with pytest.raises(CommandError):
        sync_now("--wait")


def test_sync_now_wait_runs_the_brand_sync_here(transactional_db, world):
    # given the brand verifies its catalog on the healthy seller's connection
    world.acme.spapi_account = world.healthy
    world.acme.save(update_fields=["spapi_account"])

    # when
    output = sync_now("--brand", str(world.acme.pk), "--wait")

    # then
    run = SyncRun.objects.get(brand=world.acme)
    assert (run.kind, run.status) == (SyncKind.BRAND, SyncStatus.SUCCESS), run.error
    assert f"job {run.pk} succeeded" in output


def test_sync_now_wait_reports_a_failed_brand_sync(transactional_db, world):
    # given a brand without an SP-API account, when it is synced here, then the command fails saying why
    with pytest.raises(CommandError, match="failed: The brand has no SP-API account"):
        sync_now("--brand", str(world.bravo.pk), "--wait")
    assert SyncRun.objects.get(brand=world.bravo).status == SyncStatus.FAILURE


# -- rotate_encryption_key -----------------------------------------------------------------------

@pytest.fixture
def old_key(settings) -> str:
    key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [key]
    return key


def connect(seller_id: str, token: str) -> SellerConnection:
    seller = SellerFactory(seller_id=seller_id, connected=False)
    return SellerConnection.objects.create(seller=seller, refresh_token_encrypted=encrypt(token),
                                           connected_at=timezone.now())


def test_rotation_reencrypts_every_token_with_the_newest_key(db, marketplaces, settings, old_key):
    # given three connections written with the old key, and a revoked one (no token)
    tokens = {f"A{n:012d}": f"Atzr|refresh-{n}" for n in range(3)}
    for seller_id, token in tokens.items():
        connect(seller_id, token)
    SellerFactory(seller_id="A9REVOKED0001", connected=False)
    new_key = Fernet.generate_key().decode()

    # when the new key is put first and the command runs (in batches of two)
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    out = StringIO()
    call_command("rotate_encryption_key", "--batch-size", "2", stdout=out)

    # then every token decrypts with the new key alone, and no longer with the old one
    stored = {c.seller.seller_id: c.refresh_token_encrypted for c in SellerConnection.objects.select_related("seller")}
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert {seller_id: decrypt(value) for seller_id, value in stored.items()} == tokens
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    for value in stored.values():
        with pytest.raises(DecryptionError):
            decrypt(value)
    # and each re-encryption is audited, as the command, without the token
    events = AuditEvent.objects.filter(action="connection.key_rotated")
    assert sorted(events.values_list("seller_id", flat=True)) == sorted(tokens)
    assert {(e.source, e.actor) for e in events} == {("command", "manage.py rotate_encryption_key")}
    assert not any("refresh-" in str(e.before) + str(e.after) for e in events)
    assert "Re-encrypted 3 refresh token(s)" in out.getvalue()
    assert "drop the 1 older key(s)" in out.getvalue()


def test_rotation_stops_at_a_token_no_key_can_read(db, marketplaces, settings, old_key):
    # given a token written with a key that is no longer configured
    connect("A000000000001", "Atzr|refresh-lost")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    # when / then the command fails without naming the token, and changes nothing
    with pytest.raises(CommandError, match="cannot be decrypted") as failed:
        call_command("rotate_encryption_key", stdout=StringIO())
    assert "refresh-lost" not in str(failed.value)
    assert not AuditEvent.objects.filter(action="connection.key_rotated").exists()
