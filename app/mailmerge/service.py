"""Mail merge: a template × recipients → one draft letter each, rendered to PDF in the background.

``create_merge`` resolves the recipients (``recipients``), hands out reference numbers
(``references``) and freezes each letter's plain-data context (``context``, ``drafting``) in the
request's transaction; ``run_batch`` (a Huey job) renders the letters (``rendering``) on every
core, records progress for the web UI, honours a cancel request, then joins the PDFs into one
print-ready file and a zip. Letters remember their exact template version, so re-rendering an old
letter gives the same text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.db import fold, transaction
from app.errors import Conflict, NotFound
from app.letters import batch as letters_batch
from app.letters.stored import jobs_for

# tasks calls back into this module when a job runs, never at import
from app.mailmerge import tasks
from app.mailmerge.context import batch_options, builder_for
from app.mailmerge.drafting import (
    add_joint_letter,
    add_letters,
    check_joint,
    find_campaign,
    find_template,
    recipient_report,
    resolve_request,
)
from app.mailmerge.recipients import plan_recipients, source_error
from app.mailmerge.rendering import batch_dir, files_root, keep_text, pdf_filename
from app.mailmerge.schemas import MergeCreate, MergeSource
from app.models import BatchStatus, Channel, Letter, LetterStatus, MergeBatch, User
from app.platform import children, faults, leases
from app.platform.queueing import enqueue_after_commit

# How often the running job writes progress and looks for a cancel request.
PROGRESS_SECONDS = 0.5


def create_merge(session: Session, *, data: MergeCreate, actor: User | None) -> MergeBatch:
    """The batch and one draft letter per recipient; rendering is queued after the commit."""
    template, campaign, letter_date, treaty, plan = resolve_request(session, data)
    if not plan.letters:
        raise source_error(
            "source", "No recipient can receive this letter (see the excluded list)."
        )
    batch = MergeBatch(
        name=data.name or f"{template.name} — {letter_date.isoformat()}",
        campaign_id=campaign.id if campaign else None,
        template_id=template.id,
        source={**data.source.model_dump(mode="json"), **batch_options(data, treaty)},
        reference_pattern=data.reference_pattern,
        letter_date=letter_date,
        status=BatchStatus.queued,
        created_by_id=actor.id if actor else None,
    )
    session.add(batch)
    session.flush()
    builder = builder_for(session, template, campaign, letter_date, batch_options(data, treaty))
    if data.mode == "one_letter":
        check_joint(plan.letters, data.channel)
        added = add_joint_letter(session, batch, template, plan.letters, builder, data.language)
    else:
        added = add_letters(session, batch, template, plan.letters, builder)
    batch.total = added
    batch.report = recipient_report(plan)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="merge.create",
        entity_type="merge_batch",
        entity_id=batch.id,
        summary=f"Drafted {added} letters from '{template.name}'",
        details={"excluded": len(plan.excluded), "flagged": len(plan.flagged)},
    )
    enqueue_after_commit(session, tasks.render_merge, batch.id)
    return batch


def rerun(session: Session, *, batch_id: int, actor: User | None) -> MergeBatch:
    """Run a merge again: letters only for recipients it has none for, then render what is
    missing. Never duplicates a letter (one per recipient per batch)."""
    batch = get_batch(session, batch_id)
    if batch.status == BatchStatus.queued or (
        batch.status == BatchStatus.running and not leases.Lease.of(batch).stale()
    ):
        raise Conflict("This merge is still running; wait for it or cancel it first.")
    template = find_template(session, batch.template_id)
    campaign = find_campaign(session, batch.campaign_id)
    source = MergeSource.model_validate(
        {k: v for k, v in batch.source.items() if k in MergeSource.model_fields}
    )
    channel = str(batch.source.get("channel", "post"))
    plan = plan_recipients(
        session,
        source=source,
        campaign=campaign,
        channel=channel,
        on=batch.letter_date or date.today(),
        language=str(batch.source.get("language", "recipient")),
    )
    builder = builder_for(
        session, template, campaign, batch.letter_date or date.today(), batch.source
    )
    if batch.source.get("mode") == "one_letter":
        language = str(batch.source.get("language", "recipient"))
        added = add_joint_letter(session, batch, template, plan.letters, builder, language)
    else:
        added = add_letters(session, batch, template, plan.letters, builder)
    batch.total = session.scalar(select(func.count()).where(Letter.batch_id == batch.id)) or 0
    batch.status = BatchStatus.queued
    batch.cancel_requested = False
    # a new run, not a resumption: every letter without a PDF is rendered again
    batch.lease_owner, batch.lease_expires_at, batch.attempts = "", None, 0
    batch.report = {**(batch.report or {}), **recipient_report(plan)}
    session.flush()
    audit.record(
        session,
        user=actor,
        action="merge.rerun",
        entity_type="merge_batch",
        entity_id=batch.id,
        summary=f"Ran the merge '{batch.name}' again ({added} new letters)",
    )
    enqueue_after_commit(session, tasks.render_merge, batch.id)
    return batch


def request_cancel(session: Session, *, batch_id: int, actor: User | None) -> MergeBatch:
    batch = get_batch(session, batch_id)
    if batch.status not in (BatchStatus.queued, BatchStatus.running):
        raise Conflict(f"This merge is {batch.status.value}; there is nothing to cancel.")
    batch.cancel_requested = True
    if batch.status == BatchStatus.queued or leases.Lease.of(batch).stale():
        # Nobody renders it (not started, or its worker died): cancelled now. A worker that
        # still runs it after its lease ran out finds the lease gone and stops.
        batch.status = BatchStatus.cancelled
        batch.finished_at = datetime.now(UTC)
        batch.lease_owner, batch.lease_expires_at = "", None
        batch.rendered, batch.failed = _counts(session, batch.id)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="merge.cancel",
        entity_type="merge_batch",
        entity_id=batch.id,
        summary=f"Cancelled the merge '{batch.name}'",
    )
    return batch


def get_batch(session: Session, batch_id: int) -> MergeBatch:
    batch = session.get(MergeBatch, batch_id)
    if batch is None:
        raise NotFound(f"No merge with id {batch_id}.")
    return batch


def list_batches(
    session: Session, *, campaign_id: int | None = None, limit: int = 25, offset: int = 0
) -> tuple[Sequence[MergeBatch], int]:
    stmt = select(MergeBatch)
    if campaign_id is not None:
        stmt = stmt.where(MergeBatch.campaign_id == campaign_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(MergeBatch.id.desc()).limit(limit).offset(offset)).all()
    return rows, total


def postal_recipients(session: Session, batch_id: int) -> tuple[list[int], list[int]]:
    """Who the batch's letters for the post go to: (person ids, organisation ids), for the
    address labels that go with its print pack."""
    get_batch(session, batch_id)  # NotFound for an unknown batch
    people: list[int] = []
    orgs: list[int] = []
    for key, person_id, org_id in session.execute(
        select(Letter.recipient_key, Letter.person_id, Letter.organisation_id)
        .where(Letter.batch_id == batch_id, Letter.channel == Channel.post)
        .order_by(Letter.id)
    ):
        # recipient_key says whom the letter addresses: a person, or an office (organisation)
        if key.startswith("person:") and person_id is not None:
            people.append(person_id)
        elif key.startswith("organisation:") and org_id is not None:
            orgs.append(org_id)
    return people, orgs


def list_postal_batches(session: Session, limit: int = 200) -> list[tuple[int, str]]:
    """Batches with letters for the post, newest first: (id, name)."""
    rows = session.execute(
        select(MergeBatch.id, MergeBatch.name)
        .where(
            select(Letter.id)
            .where(Letter.batch_id == MergeBatch.id, Letter.channel == Channel.post)
            .exists()
        )
        .order_by(MergeBatch.id.desc())
        .limit(limit)
    ).all()
    return [(r.id, r.name or f"Batch {r.id}") for r in rows]


def failures(session: Session, batch_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Letter.id, Letter.reference, Letter.recipient_name, Letter.render_error)
        .where(Letter.batch_id == batch_id, Letter.render_error != "")
        .order_by(Letter.id)
    ).all()
    return [
        {
            "letter_id": r.id,
            "reference": r.reference,
            "recipient": r.recipient_name,
            "error": r.render_error,
        }
        for r in rows
    ]


def percent(batch: MergeBatch) -> int:
    if not batch.total:
        return 100 if batch.status == BatchStatus.done else 0
    return min(100, round(100 * (batch.rendered + batch.failed) / batch.total))


def get_letter(session: Session, letter_id: int) -> Letter:
    letter = session.scalar(
        select(Letter).where(Letter.id == letter_id).options(selectinload(Letter.batch))
    )
    if letter is None:
        raise NotFound(f"No letter with id {letter_id}.")
    return letter


def list_letters(
    session: Session,
    *,
    batch_id: int | None = None,
    campaign_id: int | None = None,
    status: LetterStatus | None = None,
    q: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Letter], int]:
    stmt = select(Letter)
    if batch_id is not None:
        stmt = stmt.where(Letter.batch_id == batch_id)
    if campaign_id is not None:
        stmt = stmt.where(Letter.campaign_id == campaign_id)
    if status is not None:
        stmt = stmt.where(Letter.status == status)
    for word in q.lower().split()[:8]:
        like = f"%{word}%"
        stmt = stmt.where(
            or_(
                fold(Letter.reference).like(like),
                fold(Letter.recipient_name).like(like),
                fold(Letter.subject).like(like),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    # A merge's letters in reference order; across merges, the newest first.
    order = Letter.reference if batch_id is not None else Letter.id.desc()
    rows = session.scalars(stmt.order_by(order).limit(limit).offset(offset)).all()
    return rows, total


class _Progress:
    """Records each letter as soon as it comes back, so a letter recorded is never rendered
    again, even when the worker dies; a few times a second it writes the counters, renews the
    job's lease (the heartbeat) and looks for a cancel request."""

    def __init__(self, batch_id: int, lease: leases.RowLease) -> None:
        self.batch_id = batch_id
        self.lease = lease
        self.last = 0.0
        self.cancel = False
        self.lost = False  # another worker holds the merge now, or it was cancelled

    def add(self, result: letters_batch.ItemResult) -> None:
        with transaction() as session:
            _record(session, result)
            if time.monotonic() - self.last >= PROGRESS_SECONDS:
                self._sync(session)
        faults.fault("merge.letter")

    def should_cancel(self) -> bool:
        if time.monotonic() - self.last >= PROGRESS_SECONDS:
            self.flush()
        return self.cancel or self.lost

    def flush(self) -> None:
        with transaction() as session:
            self._sync(session)

    def _sync(self, session: Session) -> None:
        self.last = time.monotonic()
        rendered, failed = _counts(session, self.batch_id)
        if not self.lease.renew(session, rendered=rendered, failed=failed):
            self.lost = True
            return
        self.cancel = bool(
            session.scalar(
                select(MergeBatch.cancel_requested).where(MergeBatch.id == self.batch_id)
            )
        )


