"""``manage.py sync_now --seller SELLER_ID | --brand BRAND_ID [--wait]``: a seller or brand sync now.

Without ``--wait`` the sync is queued for the workers exactly as ``POST …/sync`` queues it (a
sync of the same seller or brand already under way is reported instead of a second one). With
``--wait`` the task runs in this process (no worker needed) and the command reports how it
ended, exiting non-zero when it failed. Audit events written by the sync carry this command's
request id.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from django.core.management.base import BaseCommand, CommandError

from audit.context import Actor, bind_request, unbind_request
from brands.models import Brand
from brands.sync import brand_sync_request
from config.celery import app as celery_app
from config.errors import ApplicationError
from sellers.models import Seller
from sellers.sync import seller_sync_request
from spapi_client.models import SyncKind, SyncRun, SyncStatus

FINISHED = (SyncStatus.SUCCESS, SyncStatus.FAILURE)


@contextlib.contextmanager
def tasks_run_here() -> Iterator[None]:
    """Celery's eager mode for this process only: a task sent runs at once, here."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = eager


class Command(BaseCommand):
    help = "Sync a seller (participations, health, listing restrictions) or a brand (catalog, offers) now."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--seller", metavar="SELLER_ID", help="the seller's Amazon seller id")
        target.add_argument("--brand", metavar="BRAND_ID", type=int, help="the brand's numeric id")
        parser.add_argument("--wait", action="store_true",
                            help="run the sync in this process and report its result instead of queueing it")

    def handle(self, *args, seller: str | None, brand: int | None, wait: bool, **options):
        actor = Actor.command("sync_now")
        token = bind_request(actor.request_id, None)  # carried into the task (config.celery)
        try:
            with tasks_run_here() if wait else contextlib.nullcontext():
                run = self._request(actor, seller_id=seller, brand_id=brand)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from None
        finally:
            unbind_request(token)
        run.refresh_from_db()
        what = f"{run.get_kind_display()} job {run.pk}"
        if wait and run.status not in FINISHED:
            raise CommandError(f"{what} was already under way ({run.status}); nothing was run here.")
        if wait and run.status == SyncStatus.FAILURE:
            raise CommandError(f"{what} failed: {run.error}")
        if wait:
            self.stdout.write(self.style.SUCCESS(f"{what} succeeded: {run.result}"))
        else:
            self.stdout.write(f"{what}: {run.status}. Follow it at GET /api/v1/jobs/{run.pk} or in the admin.")
        self.stdout.write(f"Its audit events carry request id {actor.request_id}.")

    def _request(self, actor: Actor, *, seller_id: str | None, brand_id: int | None) -> SyncRun:
        if seller_id is not None:
            seller = Seller.objects.filter(seller_id=seller_id).first()
            if seller is None:
                raise CommandError(f"No seller {seller_id!r}.")
            return seller_sync_request(actor=actor, seller=seller)
        brand = Brand.objects.filter(pk=brand_id).first()
        if brand is None:
            raise CommandError(f"No brand {brand_id}.")
        run, _created = brand_sync_request(brand=brand, kind=SyncKind.BRAND)
        return run
