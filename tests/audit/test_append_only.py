"""Events are append-only: the model refuses changes, and so does the database."""
from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AppendOnlyError, AuditEvent
from tests.audit.conftest import grant_event

RAW_CHANGES = [
    pytest.param("UPDATE audit_auditevent SET reason = 'x'", "UPDATE refused", id="update"),
    pytest.param("DELETE FROM audit_auditevent", "DELETE refused", id="delete"),
]
sqlite_only = pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite triggers")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda e: (setattr(e, "reason", "x"), e.save()), id="save"),
        pytest.param(lambda e: e.delete(), id="delete"),
        pytest.param(lambda e: AuditEvent.objects.filter(pk=e.pk).update(reason="x"), id="queryset-update"),
        pytest.param(lambda e: AuditEvent.objects.filter(pk=e.pk).delete(), id="queryset-delete"),
    ],
)
def test_the_model_refuses_to_change_or_delete_an_event(write, change):
    # given
    [recorded] = write([grant_event(reason="as recorded")])
    # when / then
    with pytest.raises(AppendOnlyError):
        change(AuditEvent.objects.get(pk=recorded.pk))
    assert AuditEvent.objects.get(pk=recorded.pk).reason == "as recorded"


def _run_raw(sql: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.postgres
@pytest.mark.parametrize(("sql", "refusal"), RAW_CHANGES)
def test_postgresql_refuses_raw_sql_changes(write, sql, refusal):
    # given
    write([grant_event(1), grant_event(2)])
    # when / then
    with pytest.raises(DatabaseError, match=refusal):
        _run_raw(sql)
    assert list(AuditEvent.objects.values_list("reason", flat=True)) == ["", ""]


@sqlite_only
@pytest.mark.parametrize(("sql", "refusal"), RAW_CHANGES)
def test_sqlite_refuses_raw_sql_changes(write, sql, refusal):
    # given
    write([grant_event(1), grant_event(2)])
    # when / then
    with pytest.raises(DatabaseError, match=refusal):
        _run_raw(sql)
    assert list(AuditEvent.objects.values_list("reason", flat=True)) == ["", ""]
