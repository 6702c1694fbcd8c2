"""Background jobs kept as small JSON records in a folder of the data directory, shared by the
web and worker processes: contacts imports (``files/imports/``) and bulk actions
(``files/bulk/``).

A record is read and written whole (a temporary file renamed over it, so readers never see
half a file), one writer at a time across processes (an ``flock`` on the folder's ``.lock``).
Its ``job`` holds the status (queued → running → committing → done, or failed), the progress
and a lease (``app.platform.leases``): a worker claims a queued job, renews the lease with each
progress report and releases it when the job ends. A job does all its work in one transaction,
so a worker that dies part-way leaves nothing behind: the recovery sweep settles its record as
done when the transaction committed after all (the caller says how to tell), else queues it
again or fails it once too many workers died on it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import transaction
from app.errors import DomainError, NotFound
from app.platform import leases

log = logging.getLogger(__name__)
TOKEN = re.compile(r"^[0-9a-f]{32}$")

Record = dict[str, Any]
# Whether a job's transaction committed, from its record: what to keep as its result, or None.
Committed = Callable[[str, Record], Record | None]


class JobStore:
    def __init__(
        self,
        folder: str,
        *,
        what: str,
        missing: str,
        unexpected: str,
        requeued: Mapping[str, Any] | None = None,
    ) -> None:
        self.folder = folder
        self.what = what  # "import", "bulk action": in messages
        self.missing = missing  # NotFound's message for a token with no record
        self.unexpected = unexpected  # the error shown for a job that failed on a bug
        self.requeued = dict(requeued or {})  # set on a job queued again after its worker died

    def directory(self) -> Path:
        path = get_settings().files_dir / self.folder
        path.mkdir(parents=True, exist_ok=True)
        return path

    def path(self, token: str, suffix: str = ".json") -> Path:
        if not TOKEN.match(token):
            raise NotFound(f"No such {self.what}.")
        return self.directory() / f"{token}{suffix}"

    def load(self, token: str) -> Record:
        path = self.path(token)
        if not path.exists():
            raise NotFound(self.missing)
        record: Record = json.loads(path.read_text(encoding="utf-8"))
        return record

    def save(self, token: str, record: Record) -> None:
        path = self.path(token)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        tmp.replace(path)  # readers never see half a file

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One writer of job records at a time, across the web and worker processes."""
        with (self.directory() / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def change(self, token: str, change: Callable[[Record], bool]) -> Record | None:
        """Read the record, let ``change`` edit it, save it if ``change`` says so (under the
        lock); returns the saved record, or None when nothing was saved."""
        with self.locked():
            record = self.load(token)
            if not change(record):
                return None
            self.save(token, record)
            return record

    def records(self) -> Iterator[str]:
        """The tokens of every record, in name order."""
        for path in sorted(self.directory().glob("*.json")):
            yield path.stem

    # --- the worker's side ---------------------------------------------------------------------

    def claim(self, token: str) -> Record | None:
        """queued → running by one worker only, taking the lease (None: not queued any more)."""

        def change(record: Record) -> bool:
            job = record.get("job") or {}
            if job.get("status") != "queued":
                return False
            job.update(
                status="running",
                lease=_lease(job).claimed().as_dict(),
                started_at=leases.now_utc().isoformat(),
            )
            return True

        return self.change(token, change)

    def write(self, token: str, **values: Any) -> Record:
        """Progress or outcome from the worker holding the lease (which this renews); raises
        LeaseLost when another worker holds it now."""

        def change(record: Record) -> bool:
            job = record.get("job") or {}
            lease = _lease(job)
            if not lease.mine():
                raise leases.LeaseLost(f"{self.what} {token} is no longer this worker's")
            ended = values.get("status") in ("done", "failed")
            job.update(values, lease=(lease.released() if ended else lease.renewed()).as_dict())
            return True

        record = self.change(token, change)
        assert record is not None
        return record

    def run(self, token: str, work: Callable[[Session, Record], Record]) -> str:
        """Run a queued job: claim it, do ``work`` in one transaction (it returns the result,
        kept as ``pending`` until the commit is known to have happened), then mark it done.
        Returns the outcome: "done", "failed", "lost" (another worker holds it now), or the
        status of a job that was not queued."""
        record = self.claim(token)
        if record is None:
            return str((self.load(token).get("job") or {}).get("status", ""))
        try:
            with transaction() as session:
                pending = work(session, record)
                self.write(token, status="committing", pending=pending)
        except leases.LeaseLost:
            return "lost"  # the transaction was rolled back; the worker holding it carries on
        except DomainError as exc:
            self.write(token, status="failed", error=exc.detail)
            return "failed"
        except Exception:
            log.exception("%s %s failed", self.what, token)
            self.write(token, status="failed", error=self.unexpected)
            raise
        self._finish(token)
        return "done"

    def _finish(self, token: str) -> None:
        def change(record: Record) -> bool:
            job = record["job"]
            record["result"] = job.pop("pending")
            job.update(status="done", done=job.get("total", job.get("done", 0)))
            job["lease"] = _lease(job).released().as_dict()
            return True

        self.change(token, change)

    # --- recovery ------------------------------------------------------------------------------

    def abandon_held(self) -> int:
        """This worker is stopping: expire the leases of the jobs it runs (see
        ``app.platform.recovery.abandon_held``)."""
        count = 0
        for token in self.records():

            def change(record: Record) -> bool:
                job = record.get("job") or {}
                lease = _lease(job)
                if not lease.mine() or lease.expires_at is None:
                    return False
                now = leases.now_utc()
                job["lease"] = leases.Lease(lease.owner, now, lease.attempts).as_dict()
                return True

            try:
                count += self.change(token, change) is not None
            except (DomainError, ValueError):
                continue
        return count

    def recover_stale(
        self,
        *,
        committed: Committed,
        resume: Callable[[str, Record], Any],
        now: datetime | None = None,
    ) -> tuple[dict[str, int], list[str]]:
        """Jobs whose worker died: done if their transaction committed after all (``committed``
        asked only of jobs that were committing), else queued again (``resume`` enqueues them)
        or failed with the reason once ``leases.MAX_ATTEMPTS`` workers died on them. Returns
        the counts and the tokens found done."""
        counts = {"resumed": 0, "failed": 0, "done": 0}
        done: list[str] = []
        for token in self.records():
            try:
                seen = self.load(token)
            except (DomainError, ValueError):
                continue
            job = seen.get("job") or {}
            if job.get("status") not in ("running", "committing") or not _lease(job).stale(now):
                continue
            result = committed(token, seen) if job.get("status") == "committing" else None
            outcome = self._settle(token, job, result)
            if not outcome:
                continue
            counts[outcome] += 1
            if outcome == "done":
                done.append(token)
            elif outcome == "resumed":
                resume(token, seen)
        return counts, done

    def _settle(self, token: str, seen: Record, committed: Record | None) -> str:
        """The new state of a job whose worker died, written unless someone settled it since
        ``seen`` was read; returns the outcome ("" when nothing was written)."""
        outcome = ""

        def change(record: Record) -> bool:
            nonlocal outcome
            job = record.get("job") or {}
            if job.get("lease") != seen.get("lease") or job.get("status") != seen.get("status"):
                return False
            lease = _lease(job)
            if committed is not None:
                outcome = "done"
                record["result"] = job.pop("pending", None) or committed
                job.update(status="done")
            elif lease.exhausted():
                outcome = "failed"
                job.update(status="failed", error=f"{leases.stopped_reason(self.what, lease)}.")
            else:
                outcome = "resumed"
                job.update(status="queued", done=0, **self.requeued)
                job.pop("pending", None)
            job["lease"] = lease.released().as_dict()
            return True

        self.change(token, change)
        return outcome


def _lease(job: Record) -> leases.Lease:
    return leases.Lease.from_dict(job.get("lease"))
