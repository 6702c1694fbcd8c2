"""Leases: which worker runs a job, for how long, and what becomes of the job when it dies.

A worker *claims* a job by writing its identity (``host:pid``) and an expiry on it, in the same
statement that moves the job to running; it renews the expiry while it works (a heartbeat between
letters or rows) and clears both when it is done. A lease is *stale* once it has expired, or at
once when its holder was a process of this machine that no longer exists (killed, out of memory).
A stale job lost its worker: the recovery sweep (at worker start and every minute, see
``app.platform.tasks``) hands it to a new worker, which resumes it where it stopped, or fails it
with the reason once ``MAX_ATTEMPTS`` workers died on it (a letter or a file that kills its
worker every time must not be retried for ever).

One set of rules for every job: merges and exports keep the lease in their rows
(``lease_owner``, ``lease_expires_at``, ``attempts``: ``RowLease``), contacts imports in their
state file (``Lease.as_dict``), and the outbox checks its ``claimed_by`` with ``is_stale``.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from app.db import transaction
from app.models import ExportJob, MergeBatch

# A renewal is due every HEARTBEAT_SECONDS; the lease outlives a few missed ones (a letter that
# takes the whole render time limit, a slow write) before another machine may take the job over.
LEASE_SECONDS = 120
HEARTBEAT_SECONDS = 10
MAX_ATTEMPTS = 3

LeasedModel = type[MergeBatch] | type[ExportJob]


class LeaseLost(Exception):
    """This worker no longer holds the job: it was cancelled, or taken over by another worker
    after the lease ran out. The job stops without writing anything more."""


def identity() -> str:
    """This process, as written on the jobs it holds."""
    return f"{socket.gethostname()}:{os.getpid()}"


def alive(owner: str) -> bool:
    """False only when ``owner`` names a process of this machine that no longer exists; a
    process of another machine cannot be checked from here (its lease's expiry decides)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def now_utc() -> datetime:
    return datetime.now(UTC)


def expiry(now: datetime | None = None, seconds: float | None = None) -> datetime:
    return (now or now_utc()) + timedelta(seconds=LEASE_SECONDS if seconds is None else seconds)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def is_stale(owner: str, expires_at: datetime | None, now: datetime | None = None) -> bool:
    """The holder is gone: nobody holds the job, the lease ran out, or its process died."""
    if not owner or expires_at is None or _aware(expires_at) <= (now or now_utc()):
        return True
    return not alive(owner)


@dataclass(frozen=True)
class Lease:
    """The three facts of a lease, wherever a job keeps them."""

    owner: str = ""
    expires_at: datetime | None = None
    attempts: int = 0

    def stale(self, now: datetime | None = None) -> bool:
        return is_stale(self.owner, self.expires_at, now)

    def mine(self) -> bool:
        return self.owner == identity()

    def claimed(self) -> Lease:
        """Taken by this process: a fresh expiry, one more attempt."""
        return Lease(identity(), expiry(), self.attempts + 1)

    def renewed(self) -> Lease:
        return replace(self, expires_at=expiry())

    def released(self) -> Lease:
        return Lease("", None, self.attempts)

    def exhausted(self) -> bool:
        """Enough workers died on this job: fail it instead of trying again."""
        return self.attempts >= MAX_ATTEMPTS

    def as_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "attempts": self.attempts,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Lease:
        data = data or {}
        raw = data.get("expires_at")
        return cls(
            str(data.get("owner") or ""),
            datetime.fromisoformat(raw) if raw else None,
            int(data.get("attempts") or 0),
        )

    @classmethod
    def of(cls, row: MergeBatch | ExportJob) -> Lease:
        return cls(row.lease_owner, row.lease_expires_at, row.attempts)


def stopped_reason(what: str, lease: Lease) -> str:
    """Why a job was given up, for its page."""
    times = "once" if lease.attempts == 1 else f"{lease.attempts} times"
    last = lease.owner or "unknown"
    return (
        f"the worker running this {what} stopped {times} before finishing (killed, restarted "
        f"or out of memory; last worker {last}), so it was not tried again"
    )


class Heartbeat:
    """Calls ``renew`` at most every ``every`` seconds; raises LeaseLost when it reports the
    lease gone. ``beat`` is cheap enough to call between every letter or row."""

    def __init__(self, renew: Callable[[], bool], every: float = HEARTBEAT_SECONDS) -> None:
        self._renew = renew
        self.every = every
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every

    def beat(self, force: bool = False) -> None:
        if not (force or self.due()):
            return
        self.last = time.monotonic()
        if not self._renew():
            raise LeaseLost("another worker holds this job now")


# ----------------------------------------------------------------------------- jobs in rows


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class RowLease:
    """The lease of one merge or export row, each step in a statement that checks it."""

    def __init__(self, model: LeasedModel, row_id: int) -> None:
        self.model = model
        self.row_id = row_id
        self.owner = identity()

    def claim(self, *where: ColumnElement[bool], **values: Any) -> bool:
        """Take the job if ``where`` holds (its state allows it), writing ``values`` with the
        lease; False when another worker or state got there first."""
        model = self.model
        with transaction() as session:
            result = session.execute(
                update(model)
                .where(model.id == self.row_id, *where)
                .values(
                    lease_owner=self.owner,
                    lease_expires_at=expiry(),
                    attempts=model.attempts + 1,
                    **values,
                )
            )
            return _rowcount(result) == 1

    def renew(self, session: Session | None = None, **values: Any) -> bool:
        """Push the expiry back (writing ``values`` with it); False when the lease is lost."""
        return self._update(session, lease_expires_at=expiry(), **values)

    def release(self, session: Session | None = None, **values: Any) -> bool:
        """Let go of the job, writing its outcome in ``values``; False if it was not ours."""
        return self._update(session, lease_owner="", lease_expires_at=None, **values)

    def abandon(self, session: Session | None = None) -> bool:
        """This worker is stopping mid-job: expire the lease now, so that the next sweep, on
        any machine, resumes the job without waiting for the expiry."""
        return self._update(session, lease_expires_at=now_utc())

    def heartbeat(self, every: float = HEARTBEAT_SECONDS) -> Heartbeat:
        return Heartbeat(self.renew, every)

    def _update(self, session: Session | None, **values: Any) -> bool:
        model = self.model
        stmt = (
            update(model)
            .where(model.id == self.row_id, model.lease_owner == self.owner)
            .values(**values)
        )
        if session is not None:
            return _rowcount(session.execute(stmt)) == 1
        with transaction() as own:
            return _rowcount(own.execute(stmt)) == 1


def stale_rows(
    session: Session, model: LeasedModel, *where: ColumnElement[bool], now: datetime | None = None
) -> list[Any]:
    """Rows in a running state (``where``) whose worker is gone."""
    now = now or now_utc()
    rows: list[MergeBatch | ExportJob] = list(
        session.scalars(select(model).where(*where).order_by(model.id))
    )
    return [row for row in rows if Lease.of(row).stale(now)]


def take_back(session: Session, row: MergeBatch | ExportJob, **values: Any) -> bool:
    """Write ``values`` on a stale row (its new state) and clear its lease, unless someone
    changed the lease since it was read: two sweeps at once settle each job once."""
    model = type(row)
    result = session.execute(
        update(model)
        .where(
            model.id == row.id,
            model.lease_owner == row.lease_owner,
            model.attempts == row.attempts,
        )
        .values(lease_owner="", lease_expires_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1
