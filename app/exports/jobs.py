"""Exports too big to make in the request: queued as jobs, run by the worker into a file kept for
its owner, listed, downloaded and deleted, and taken up again after a worker dies.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import transaction
from app.errors import DomainError, NotFound

# tasks calls back into this module when a job runs, never at import
from app.exports import formats, tasks
from app.exports.gate import Tally
from app.exports.schemas import ExportRequest
from app.exports.service import audit_export, reading_session, select_contacts, write_file
from app.models import ExportJob, ExportStatus, User
from app.platform import children, faults, leases
from app.platform.queueing import enqueue_after_commit

# --- background jobs ---------------------------------------------------------------------------


def exports_dir() -> Path:
    path = get_settings().files_dir / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def get_job(session: Session, *, job_id: int, user: User) -> ExportJob:
    """The job, for its owner only: anyone else is told it does not exist."""
    job = session.get(ExportJob, job_id)
    if job is None or job.owner_id != user.id:
        raise NotFound(f"No export of yours has the id {job_id}.")
    return job


def list_jobs(
    session: Session, *, user: User, limit: int = 20, offset: int = 0
) -> tuple[list[ExportJob], int]:
    query = select(ExportJob).where(ExportJob.owner_id == user.id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(ExportJob.created_at.desc(), ExportJob.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def job_file(job: ExportJob) -> Path:
    if job.status != ExportStatus.done or not job.file_path:
        raise NotFound("This export has no file yet.")
    path = exports_dir() / job.file_path
    if not path.is_file():
        raise NotFound("The file of this export is gone; run it again.")
    return path


def delete_job(session: Session, *, job_id: int, user: User) -> None:
    job = get_job(session, job_id=job_id, user=user)
    if job.file_path:
        (exports_dir() / job.file_path).unlink(missing_ok=True)
    session.delete(job)
    session.flush()


def _partial_files(job_id: int) -> list[Path]:
    """Files a run of the job left half-written (its worker died or stopped)."""
    return list(exports_dir().glob(f"{job_id}-*.part"))


def run_job(job_id: int) -> ExportJob | None:
    """Produce a queued job's file. Rows are read outside any transaction; progress and the
    outcome are written in short transactions of their own (so the page can show them).
    Returns None when the job does not exist (deleted, or not committed yet).

    The job holds a lease, renewed with each progress report; a job whose worker died is
    started again from the first row by the recovery sweep (``recover_stale``), the file
    being written whole each time (``.part`` until it is complete)."""
    with transaction() as session:
        if session.get(ExportJob, job_id) is None:
            return None
    lease = leases.RowLease(ExportJob, job_id)
    if not lease.claim(
        ExportJob.status == ExportStatus.queued,
        status=ExportStatus.running,
        processed=0,
        error="",
    ):
        with transaction() as session:
            return session.get(ExportJob, job_id)
    with transaction() as session:
        job = session.get(ExportJob, job_id)
        if job is None:
            return None
        owner_id = job.owner_id
        label = job.source_label
        req = ExportRequest.model_validate(job.request)
    faults.fault("export.started")
    for stale in _partial_files(job_id):
        stale.unlink(missing_ok=True)
    name = f"{job_id}-{secrets.token_hex(8)}.{formats.EXTENSIONS[req.format]}"
    path = exports_dir() / name
    partial = path.with_name(name + ".part")
    tally = Tally()

    def progress(done: int) -> None:
        if not lease.renew(processed=done):
            raise leases.LeaseLost(f"export job {job_id} is no longer this worker's")
        faults.fault("export.progress")

    try:
        with reading_session() as reader:
            selection = select_contacts(reader, req)
            if not lease.renew(total=selection.total):
                raise leases.LeaseLost(f"export job {job_id} is no longer this worker's")
            with partial.open("wb") as out:
                write_file(reader, req, selection, tally, out, progress)
    except leases.LeaseLost:
        partial.unlink(missing_ok=True)
        with transaction() as session:
            return session.get(ExportJob, job_id)
    except BaseException as exc:  # the job records any failure for its owner, then re-raises
        partial.unlink(missing_ok=True)
        if children.stopping():  # the worker is stopping: the next one runs the job again
            lease.abandon()
            raise
        lease.release(
            status=ExportStatus.failed,
            error=str(exc)[:2000] or exc.__class__.__name__,
            finished_at=datetime.now(UTC),
        )
        if isinstance(exc, DomainError):
            with transaction() as session:
                return session.get(ExportJob, job_id)
        raise
    partial.replace(path)
    with transaction() as session:
        job = session.get(ExportJob, job_id, with_for_update=True, populate_existing=True)
        owner = session.get(User, owner_id)
        if job is None or owner is None or job.lease_owner != lease.owner:
            # deleted while it ran, or no longer this worker's
            path.unlink(missing_ok=True)
            return job
        job.status = ExportStatus.done
        job.processed = tally.processed
        job.exported = tally.exported
        job.excluded = tally.excluded
        job.file_path = name
        job.size = path.stat().st_size
        job.finished_at = datetime.now(UTC)
        job.lease_owner, job.lease_expires_at = "", None
        audit_export(session, owner, req, label, tally, job_id=job.id, complete=True)
    return job


def recover_stale(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Exports whose worker died: queued again (the next run writes the file from the first
    row), or failed with the reason once ``leases.MAX_ATTEMPTS`` workers died on it."""
    counts = {"resumed": 0, "failed": 0}
    stale = leases.stale_rows(session, ExportJob, ExportJob.status == ExportStatus.running, now=now)
    for job in stale:
        lease = leases.Lease.of(job)
        if lease.exhausted():
            outcome = "failed"
            reason = leases.stopped_reason("export", lease)
            values: dict[str, Any] = {
                "status": ExportStatus.failed,
                "error": reason[:1].upper() + reason[1:] + ".",
                "finished_at": datetime.now(UTC),
            }
        else:
            outcome = "resumed"
            values = {"status": ExportStatus.queued, "processed": 0}
        if not leases.take_back(session, job, **values):
            continue
        counts[outcome] += 1
        for partial in _partial_files(job.id):
            partial.unlink(missing_ok=True)
        if outcome == "resumed":
            enqueue_after_commit(session, tasks.run_export, job.id)
    return counts
