"""Recording events: chained per stream, secrets masked, only inside the change's transaction."""
from __future__ import annotations

from datetime import datetime

import pytest

from audit.context import Actor
from audit.models import AuditEvent, AuditStream
from audit.selectors import audit_verify
from audit.services import event, record_many
from tests.audit.conftest import grant_event
from tests.factories import UserFactory


def test_events_of_a_stream_are_numbered_from_one_and_each_links_to_the_previous(write):
    # given
    write([grant_event(1), grant_event(2)])
    # when
    write([grant_event(3)])
    # then
    events = list(AuditEvent.objects.filter(stream="brand:1").order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == ""
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    head = AuditStream.objects.get(name="brand:1")
    assert (head.last_seq, head.last_hash) == (3, events[-1].hash)


@pytest.mark.parametrize(
    ("brand_id", "seller_id", "stream"),
    [(7, "A1B2C3D4E5F6G7", "brand:7"), (None, "A1B2C3D4E5F6G7", "seller:A1B2C3D4E5F6G7"), (None, "", "global")],
)
def test_an_event_goes_to_its_brands_stream_else_its_sellers_else_the_global_one(write, brand_id, seller_id, stream):
    # when
    [recorded] = write([grant_event(brand_id=brand_id, seller_id=seller_id)])
    # then
    assert recorded.stream == stream
    assert recorded.seq == 1


def test_one_call_touching_several_streams_continues_each_chain(write):
    # given
    write([grant_event(1, brand_id=1), grant_event(2, brand_id=2)])
    # when
    write([grant_event(3, brand_id=2), grant_event(4, brand_id=None, seller_id="A1"), grant_event(5, brand_id=2)])
    # then
    seqs = sorted(AuditEvent.objects.values_list("stream", "seq"))
    assert seqs == [("brand:1", 1), ("brand:2", 1), ("brand:2", 2), ("brand:2", 3), ("seller:A1", 1)]
    assert audit_verify().ok


def test_secrets_in_before_and_after_are_stored_masked(write):
    # given
    before = {"refresh_token": "Atzr|secret-1", "name": "Acme", "nested": {"password": "hunter2"}}
    after = {"client_secret": "amzn-secret", "grants": [{"Authorization": "Bearer x", "asin": "B000000001"}]}
    # when
    [recorded] = write([event("connection.created", object_type="connection", object_id=1, before=before, after=after)])
    # then
    stored = AuditEvent.objects.get(pk=recorded.pk)
    assert stored.before == {"refresh_token": "***", "name": "Acme", "nested": {"password": "***"}}
    assert stored.after == {"client_secret": "***", "grants": [{"Authorization": "***", "asin": "B000000001"}]}


def test_recording_outside_a_transaction_is_refused():
    # given
    actor = Actor.command("tests")
    # when / then
    with pytest.raises(RuntimeError, match="same transaction"):
        record_many(actor, [grant_event()])


def test_a_time_without_a_timezone_is_refused(write):
    # when / then
    with pytest.raises(ValueError, match="timezone-aware"):
        write([grant_event()], at=datetime(2024, 1, 1, 12, 0))
    assert not AuditEvent.objects.exists()


def test_events_outlive_the_user_who_acted(write):
    # given
    user = UserFactory(username="olga")
    user_id = user.pk
    [recorded] = write([grant_event()], by=Actor.for_user(user, ip="203.0.113.9"))
    # when
    user.delete()
    # then
    stored = AuditEvent.objects.get(pk=recorded.pk)
    assert (stored.actor, stored.actor_user_id, stored.ip) == ("olga", user_id, "203.0.113.9")
    assert audit_verify().ok
