"""A task queued while a request is served acts under that request's id: its audit events (and
log lines) can be traced back to the request. Here with eager tasks (development: the task runs
when the request's transaction commits); tests/ops/test_production_shape.py does it through
Redis and a worker process."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from audit.context import current_request_id
from audit.models import AuditEvent
from authorizations.tasks import expire_grants
from spapi_client.models import SyncRun, SyncStatus
from tests.api.conftest import hold_grant
from tests.factories import AsinFactory, BrandFactory, SellerFactory
from tests.helpers import token_client
from tests.sync.conftest import HEALTHY, fake, spapi_settings, world  # noqa: F401  (the fake SP-API world)


def test_a_task_queued_by_a_request_audits_under_the_requests_id(transactional_db, world):
    # when a partner asks for a sync, naming the request
    response = token_client(world.partner_h).post(f"/api/v1/sellers/{HEALTHY}/sync",
                                                  HTTP_X_REQUEST_ID="req-sync-42")

    # then the task ran and every event it wrote carries the request's id, not the task's
    assert response.status_code == 202 and response["X-Request-ID"] == "req-sync-42"
    run = SyncRun.objects.get(pk=response.json()["job_id"])
    assert run.status == SyncStatus.SUCCESS, run.error
    events = AuditEvent.objects.filter(source="worker", seller_id=HEALTHY)
    assert events.exists()
    assert set(events.values_list("request_id", flat=True)) == {"req-sync-42"}


def test_a_task_outside_any_request_acts_under_its_own_id(db, marketplaces):
    # given a grant past its term, and no request being served (as when beat queues the expiry)
    seller = SellerFactory()
    grant = hold_grant(AsinFactory(brand=BrandFactory()), seller, valid_until=timezone.now() - dt.timedelta(hours=1))

    # when the expiry task runs
    result = expire_grants.apply()

    # then its event is named by the task's own id, and nothing stays bound after it
    assert result.successful() and result.result["expired"] == 1
    event = AuditEvent.objects.get(action="grant.expired", object_id=str(grant.pk))
    assert (event.source, event.request_id) == ("worker", result.id)
    assert current_request_id() == ""
