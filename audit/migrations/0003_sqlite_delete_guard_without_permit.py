"""SQLite: refuse DELETE when no prune permit exists.

0002's guard compared ``OLD.at`` with ``max(until)`` of the permits; with no permit that is NULL,
the trigger's WHEN clause was NULL (not true), and SQLite let every DELETE through. PostgreSQL's
guard was right (its IF treats NULL as false and raises).
"""
from django.db import migrations

SQLITE_FIXED = """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
   WHEN NOT coalesce(OLD.at < (SELECT max(until) FROM audit_auditprunepermit), 0)
   BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END;"""
SQLITE_0002 = """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
   WHEN NOT (OLD.at < (SELECT max(until) FROM audit_auditprunepermit))
   BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END;"""


def _replace_sqlite_trigger(schema_editor, create: str) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_no_delete;")
        schema_editor.execute(create)


def up(apps, schema_editor):
    _replace_sqlite_trigger(schema_editor, SQLITE_FIXED)


def down(apps, schema_editor):
    _replace_sqlite_trigger(schema_editor, SQLITE_0002)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]
    operations = [migrations.RunPython(up, down)]
