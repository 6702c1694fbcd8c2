"""Platform jobs."""

from __future__ import annotations

import os

from app.audit import service as audit
from app.db import transaction
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