def _record(session: Session, result: letters_batch.ItemResult) -> None:
    """One letter's outcome: its PDF (path, pages, the text as filled in) or why it failed."""
    letter = session.get(Letter, int(result.key))
    if letter is None:
        return
    if result.error:
        letter.render_error = result.error[:1000]
        letter.pdf_path = ""
        letter.pages = 0
    else:
        assert result.path is not None
        letter.render_error = ""
        letter.pdf_path = str(result.path.relative_to(files_root()))
        letter.pages = result.pages
        keep_text(letter, result.subject, result.body)
    session.flush()


def _counts(session: Session, batch_id: int) -> tuple[int, int]:
    rendered = (
        session.scalar(
            select(func.count()).where(Letter.batch_id == batch_id, Letter.pdf_path != "")
        )
        or 0
    )
    failed = (
        session.scalar(
            select(func.count()).where(Letter.batch_id == batch_id, Letter.render_error != "")
        )
        or 0
    )
    return rendered, failed


def _claim(lease: leases.RowLease) -> bool:
    """queued → running, by one job only (a second delivery of the job does nothing); the job
    holds the merge's lease from here on."""
    return lease.claim(
        MergeBatch.status == BatchStatus.queued,
        MergeBatch.cancel_requested.is_(False),
        status=BatchStatus.running,
        started_at=datetime.now(UTC),
        finished_at=None,
    )


