"""Uploaded CSV files between the steps of an import, and imports run as background jobs.

A file and a small JSON record (owner, file name, chosen options, progress, result) are kept
under ``<data dir>/files/imports/`` by a random token; the web process and the worker share it.

A background import holds a lease in its record (``job.lease``, see ``app.platform.leases``),
renewed with each progress report; ``app.platform.jobstore`` keeps the records, as it does bulk
actions'. An import writes everything in one transaction, so a worker that dies part-way leaves
nothing behind: the recovery sweep (``recover_stale``) runs the import again from the first row,
or fails it with the reason once too many workers died on it. A worker that died while
committing is settled by the audit log: the import's entry exists exactly when its transaction
committed."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.contacts.imports import schemas, service

# import_tasks calls back into this module when a job runs, never at import
from app.contacts.imports import tasks as import_tasks
from app.db import transaction
from app.errors import NotFound
from app.models import AuditEntry, User
from app.platform import faults, jobstore

KEEP_SECONDS = 24 * 3600
# Files with more rows than this are imported by the worker, with progress shown.
BACKGROUND_ROWS = 5_000


STORE = jobstore.JobStore(
    "imports",
    what="import",
    missing="No such import (uploads that are not imported are kept for a day).",
    unexpected="The import failed on an unexpected error and nothing was written; it has been "
    "logged.",
    requeued={"stage": "queued"},
)
load_meta = STORE.load
save_meta = STORE.save
abandon_held = STORE.abandon_held


def save_data(token: str, data: bytes) -> None:
    STORE.path(token, ".csv").write_bytes(data)


def data(token: str) -> bytes:
    path = STORE.path(token, ".csv")
    if not path.exists():
        raise NotFound("This upload has been imported or has expired; upload the file again.")
    return path.read_bytes()


def forget(token: str) -> None:
    STORE.path(token, ".csv").unlink(missing_ok=True)


def forget_old(max_age: float = KEEP_SECONDS) -> None:
    """Uploads that were never imported are kept for a day."""
    cutoff = time.time() - max_age
    for path in STORE.directory().iterdir():
        if path.suffix in (".csv", ".json", ".tmp") and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def run_stored(token: str, user_id: int) -> str:
    """Import a stored upload with the options saved in its record (the worker's job)."""
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5 and stage == "checking":
            return
        last[0] = now
        STORE.write(token, status="running", stage=stage, done=done, total=total)
        faults.fault("import.progress")

    def work(session: Session, meta: dict[str, Any]) -> dict[str, Any]:
        options = schemas.ImportOptions.model_validate(meta["job"]["options"])
        report = service.run(
            session,
            data=data(token),
            filename=meta["filename"],
            options=options,
            dry_run=False,
            actor=session.get(User, user_id),
            progress=progress,
        )
        return report.model_dump(mode="json")

    outcome = STORE.run(token, work)
    if outcome == "done":
        forget(token)
    return outcome


def _committed(_token: str, meta: dict[str, Any]) -> dict[str, Any] | None:
    """The import's report if its transaction committed: its audit entry (same transaction)
    says so."""
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
    pending: dict[str, Any] = job.get("pending") or {}
    rows = pending.get("total_rows")
    found = any(
        e.details.get("filename") == meta.get("filename") and e.details.get("rows") == rows
        for e in entries
    )
    return pending if found else None


def recover_stale(*, now: datetime | None = None) -> dict[str, int]:
    """Background imports whose worker died: finished if their transaction committed after
    all, else queued again (nothing was written, so every row is imported once) or failed
    with the reason once ``leases.MAX_ATTEMPTS`` workers died on them."""
    counts, done = STORE.recover_stale(
        committed=_committed,
        resume=lambda token, meta: import_tasks.import_contacts(token, int(meta["user_id"])),
        now=now,
    )
    for token in done:
        forget(token)
    return counts
