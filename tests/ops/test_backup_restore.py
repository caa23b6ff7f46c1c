"""docs/operations.md's backup and restore: ``pg_dump -Fc``, ``pg_restore`` into an empty
database, then ``manage.py audit_verify`` — the restored audit trail verifies, and a restored copy
that was tampered with does not."""
from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import psycopg2
import pytest
from django.db import connection, transaction

from audit import services as audit
from audit.context import Actor
from tests.config.production import manage

PG_DUMP, PG_RESTORE = shutil.which("pg_dump"), shutil.which("pg_restore")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not (PG_DUMP and PG_RESTORE), reason="pg_dump / pg_restore are not installed"),
]


def _server() -> dict[str, str]:
    db = connection.settings_dict
    return {"host": db["HOST"] or "127.0.0.1", "port": str(db["PORT"] or 5432), "user": db["USER"],
            "password": db.get("PASSWORD") or ""}


def _url(server: dict[str, str], name: str) -> str:
    auth = server["user"] + (f":{server['password']}" if server["password"] else "")
    return f"postgres://{auth}@{server['host']}:{server['port']}/{name}"


def _admin(server: dict[str, str], sql: str) -> None:
    admin = psycopg2.connect(dbname="postgres", host=server["host"], port=server["port"], user=server["user"],
                             password=server["password"] or None)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql)
    finally:
        admin.close()


@pytest.fixture
def scratch_database():
    """An empty database to restore into, dropped afterwards."""
    server = _server()
    name = f"sellerauth_restore_{uuid.uuid4().hex[:10]}"
    _admin(server, f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_env(server: dict[str, str]) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "PGPASSWORD": server["password"]}


def audit_verify(database: str) -> dict:
    result = manage("audit_verify", "--json", env={"DJANGO_SETTINGS_MODULE": "config.settings.dev",
                                                   "DATABASE_URL": _url(_server(), database)})
    return {"returncode": result.returncode, **json.loads(result.stdout.strip().splitlines()[-1])}


def test_a_dump_restored_into_a_new_database_verifies(tmp_path, scratch_database):
    # given audit events in several streams (brands and the global one)
    with transaction.atomic():
        audit.record_many(Actor.command("backup-test"), [
            audit.event("brand.updated", object_type="brand", object_id=n % 3, brand_id=n % 3 or None,
                        after={"n": n}) for n in range(30)])
    server = _server()
    dump = tmp_path / "sellerauth.dump"

    # when the database is dumped and restored into an empty one, as docs/operations.md says
    subprocess.run([PG_DUMP, "--format=custom", "--no-owner", f"--file={dump}", "--host", server["host"],
                    "--port", server["port"], "--username", server["user"], connection.settings_dict["NAME"]],
                   env=_pg_env(server), check=True, capture_output=True, timeout=120)
    subprocess.run([PG_RESTORE, "--no-owner", "--exit-on-error", "--host", server["host"], "--port", server["port"],
                    "--username", server["user"], "--dbname", scratch_database, str(dump)],
                   env=_pg_env(server), check=True, capture_output=True, timeout=120)

    # then the restored audit trail verifies, every event of it
    verified = audit_verify(scratch_database)
    assert verified == {"returncode": 0, "ok": True, "checked": 30, "first_bad_event": None}

    # and an event altered in the restored copy (its triggers switched off) is caught
    altered = psycopg2.connect(dbname=scratch_database, host=server["host"], port=server["port"], user=server["user"],
                               password=server["password"] or None)
    try:
        with altered, altered.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
            cursor.execute("UPDATE audit_auditevent SET reason = 'edited'"
                           " WHERE id = (SELECT min(id) FROM audit_auditevent) RETURNING id")
            [(edited,)] = cursor.fetchall()
    finally:
        altered.close()
    tampered = audit_verify(scratch_database)
    assert (tampered["returncode"], tampered["ok"], tampered["first_bad_event"]) == (1, False, edited)
