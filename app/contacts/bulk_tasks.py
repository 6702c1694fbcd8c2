"""Background job: a bulk action on more contacts than a request should change at once."""

from __future__ import annotations

from app.contacts import bulk
from app.queue import huey


@huey.task()
def run_bulk(token: str) -> str:
    return bulk.run_job(token)
