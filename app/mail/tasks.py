"""Delivery jobs: one per queued email, and a sweep every minute that catches anything missed."""

from __future__ import annotations

import logging

from huey import crontab

from app.db import transaction
from app.mail import service
from app.models import OutboxStatus
from app.queue import huey

log = logging.getLogger(__name__)


@huey.task()
def deliver_email(outbox_id: int) -> str:
    status = service.deliver(outbox_id)
    if status == OutboxStatus.retry:
        log.info("email %s will be retried", outbox_id)
    return status.value


@huey.periodic_task(crontab(minute="*"))
def sweep_outbox() -> int:
    """Recover emails of dead workers, then deliver everything that is due."""
    with transaction() as session:
        service.recover(session)
        due = service.due(session)
    for outbox_id in due:
        service.deliver(outbox_id)
    return len(due)


@huey.on_startup()
def recover_on_startup() -> None:
    with transaction() as session:
        counts = service.recover(session)
    if any(counts.values()):
        log.warning("outbox recovery on start: %s", counts)
