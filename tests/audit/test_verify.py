"""Verification finds an edited, removed or reordered event, and names the first bad one."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.chain import canonical_json
from audit.models import AuditEvent, AuditStream
from audit.selectors import audit_verify
from audit.services import event
from tests.audit.conftest import grant_event

STREAMS = [{"brand_id": 1}, {"brand_id": 2}, {"brand_id": None, "seller_id": "A1"}, {"brand_id": None}]


@pytest.fixture
def log(write) -> dict[str, list[AuditEvent]]:
    """300 events in four streams, written 25 at a time; each stream's events in seq order."""
    for batch in range(12):
        write([grant_event(batch * 25 + i, reason=f"batch {batch}", **STREAMS[i % 4]) for i in range(25)])
    events = AuditEvent.objects.order_by("stream", "seq")
    return {head.name: [e for e in events if e.stream == head.name] for head in AuditStream.objects.all()}


def verify_command(*args: str) -> tuple[int, str]:
    """Run ``manage.py audit_verify``: its exit code and its standard output."""
    out = io.StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError as failure:
        return failure.returncode, out.getvalue()
    return 0, out.getvalue()


def test_an_untouched_log_verifies(log):
    # when
    exit_code, output = verify_command()
    # then
    assert exit_code == 0
    assert output.strip() == "OK: 300 events verified"
    assert sorted(log) == ["brand:1", "brand:2", "global", "seller:A1"]


def test_the_json_report_has_the_api_shape(log):
    # when
    exit_code, output = verify_command("--json")
    # then
    assert exit_code == 0
    assert json.loads(output) == {"ok": True, "checked": 300, "first_bad_event": None}


def test_an_edited_event_is_found(log, tamper):
    # given
    edited = log["brand:2"][40]
    tamper(("UPDATE audit_auditevent SET reason = %s WHERE id = %s", ["nothing happened", edited.id]))
    # when
    result = audit_verify()
    # then
    assert (result.ok, result.first_bad_event) == (False, edited.id)
    assert result.problems == [
        f"stream brand:2: event {edited.id} (seq 41) was altered: its content does not match its hash"
    ]


def test_an_event_removed_from_the_middle_of_a_stream_is_found(log, tamper):
    # given
    removed, successor = log["seller:A1"][10:12]
    tamper(("DELETE FROM audit_auditevent WHERE id = %s", [removed.id]))
    # when
    result = audit_verify()
    # then
    assert (result.ok, result.first_bad_event) == (False, successor.id)
    assert "has seq 12 where seq 11 was expected" in result.problems[0]


def test_events_removed_from_the_end_of_a_stream_are_found(log, tamper):
    # given
    *kept, removed = log["global"]
    tamper(("DELETE FROM audit_auditevent WHERE id = %s", [removed.id]))
    # when
    result = audit_verify()
    # then
    assert (result.ok, result.first_bad_event) == (False, kept[-1].id)
    assert result.problems == [
        f"stream global: the chain ends at event {kept[-1].id} (seq {removed.seq - 1}) but the stream head records "
        f"seq {removed.seq}: "
        "events at the end were removed"
    ]


def test_two_events_swapped_in_order_are_found(log, tamper):
    # given
    earlier, later = log["brand:1"][5], log["brand:1"][9]
    tamper(
        ("UPDATE audit_auditevent SET seq = -1 WHERE id = %s", [earlier.id]),
        ("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [earlier.seq, later.id]),
        ("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [later.seq, earlier.id]),
    )
    # when
    result = audit_verify()
    # then: the first place that breaks is seq 6, which now holds the later event
    assert (result.ok, result.first_bad_event) == (False, later.id)
    assert "does not follow its predecessor" in result.problems[0]


def test_two_events_with_swapped_contents_are_found(log, tamper):
    # given
    first, second = log["brand:1"][3], log["brand:1"][30]
    swap = "UPDATE audit_auditevent SET reason = %s, object_id = %s WHERE id = %s"
    tamper(
        (swap, [second.reason, second.object_id, first.id]),
        (swap, [first.reason, first.object_id, second.id]),
    )
    # when
    result = audit_verify()
    # then
    assert (result.ok, result.first_bad_event) == (False, first.id)


def test_the_first_bad_event_is_the_earliest_over_all_streams(log, tamper):
    # given
    later_edit, earlier_edit = log["brand:1"][60], log["global"][2]
    tamper(("UPDATE audit_auditevent SET reason = 'x' WHERE id IN (%s, %s)", [later_edit.id, earlier_edit.id]))
    # when
    result = audit_verify()
    # then
    assert result.first_bad_event == min(later_edit.id, earlier_edit.id)
    assert len(result.problems) == 2


def test_events_of_a_removed_stream_head_are_found(log):
    # given
    AuditStream.objects.filter(name="seller:A1").delete()
    # when
    result = audit_verify()
    # then
    assert (result.ok, result.first_bad_event) == (False, log["seller:A1"][0].id)
    assert "belongs to a stream that has no head" in result.problems[0]


def test_the_command_fails_with_exit_code_1_naming_the_first_bad_event(log, tamper):
    # given
    edited = log["brand:1"][0]
    tamper(("UPDATE audit_auditevent SET after = NULL WHERE id = %s", [edited.id]))
    # when
    exit_code, output = verify_command()
    json_exit_code, json_output = verify_command("--json")
    # then
    assert exit_code == json_exit_code == 1
    assert f"event {edited.id} (seq 1) was altered" in output
    assert json.loads(json_output) == {"ok": False, "checked": 300, "first_bad_event": edited.id}


# Any text a database stores: PostgreSQL refuses NUL, and UTF-8 has no lone surrogates.
characters = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
texts = st.text(characters, max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**20), max_value=10**20) | st.text(characters, max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(characters, max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=json_values, after=json_values, reason=texts, object_id=texts)
def test_any_recorded_content_verifies(write, before, after, reason, object_id):
    # given
    spec = event("grant.changed", object_type="grant", object_id=object_id, before=before, after=after, reason=reason)
    # when
    write([spec])
    # then
    assert audit_verify().ok


@pytest.mark.postgres
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_values_are_hashed_as_postgresql_prints_them(db, value):
    # when
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb::text", [json.dumps(value)])
        [printed] = cursor.fetchone()
    # then
    assert canonical_json(value) == printed
