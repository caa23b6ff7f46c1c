"""The admin shows the audit log and cannot change it."""
from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tests.audit.conftest import grant_event
from tests.factories import UserFactory


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(username="ops", is_staff=True, is_superuser=True))
    return client


def test_ops_see_events_and_filter_them(staff_client, write):
    # given
    write([grant_event(1, reason="first"), grant_event(2, brand_id=None, seller_id="A9", reason="second")])
    # when
    page = staff_client.get(reverse("admin:audit_auditevent_changelist"), {"q": "A9"})
    # then
    assert page.status_code == 200
    assert [e.seller_id for e in page.context["cl"].result_list] == ["A9"]


def test_ops_can_read_an_event_but_not_change_it(staff_client, write):
    # given
    [recorded] = write([grant_event(reason="as recorded")])
    change_url = reverse("admin:audit_auditevent_change", args=[recorded.pk])
    # when
    page = staff_client.get(change_url)
    posted = staff_client.post(change_url, {"reason": "rewritten"})
    # then
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert posted.status_code == 403
    assert AuditEvent.objects.get(pk=recorded.pk).reason == "as recorded"


@pytest.mark.parametrize(
    "url", ["admin:audit_auditevent_add", "admin:audit_auditstream_add", "admin:audit_auditevent_delete"]
)
def test_nobody_adds_or_deletes_through_the_admin(staff_client, write, url):
    # given
    [recorded] = write([grant_event()])
    args = [recorded.pk] if url.endswith("delete") else []
    # when
    page = staff_client.get(reverse(url, args=args))
    # then
    assert page.status_code == 403
