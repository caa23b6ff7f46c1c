"""Ops' chain verification page: "verify now", the remembered last result, a broken chain named
with its first bad event and the reason, a verification in progress, and failures to start."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from audit import verification
from audit.models import AuditEvent
from audit.verification import describe_problem, last_verification, mark_running
from tests.audit import conftest as audit_fixtures
from tests.web import ops_helpers

audit_log, fresh_cache, tamper = ops_helpers.audit_log, ops_helpers.fresh_cache, audit_fixtures.tamper  # fixtures

pytestmark = pytest.mark.django_db
URL = "/ops/audit/verify/"


def page(client) -> str:
    return client.get(URL).content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_without_a_result_the_page_says_so_and_offers_to_verify(client_for):
    html = page(client_for("ops"))
    assert "No verification result is recorded yet" in html
    assert 'action="/ops/audit/verify/"' in html and "Verify now" in html
    assert last_verification() is None  # looking does not verify


def test_verify_now_on_an_intact_log(client_for, audit_log):
    # when
    response = client_for("ops").post(URL, follow=True)
    # then
    assert response.redirect_chain == [(URL, 302)]
    total = AuditEvent.objects.count()
    assert messages_of(response) == [f"The audit log verifies: {total} events checked."]
    html = response.content.decode()
    assert "Intact" in html and f"all {total} events checked" in html
    assert ">ops<" in html  # run by
    result = last_verification()
    assert (result.ok, result.checked, result.first_bad_event, result.requested_by) == (True, total, None, "ops")
    # the audit log's head shows it too
    assert "Chain intact" in client_for("ops").get("/ops/audit/").content.decode()


def test_verify_now_names_an_edited_event_and_why(client_for, audit_log, tamper):
    # given: an intruder rewrites the reason of one revocation
    edited = audit_log.day2[7]
    tamper(("UPDATE audit_auditevent SET reason = %s WHERE id = %s", ["nothing to see", edited.id]))
    # when
    response = client_for("ops").post(URL, follow=True)
    # then
    assert messages_of(response) == [f"The audit log does not verify: the first broken event is #{edited.id}."]
    html = response.content.decode()
    assert "Broken" in html
    assert f"The first broken event is #{edited.id}." in html
    assert f"Stream brand:{edited.brand_id}: event {edited.id} (sequence 8) was altered: its content does not " \
           "match its hash." in html
    # the event itself, and a way to its object's history
    assert "nothing to see" in html and "owner_b" in html and "grant.revoked" in html
    assert f"/ops/audit/?object_type=grant&amp;object_id={edited.object_id}" in html
    assert "Chain broken" in client_for("ops").get("/ops/audit/").content.decode()


def test_verify_now_finds_a_removed_event(client_for, audit_log, tamper):
    removed, successor = audit_log.day3[3:5]
    tamper(("DELETE FROM audit_auditevent WHERE id = %s", [removed.id]))
    html = client_for("ops").post(URL, follow=True).content.decode()
    assert f"The first broken event is #{successor.id}." in html
    assert f"event {successor.id} has sequence number 5 where 4 was expected" in html


def test_an_event_missing_entirely_is_explained(client_for, audit_log, tamper):
    """The last event of a stream removed: no event to show, the problem says what is missing."""
    last = audit_log.day3[-1]
    tamper(("DELETE FROM audit_auditevent WHERE id = %s", [last.id]))
    html = client_for("ops").post(URL, follow=True).content.decode()
    assert "events at the end were removed" in html


def test_a_verification_in_progress_is_polled_and_not_started_twice(client_for, audit_log):
    # given
    assert mark_running("someone_else")
    ops = client_for("ops")
    # when
    html = page(ops)
    # then
    assert "Verification in progress" in html and "someone_else" in html
    assert 'hx-trigger="every 2s"' in html
    assert "disabled" in html[html.index("Verify now") - 80:html.index("Verify now")]
    response = ops.post(URL, follow=True)
    assert messages_of(response) == ["A verification is already running; its result will show here."]
    assert last_verification() is None
    # the poll gets only the status part
    partial = ops.get(URL, HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<section id="verify-status"') and "<html" not in partial


def test_when_finished_the_status_part_stops_polling(client_for, audit_log):
    ops = client_for("ops")
    ops.post(URL)
    partial = ops.get(URL, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in partial and "Intact" in partial


def test_a_broker_that_refuses_the_task_is_reported_and_frees_the_slot(client_for, audit_log, monkeypatch):
    from audit import tasks

    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.verify_chain, "delay", refuse)
    response = client_for("ops").post(URL, follow=True)
    assert response.status_code == 200
    assert "could not be started" in messages_of(response)[0]
    assert verification.running_verification() is None


def test_a_verification_that_crashes_is_remembered_as_not_finished(client_for, audit_log, monkeypatch):
    def crash():
        raise RuntimeError("database went away")

    monkeypatch.setattr(verification, "audit_verify", crash)
    response = client_for("ops").post(URL, follow=True)
    html = response.content.decode()
    assert "Did not finish" in html and "RuntimeError" in html
    assert verification.running_verification() is None


def test_the_command_line_verification_is_shown_too(client_for, audit_log, tamper):
    call_command("audit_verify", stdout=io.StringIO())
    html = page(client_for("ops"))
    assert "manage.py audit_verify" in html and "Intact" in html
    tamper(("UPDATE audit_auditevent SET actor = %s WHERE id = %s", ["mallory", audit_log.day1[0].id]))
    with pytest.raises(CommandError):
        call_command("audit_verify", stdout=io.StringIO())
    assert last_verification().first_bad_event == audit_log.day1[0].id


@pytest.mark.parametrize("role", ["owner_a", "partner_s", "newcomer"])
def test_only_ops_may_verify(client_for, audit_log, role):
    assert client_for(role).post(URL).status_code == 403
    assert last_verification() is None


def test_anonymous_post_goes_to_login(client_for):
    response = client_for("anonymous").post(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert last_verification() is None


@pytest.mark.parametrize(("problem", "english", "chinese"), [
    ("stream brand:2: event 41 (seq 41) was altered: its content does not match its hash",
     "Stream brand:2: event 41 (sequence 41) was altered", "被篡改"),
    (("stream seller:A1: event 12 has seq 12 where seq 11 was expected: an event before it was removed or events "
     "were reordered"), "has sequence number 12 where 11 was expected", "序号"),
    ("stream global: event 9 (seq 3) does not follow its predecessor: an event was removed, replaced or reordered",
     "does not follow its predecessor", "前一个事件"),
    ("stream brand:7: event 5 belongs to a stream that has no head: the stream was removed",
     "belongs to a stream that has no head", "链头"),
    (("stream brand:1: the chain ends at event 70 (seq 70) but the stream head records seq 75: events at the end "
     "were removed"), "the chain ends at event 70 (sequence 70) but the stream head records sequence 75", "末尾"),
    ("stream brand:1: the chain ends at seq 0 but the stream head records seq 3: events at the end were removed",
     "the chain ends at sequence 0 but", "末尾"),
    (("stream brand:1: the chain goes on to event 9 (seq 9) past the stream head's seq 8: events were added outside "
     "the recorder"), "past the stream head's sequence 8", "记录器之外"),
    (("stream brand:1: the chain ends at event 9 (seq 9) but its hash differs from the stream head's: the last event "
     "was replaced"), "its hash differs from the stream head's", "替换"),
])
def test_every_problem_the_verifier_reports_is_said_in_both_languages(problem, english, chinese):
    with translation.override("en"):
        assert english in describe_problem(problem)
    with translation.override("zh-hans"):
        assert chinese in describe_problem(problem)


def test_an_unknown_problem_is_shown_as_worded():
    assert describe_problem("stream x: something new") == "stream x: something new"
