"""Queue a job once the caller's transaction has committed: the one way every domain hands work
to the worker after writing what the job is about.

Queued before the commit, a worker could start before the rows it needs are visible; queued
for a transaction that then rolls back, it would work on rows that never existed. So the job
waits in the session until its transaction commits, and is dropped if the transaction (or the
savepoint it was asked for in) rolls back or ends without committing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

_PENDING = "queueing.after_commit"


@dataclass(frozen=True)
class _Job:
    owner: SessionTransaction  # the savepoint, or the whole transaction, that asked for it
    task: Callable[..., object]
    args: tuple[Any, ...]


def enqueue_after_commit(session: Session, task: Callable[..., object], *args: Any) -> None:
    """Call ``task(*args)`` (a task-queue task: calling it queues it) right after ``session``
    commits; never if the transaction rolls back."""
    pending: list[_Job] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _queue_pending)
        event.listen(session, "after_soft_rollback", _drop_rolled_back)
        event.listen(session, "after_transaction_end", _drop_uncommitted)
    # begun now if need be, so that a rollback before any query still drops the job
    owner = session.get_nested_transaction() or session.get_transaction() or session.begin()
    pending.append(_Job(owner, task, args))


def _queue_pending(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint released: its jobs wait for the transaction around it
    pending: list[_Job] = session.info.get(_PENDING, [])
    jobs, pending[:] = list(pending), []
    for job in jobs:
        try:
            job.task(*job.args)
        except Exception:  # noqa: BLE001 - committed work stands; the queue's sweeps resume it
            log.exception("%s%r could not be queued", getattr(job.task, "name", job.task), job.args)


def _within(owner: SessionTransaction, boundary: SessionTransaction) -> bool:
    current: SessionTransaction | None = owner
    while current is not None:
        if current is boundary:
            return True
        current = current.parent
    return False


def _drop_rolled_back(session: Session, previous: SessionTransaction) -> None:
    # A failed flush rolls back up to the nearest savepoint, or the whole transaction.
    boundary = previous
    while boundary.parent is not None and not boundary.nested:
        boundary = boundary.parent
    pending: list[_Job] = session.info.get(_PENDING, [])
    pending[:] = [job for job in pending if not _within(job.owner, boundary)]


def _drop_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended: a commit has queued its jobs already (after_commit comes
    # first), so whatever is left belongs to a transaction closed without committing.
    if transaction.parent is None:
        session.info.get(_PENDING, []).clear()
