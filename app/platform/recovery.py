"""Jobs whose worker died: found by their stale lease and resumed or failed (see ``leases``).

``sweep`` runs when a worker starts and every minute (``app.platform.tasks``); the outbox has a
sweep of its own (``app.mail.tasks``), on the same lease rules."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update

from app.db import transaction
from app.models import ExportJob, MergeBatch
from app.platform import leases

log = logging.getLogger(__name__)


def sweep(*, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Resume or fail every merge, export and contacts import whose worker is gone."""
    from app.contacts import bulk
    from app.contacts.imports import uploads
    from app.exports import jobs as export_jobs
    from app.mailmerge import service as merge_service

    counts: dict[str, dict[str, int]] = {}
    with transaction() as session:
        counts["merges"] = merge_service.recover_stale(session, now=now)
    with transaction() as session:
        counts["exports"] = export_jobs.recover_stale(session, now=now)
    counts["imports"] = uploads.recover_stale(now=now)
    counts["bulk"] = bulk.recover_stale(now=now)
    if any(n for kind in counts.values() for n in kind.values()):
        log.warning("jobs of stopped workers: %s", counts)
    return counts


def abandon_held() -> int:
    """This worker is stopping with jobs unfinished: expire their leases now, so that the next
    sweep, on any machine, resumes them without waiting for the leases to run out."""
    from app.contacts import bulk
    from app.contacts.imports import uploads

    owner = leases.identity()
    count = 0
    with transaction() as session:
        for model in (MergeBatch, ExportJob):
            result = session.execute(
                update(model)
                .where(model.lease_owner == owner, model.lease_expires_at.is_not(None))
                .values(lease_expires_at=leases.now_utc())
            )
            count += int(getattr(result, "rowcount", 0) or 0)
    return count + uploads.abandon_held() + bulk.abandon_held()
