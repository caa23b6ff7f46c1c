"""Pruning: only past the retention period, only whole prefixes of streams, audited, verifiable."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import AuditEvent, AuditPrunePermit, AuditStream
from audit.selectors import audit_verify
from tests.audit.conftest import grant_event

RETENTION = timedelta(days=settings.AUDIT_RETENTION_DAYS)


def prune(*args: str) -> str:
    out = io.StringIO()
    call_command("audit_prune", *args, stdout=out)
    return out.getvalue()


def days_ago(days: int) -> str:
    return (timezone.now() - timedelta(days=days)).date().isoformat()


@pytest.fixture
def old_and_new(write) -> None:
    """brand:1 and seller:A1 have events from 800 and 790 days ago, then recent ones; brand:2 only recent."""
    now = timezone.now()
    for days in (800, 790):
        old = [grant_event(1), grant_event(2), grant_event(3, brand_id=None, seller_id="A1")]
        write(old, at=now - timedelta(days=days))
    write([grant_event(4), grant_event(5, brand_id=2), grant_event(6, brand_id=None, seller_id="A1")])


@pytest.mark.parametrize("before", [days_ago(0), days_ago(settings.AUDIT_RETENTION_DAYS - 1)])
def test_a_date_within_the_retention_period_is_refused(old_and_new, before):
    # when / then
    with pytest.raises(CommandError, match=f"kept at least {settings.AUDIT_RETENTION_DAYS} days"):
        prune("--before", before)
    assert AuditEvent.objects.count() == 9


@pytest.mark.parametrize("before", ["2020-13-01", "2020-02-30", "01/02/2020", "last year", ""])
def test_a_malformed_date_is_refused(old_and_new, before):
    # when / then
    with pytest.raises(CommandError, match="is not a date written YYYY-MM-DD"):
        prune("--before", before)
    assert AuditEvent.objects.count() == 9


def test_old_events_are_deleted_and_the_log_still_verifies(old_and_new):
    # given
    before = days_ago(795)
    # when
    output = prune("--before", before)
    # then
    assert output.strip() == f"Deleted 3 events recorded before {before} from 2 streams; recorded audit.pruned."
    assert sorted(AuditEvent.objects.exclude(action="audit.pruned").values_list("stream", "seq")) == [
        ("brand:1", 3), ("brand:1", 4), ("brand:1", 5), ("brand:2", 1), ("seller:A1", 2), ("seller:A1", 3),
    ]
    assert AuditStream.objects.get(name="brand:1").pruned_through_seq == 2
    assert audit_verify().ok
    assert not AuditPrunePermit.objects.exists()


def test_the_prune_is_itself_audited(old_and_new):
    # given
    before = days_ago(760)
    # when
    prune("--before", before)
    # then
    pruned = AuditEvent.objects.get(action="audit.pruned")
    assert (pruned.actor, pruned.source, pruned.object_type, pruned.object_id) == (
        "manage.py audit_prune", "command", "audit", "prune",
    )
    assert pruned.after == {"before": before, "deleted": 6}


def test_a_whole_stream_can_be_pruned_and_written_to_again(write):
    # given
    write([grant_event(1), grant_event(2)], at=timezone.now() - timedelta(days=800))
    prune("--before", days_ago(760))
    # when
    write([grant_event(3)])
    # then
    assert list(AuditEvent.objects.filter(stream="brand:1").values_list("seq", flat=True)) == [3]
    assert audit_verify().ok


def test_a_stream_whose_times_go_back_keeps_everything_from_its_first_recent_event(write):
    # given: seq 1 is old, seq 2 recent, seq 3 old again (e.g. a backfill with an explicit time)
    now = timezone.now()
    write([grant_event(1)], at=now - timedelta(days=800))
    write([grant_event(2)], at=now)
    write([grant_event(3)], at=now - timedelta(days=800))
    # when
    prune("--before", days_ago(760))
    # then
    assert list(AuditEvent.objects.filter(stream="brand:1").order_by("seq").values_list("seq", flat=True)) == [2, 3]
    assert audit_verify().ok


def test_a_dry_run_deletes_nothing(old_and_new):
    # given
    before = days_ago(760)
    # when
    output = prune("--before", before, "--dry-run")
    # then
    assert output.strip() == f"Dry run: would delete 6 events recorded before {before} from 2 streams."
    assert AuditEvent.objects.count() == 9


def test_with_nothing_old_enough_nothing_is_deleted_or_recorded(old_and_new):
    # when
    output = prune("--before", days_ago(900))
    # then
    assert output.strip() == f"Nothing to prune: no event recorded before {days_ago(900)}."
    assert AuditEvent.objects.count() == 9


def test_a_log_that_does_not_verify_is_not_pruned(old_and_new, tamper):
    # given
    tamper(("UPDATE audit_auditevent SET reason = 'x' WHERE stream = 'brand:1' AND seq = 1", []))
    # when / then
    with pytest.raises(CommandError, match="does not verify"):
        prune("--before", days_ago(760))
    assert AuditEvent.objects.count() == 9
