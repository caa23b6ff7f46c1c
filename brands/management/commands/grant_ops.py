"""``manage.py grant_ops <username> [--revoke]``: make a user ops staff (read-only everywhere)."""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit import services as audit
from audit.context import Actor

OPS_GROUP = "ops"


class Command(BaseCommand):
    help = "Add a user to the ops group (ops staff read every brand's audit trail; they change nothing)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true", help="Take the ops role away instead.")

    def handle(self, *args, username: str, revoke: bool, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        with transaction.atomic():
            group, _created = Group.objects.get_or_create(name=OPS_GROUP)
            member = user.groups.filter(pk=group.pk).exists()
            if member != revoke:
                self.stdout.write(f"{username} {'is not' if revoke else 'is already'} ops staff; nothing changed.")
                return
            (user.groups.remove if revoke else user.groups.add)(group)
            audit.record_many(Actor.command("grant_ops"), [audit.event(
                "user.ops_revoked" if revoke else "user.ops_granted", object_type="user", object_id=user.pk,
                before={"ops": member}, after={"ops": not revoke, "username": username})])
        self.stdout.write(self.style.SUCCESS(f"{username} {'is no longer' if revoke else 'is now'} ops staff."))
