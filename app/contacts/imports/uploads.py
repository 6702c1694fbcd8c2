"""Uploaded CSV files between the steps of an import, and imports run as background jobs.

A file and a small JSON record (owner, file name, chosen options, progress, result) are kept
under ``<data dir>/files/imports/`` by a random token; the web process and the worker share it.

A background import holds a lease in its record (``job.lease``, see ``app.platform.leases``),
renewed with each progress report. An import writes everything in one transaction, so a worker
that dies part-way leaves nothing behind: the recovery sweep (``recover_stale``) runs the import
again from the first row, or fails it with the reason once too many workers died on it. A worker
that died while committing is settled by the audit log: the import's entry exists exactly when
its transaction committed."""

from __future__ import annotations

import fcntl
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.config import get_settings
from app.contacts.imports import schemas, service

# import_tasks calls back into this module when a job runs, never at import
from app.contacts.imports import tasks as import_tasks
from app.db import transaction
from app.errors import DomainError, NotFound
from app.models import AuditEntry, User
from app.platform import faults, leases

log = logging.getLogger(__name__)
TOKEN = re.compile(r"^[0-9a-f]{32}$")
KEEP_SECONDS = 24 * 3600
# Files with more rows than this are imported by the worker, with progress shown.
BACKGROUND_ROWS = 5_000


def directory() -> Path:
    path = get_settings().files_dir / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_meta(token: str) -> dict[str, Any]:
    if not TOKEN.match(token):
        raise NotFound("No such import.")
    path = directory() / f"{token}.json"
    if not path.exists():
        raise NotFound("No such import (uploads that are not imported are kept for a day).")
    meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return meta


def save_meta(token: str, meta: dict[str, Any]) -> None:
    path = directory() / f"{token}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    tmp.replace(path)  # readers never see half a file


def save_data(token: str, data: bytes) -> None:
    (directory() / f"{token}.csv").write_bytes(data)


def data(token: str) -> bytes:
    path = directory() / f"{token}.csv"
    if not path.exists():
        raise NotFound("This upload has been imported or has expired; upload the file again.")
    return path.read_bytes()


def forget(token: str) -> None:
    (directory() / f"{token}.csv").unlink(missing_ok=True)


def forget_old(max_age: float = KEEP_SECONDS) -> None:
    """Uploads that were never imported are kept for a day."""
    cutoff = time.time() - max_age
    for path in directory().iterdir():
        if path.suffix in (".csv", ".json", ".tmp") and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


