"""manage.py grant_ops: ops staff are made (and unmade) from the command line, audited."""
import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from brands.selectors import is_ops
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_grant_ops_makes_a_user_ops_and_audits_it():
    # given an ordinary user
    user = UserFactory(username="olivia")
    assert not is_ops(user)
    # when an operator grants the ops role
    call_command("grant_ops", "olivia")
    # then the user is ops staff, and the change is in the audit log
    assert is_ops(user)
    event = AuditEvent.objects.get(action="user.ops_granted")
    assert (event.object_id, event.source, event.after["username"]) == (str(user.pk), "command", "olivia")


def test_granting_twice_changes_nothing_and_revoke_takes_it_away():
    UserFactory(username="olivia")
    call_command("grant_ops", "olivia")
    call_command("grant_ops", "olivia")
    assert AuditEvent.objects.filter(action="user.ops_granted").count() == 1
    call_command("grant_ops", "olivia", "--revoke")
    assert not is_ops(UserFactory(username="olivia"))
    assert AuditEvent.objects.filter(action="user.ops_revoked").count() == 1


def test_an_unknown_user_is_a_clear_error():
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("grant_ops", "nobody")
