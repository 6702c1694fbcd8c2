"""Background job: a large contacts import, run by the worker with progress."""

from __future__ import annotations

from app.contacts.imports import uploads
from app.queue import huey


@huey.task()
def import_contacts(token: str, user_id: int) -> str:
    return uploads.run_stored(token, user_id)