def _held(session: Session, lease: leases.RowLease) -> MergeBatch | None:
    """The batch, locked, if this job still holds it (None: cancelled or taken over)."""
    batch = session.get(MergeBatch, lease.row_id, with_for_update=True, populate_existing=True)
    return batch if batch is not None and batch.lease_owner == lease.owner else None


def run_batch(batch_id: int, *, workers: int | None = None, pool: Any = None) -> BatchStatus:
    """The render job: every letter without a PDF, on a process pool; idempotent.

    A merge taken over from a worker that died (``attempts`` > 1) resumes: only the letters
    that worker did not record are rendered, each once."""
    lease = leases.RowLease(MergeBatch, batch_id)
    if not _claim(lease):
        with transaction() as session:
            return get_batch(session, batch_id).status
    started = time.monotonic()
    with transaction() as session:
        batch = get_batch(session, batch_id)
        letters = session.scalars(
            select(Letter)
            .where(Letter.batch_id == batch_id)
            .options(selectinload(Letter.batch))
            .order_by(Letter.reference)
        ).all()
        root = files_root()
        todo = [x for x in letters if not (x.pdf_path and (root / x.pdf_path).is_file())]
        if batch.attempts > 1:
            # resuming: a letter the stopped worker recorded as failed was tried in this run
            todo = [x for x in todo if not x.render_error]
            resumes = list((batch.report or {}).get("resumes", []))
            resumes.append({"attempt": batch.attempts, "done": len(letters) - len(todo)})
            batch.report = {**(batch.report or {}), "resumes": resumes}
        for letter in todo:  # a PDF that went missing is made again
            letter.pdf_path = ""
        jobs = jobs_for(session, todo)
        missing = [x for x in todo if x.id not in jobs]
        for letter in missing:
            letter.render_error = "The letter's template version no longer exists"
        items = [
            letters_batch.BatchItem(str(x.id), pdf_filename(x), jobs[x.id])
            for x in todo
            if x.id in jobs
        ]
        batch.total = len(letters)
    out_dir = batch_dir(batch_id) / "letters"
    progress = _Progress(batch_id, lease)
    try:
        report = letters_batch.render_batch(
            items,
            out_dir,
            total=len(items),
            workers=workers,
            pool=pool,
            should_cancel=progress.should_cancel,
            on_result=progress.add,
        )
        progress.flush()
    except BaseException as exc:
        if children.stopping():
            # The worker is stopping: the next one resumes the merge where this one stopped.
            lease.abandon()
            raise
        # Never leave a merge "running" for ever: record why it stopped, then let it raise.
        with transaction() as session:
            held = _held(session, lease)
            if held is not None:
                held.status = BatchStatus.failed
                held.finished_at = datetime.now(UTC)
                held.report = {**(held.report or {}), "error": f"{type(exc).__name__}: {exc}"}
                held.lease_owner, held.lease_expires_at = "", None
        raise
    if progress.lost:  # cancelled while its worker seemed gone, or taken over: not ours now
        with transaction() as session:
            return get_batch(session, batch_id).status
    rendered_at = time.monotonic()
    with transaction() as session:
        held = _held(session, lease)
        if held is None:
            return get_batch(session, batch_id).status
        batch = held
        ordered = session.scalars(
            select(Letter.pdf_path)
            .where(Letter.batch_id == batch_id, Letter.pdf_path != "")
            .order_by(Letter.reference)
        ).all()
        paths = [root / p for p in ordered]
        folder = batch_dir(batch_id)
        stem = letters_batch.letter_filename(batch.name, "")[:-4] or f"merge-{batch_id}"
        if paths and not report.cancelled:
            combined = folder / f"{stem}.pdf"
            letters_batch.combine_pdfs(paths, combined, recto=bool(batch.source.get("recto")))
            archive = folder / f"{stem}.zip"
            letters_batch.zip_pdfs(paths, archive)
            batch.combined_pdf_path = str(combined.relative_to(root))
            batch.zip_path = str(archive.relative_to(root))
        batch.rendered, batch.failed = _counts(session, batch_id)
        if report.cancelled:
            batch.status = BatchStatus.cancelled
        elif batch.rendered == 0 and batch.failed:
            batch.status = BatchStatus.failed
        else:
            batch.status = BatchStatus.done
        batch.finished_at = datetime.now(UTC)
        batch.report = {
            **(batch.report or {}),
            "seconds": round(time.monotonic() - started, 2),
            "render_seconds": round(rendered_at - started, 2),
            "assemble_seconds": round(time.monotonic() - rendered_at, 2),
            "cancelled_after": report.done if report.cancelled else None,
        }
        batch.lease_owner, batch.lease_expires_at = "", None
        return batch.status


