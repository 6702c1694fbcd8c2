"""Background exports: the worker writes the file and records progress on the job."""

from __future__ import annotations

import logging

from huey.exceptions import RetryTask

from app.exports import jobs
from app.queue import huey

log = logging.getLogger(__name__)


def run(job_id: int) -> None:
    if jobs.run_job(job_id) is None:
        # the request that queued it may not have committed yet
        raise RetryTask(f"export job {job_id} not found yet")


@huey.task(retries=5, retry_delay=2)
def run_export(job_id: int) -> None:
    run(job_id)
