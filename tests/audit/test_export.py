"""CSV export of a time range."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from django.core.management import CommandError, call_command

from audit.context import Actor
from audit.export import EXPORT_COLUMNS
from audit.services import event
from tests.audit.conftest import grant_event

HEADER = (
    "id,at,actor,source,action,object_type,object_id,brand_id,seller_id,"
    "before,after,reason,request_id,ip,stream,seq,hash"
)


@pytest.fixture
def three_days(write) -> None:
    """One event on each of 1, 2 and 3 May 2025 (noon UTC)."""
    for day in (1, 2, 3):
        at = datetime(2025, 5, day, 12, tzinfo=timezone.utc)
        write([grant_event(day)], at=at)


def test_the_events_of_the_range_are_written_to_a_file(three_days, write, tmp_path):
    # given
    output = tmp_path / "audit.csv"
    [recorded] = write(
        [event("grant.revoked", object_type="grant", object_id=7, brand_id=3, seller_id="A1",
               before={"status": "active"}, after={"status": "revoked", "note": "Ünïcode, \"quoted\""},
               reason="line one\nline two")],
        by=Actor.for_user(None, source="api", request_id="req-1", ip="198.51.100.7"),
        at=datetime(2025, 5, 2, 18, 30, tzinfo=timezone.utc),
    )
    # when
    stdout = io.StringIO()
    call_command("audit_export", "--since", "2025-05-02", "--until", "2025-05-03T00:00:00Z", "--output", str(output),
                 stdout=stdout)
    # then
    assert stdout.getvalue().strip() == f"Exported 2 events to {output}."
    text = output.read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADER
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["object_id"] for r in rows] == ["2", "7"]
    assert rows[1] == {
        "id": str(recorded.id), "at": "2025-05-02T18:30:00.000000Z", "actor": "system", "source": "api",
        "action": "grant.revoked", "object_type": "grant", "object_id": "7", "brand_id": "3", "seller_id": "A1",
        "before": '{"status":"active"}', "after": '{"note":"Ünïcode, \\"quoted\\"","status":"revoked"}',
        "reason": "line one\nline two", "request_id": "req-1", "ip": "198.51.100.7", "stream": "brand:3",
        "seq": "1", "hash": recorded.hash,
    }


def test_the_csv_goes_to_standard_output_without_a_file(three_days):
    # given
    stdout, stderr = io.StringIO(), io.StringIO()
    # when
    call_command("audit_export", "--since", "2025-05-01T12:00:00+00:00", "--until", "2025-05-03T12:00:00+00:00",
                 stdout=stdout, stderr=stderr)
    # then
    rows = list(csv.reader(io.StringIO(stdout.getvalue())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert [r[EXPORT_COLUMNS.index("object_id")] for r in rows[1:]] == ["1", "2"]
    assert stderr.getvalue().strip() == "Exported 2 events."


@pytest.mark.parametrize(
    ("since", "until", "refusal"),
    [
        ("2025-05-32", "2025-06-01", "is not an ISO 8601 date"),
        ("2025-05-01", "tomorrow", "is not an ISO 8601 date"),
        ("2025-05-01T25:00:00", "2025-06-01", "is not an ISO 8601 date"),
        ("2025-06-01", "2025-05-01", "must be before --until"),
    ],
)
def test_a_malformed_or_empty_range_is_refused(three_days, tmp_path, since, until, refusal):
    # given
    output = tmp_path / "audit.csv"
    # when / then
    with pytest.raises(CommandError, match=refusal):
        call_command("audit_export", "--since", since, "--until", until, "--output", str(output))
    assert not output.exists()
