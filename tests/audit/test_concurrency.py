"""Concurrent writers to one stream: the head's row lock gives each event the next seq."""
from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from audit.context import Actor
from audit.models import AuditEvent
from audit.selectors import audit_verify
from audit.services import record_many
from tests.audit.conftest import grant_event
from tests.factories import BrandFactory

WRITERS, EVENTS_EACH = 8, 25


def _writer(brand_id: int, number: int, start: threading.Barrier, failures: list[BaseException]) -> None:
    actor = Actor.task("tests.writer", f"writer-{number}")
    try:
        start.wait()
        for n in range(EVENTS_EACH):
            with transaction.atomic():
                record_many(actor, [grant_event(number * 100 + n, brand_id=brand_id)])
    except BaseException as failure:  # noqa: BLE001 - handed to the test thread
        failures.append(failure)
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_to_one_stream_get_gapless_unique_seqs():
    # given
    brand = BrandFactory()
    start, failures = threading.Barrier(WRITERS), []
    threads = [
        threading.Thread(target=_writer, args=(brand.pk, number, start, failures)) for number in range(WRITERS)
    ]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then
    assert failures == []
    seqs = list(AuditEvent.objects.filter(stream=f"brand:{brand.pk}").order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, WRITERS * EVENTS_EACH + 1))
    result = audit_verify()
    assert (result.ok, result.checked) == (True, WRITERS * EVENTS_EACH)
