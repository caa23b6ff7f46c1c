"""Background work of the audit app: verifying every hash chain on demand (ops' "verify now")."""
from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from .verification import TIME_LIMIT, clear_running, verify_and_remember

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="audit.tasks.verify_chain", acks_late=True, soft_time_limit=TIME_LIMIT - 60,
             time_limit=TIME_LIMIT)
def verify_chain(self, requested_by: str) -> dict[str, Any]:
    """Verify the audit log and remember the result (see :mod:`audit.verification`)."""
    try:
        verification = verify_and_remember(requested_by=requested_by)
    except Exception:  # remembered as an error for ops; the worker log has the trace
        logger.exception("audit chain verification failed to run")
        return {"ok": False, "error": True}
    finally:
        clear_running()
    if not verification.ok:
        logger.error("audit chain does not verify: first bad event %s (%d events checked)",
                     verification.first_bad_event, verification.checked)
    return {"ok": verification.ok, "checked": verification.checked,
            "first_bad_event": verification.first_bad_event}
