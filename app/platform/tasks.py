"""Platform jobs."""

from __future__ import annotations

import os

from huey import crontab

from app.audit import service as audit
from app.db import transaction
from app.platform import recovery
from app.queue import huey


@huey.task()
def heartbeat(note: str = "") -> int:
    """Write an audit entry from a worker; proves the queue, the worker and the database meet."""
    with transaction() as session:
        entry = audit.record(
            session,
            user=None,
            action="queue.heartbeat",
            entity_type="queue",
            summary=f"Worker {os.getpid()} is alive {note}".strip(),
            details={"pid": os.getpid(), "note": note},
        )
        return entry.id


@huey.periodic_task(crontab(minute="*"))
def recover_jobs() -> int:
    """Resume (or fail) merges, exports and imports whose worker died; see app.platform.leases."""
    counts = recovery.sweep()
    return sum(n for kind in counts.values() for n in kind.values())


@huey.on_startup()
def recover_jobs_on_startup() -> None:
    """A worker starting after a crash picks up the dead worker's jobs at once."""
    recovery.sweep()
