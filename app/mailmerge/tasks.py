"""The mail-merge render job: one per batch, on every core (see service.run_batch)."""

from __future__ import annotations

import logging

from huey import crontab
from sqlalchemy import select

from app.db import transaction
from app.mailmerge import service
from app.models import BatchStatus, MergeBatch
from app.queue import huey

log = logging.getLogger(__name__)


@huey.task()
def render_merge(batch_id: int) -> str:
    status = service.run_batch(batch_id)
    log.info("merge %s: %s", batch_id, status.value)
    return status.value


@huey.periodic_task(crontab(minute="*/5"))
def sweep_queued_merges() -> int:
    """Render batches whose job was lost (queued, never started); each is claimed once."""
    with transaction() as session:
        ids = list(
            session.scalars(select(MergeBatch.id).where(MergeBatch.status == BatchStatus.queued))
        )
    for batch_id in ids:
        service.run_batch(batch_id)
    return len(ids)