def recover_stale(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Merges whose worker died: cancelled if a cancel was asked for, failed with the reason
    once ``leases.MAX_ATTEMPTS`` workers died on it, else queued again for a new worker, which
    resumes it (see ``run_batch``)."""
    counts = {"resumed": 0, "failed": 0, "cancelled": 0}
    stale = leases.stale_rows(
        session, MergeBatch, MergeBatch.status == BatchStatus.running, now=now
    )
    for batch in stale:
        lease = leases.Lease.of(batch)
        rendered, failed = _counts(session, batch.id)
        values: dict[str, Any] = {"rendered": rendered, "failed": failed}
        if batch.cancel_requested:
            outcome = "cancelled"
            values.update(status=BatchStatus.cancelled, finished_at=datetime.now(UTC))
        elif lease.exhausted():
            outcome = "failed"
            reason = leases.stopped_reason("merge", lease)
            values.update(
                status=BatchStatus.failed,
                finished_at=datetime.now(UTC),
                report={**(batch.report or {}), "error": reason},
            )
        else:
            outcome = "resumed"
            values.update(status=BatchStatus.queued)
        if leases.take_back(session, batch, **values):
            counts[outcome] += 1
            if outcome == "resumed":
                enqueue_after_commit(session, tasks.render_merge, batch.id)
    return counts