@contextmanager
def _locked() -> Iterator[None]:
    """One writer of job records at a time, across the web and worker processes."""
    with (directory() / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _change(token: str, change: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    """Read the record, let ``change`` edit it, save it if ``change`` says so (under the lock);
    returns the saved record, or None when nothing was saved."""
    with _locked():
        meta = load_meta(token)
        if not change(meta):
            return None
        save_meta(token, meta)
        return meta


def _lease(job: dict[str, Any]) -> leases.Lease:
    return leases.Lease.from_dict(job.get("lease"))


def _claim(token: str) -> dict[str, Any] | None:
    """queued → running by one worker only, taking the lease (None: not queued any more)."""

    def change(meta: dict[str, Any]) -> bool:
        job = meta.get("job") or {}
        if job.get("status") != "queued":
            return False
        job.update(
            status="running",
            lease=_lease(job).claimed().as_dict(),
            started_at=leases.now_utc().isoformat(),
        )
        return True

    return _change(token, change)


def _write(token: str, **values: Any) -> dict[str, Any]:
    """Progress or outcome from the worker holding the lease (which this renews); raises
    LeaseLost when another worker holds it now."""

    def change(meta: dict[str, Any]) -> bool:
        job = meta.get("job") or {}
        lease = _lease(job)
        if not lease.mine():
            raise leases.LeaseLost(f"import {token} is no longer this worker's")
        ended = values.get("status") in ("done", "failed")
        job.update(values, lease=(lease.released() if ended else lease.renewed()).as_dict())
        return True

    meta = _change(token, change)
    assert meta is not None
    return meta


def run_stored(token: str, user_id: int) -> str:
    """Import a stored upload with the options saved in its record (the worker's job)."""
    meta = _claim(token)
    if meta is None:
        return str((load_meta(token).get("job") or {}).get("status", ""))
    options = schemas.ImportOptions.model_validate(meta["job"]["options"])
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5 and stage == "checking":
            return
        last[0] = now
        _write(token, status="running", stage=stage, done=done, total=total)
        faults.fault("import.progress")

    try:
        with transaction() as session:
            actor = session.get(User, user_id)
            report = service.run(
                session,
                data=data(token),
                filename=meta["filename"],
                options=options,
                dry_run=False,
                actor=actor,
                progress=progress,
            )
            # kept until the commit is known to have happened (see recover_stale)
            _write(token, status="committing", pending=report.model_dump(mode="json"))
    except leases.LeaseLost:
        return "lost"  # the transaction was rolled back; the worker holding it carries on
    except DomainError as exc:
        _write(token, status="failed", error=exc.detail)
        return "failed"
    except Exception:
        log.exception("contacts import %s failed", token)
        _write(
            token,
            status="failed",
            error="The import failed on an unexpected error and nothing was written; it has "
            "been logged.",
        )
        raise
    _finish(token)
    return "done"


def _finish(token: str) -> None:
    def change(meta: dict[str, Any]) -> bool:
        job = meta["job"]
        meta["result"] = job.pop("pending")
        job.update(status="done", lease=_lease(job).released().as_dict())
        return True

    _change(token, change)
    forget(token)


def abandon_held() -> int:
    """This worker is stopping: expire the leases of the imports it runs (see
    ``app.platform.recovery.abandon_held``)."""
    count = 0
    for path in sorted(directory().glob("*.json")):

        def change(meta: dict[str, Any]) -> bool:
            job = meta.get("job") or {}
            lease = _lease(job)
            if not lease.mine() or lease.expires_at is None:
                return False
            job["lease"] = leases.Lease(lease.owner, leases.now_utc(), lease.attempts).as_dict()
            return True

        try:
            count += _change(path.stem, change) is not None
        except (DomainError, ValueError):
            continue
    return count


def _committed(meta: dict[str, Any]) -> bool:
    """Did the import's transaction commit? Its audit entry (same transaction) says so."""
    job = meta["job"]
    started = datetime.fromisoformat(job["started_at"])
    with transaction() as session:
        entries = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "contacts.import",
                AuditEntry.user_id == meta.get("user_id"),
                AuditEntry.at >= started,
            )
        ).all()
    rows = (job.get("pending") or {}).get("total_rows")
    return any(
        e.details.get("filename") == meta.get("filename") and e.details.get("rows") == rows
        for e in entries
    )


def recover_stale(*, now: datetime | None = None) -> dict[str, int]:
    """Background imports whose worker died: finished if their transaction committed after
    all, else queued again (nothing was written, so every row is imported once) or failed
    with the reason once ``leases.MAX_ATTEMPTS`` workers died on them."""
    counts = {"resumed": 0, "failed": 0, "done": 0}
    for path in sorted(directory().glob("*.json")):
        token = path.stem
        try:
            seen = load_meta(token)
        except (DomainError, ValueError):
            continue
        job = seen.get("job") or {}
        if job.get("status") not in ("running", "committing") or not _lease(job).stale(now):
            continue
        outcome = _settle(token, job, job.get("status") == "committing" and _committed(seen))
        if not outcome:
            continue
        counts[outcome] += 1
        if outcome == "done":
            forget(token)
        elif outcome == "resumed":
            import_tasks.import_contacts(token, int(seen["user_id"]))
    return counts


def _settle(token: str, seen: dict[str, Any], committed: bool) -> str:
    """The new state of an import whose worker died, written unless someone settled it since
    ``seen`` was read; returns the outcome ("" when nothing was written)."""
    outcome = ""

    def change(meta: dict[str, Any]) -> bool:
        nonlocal outcome
        job = meta.get("job") or {}
        if job.get("lease") != seen.get("lease") or job.get("status") != seen.get("status"):
            return False
        lease = _lease(job)
        if committed:
            outcome = "done"
            meta["result"] = job.pop("pending")
            job.update(status="done")
        elif lease.exhausted():
            outcome = "failed"
            reason = leases.stopped_reason("import", lease)
            job.update(status="failed", error=f"{reason}.")
        else:
            outcome = "resumed"
            job.update(status="queued", stage="queued", done=0)
            job.pop("pending", None)
        job["lease"] = lease.released().as_dict()
        return True

    _change(token, change)
    return outcome
