"""Scanned attachments of replies: which are scans, queuing one to be read after the commit, its
reading's state, the worker's job (``read_attachment``) and the scan's text put into the reply
under its own heading.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.config import get_settings
from app.db import transaction
from app.errors import Conflict, DomainError, InvalidInput, NotFound
from app.models import Reply, ReplyAttachment
from app.platform.queueing import enqueue_after_commit

# tasks calls back into this module when a job runs, never at import
from app.replies import tasks
from app.replies.ocr import (
    CONTENT_TYPES,
    MAX_BYTES,
    MODELS,
    STALE_AFTER,
    OcrResult,
    ScanRejected,
    recognise,
)

log = logging.getLogger(__name__)


def is_scan(attachment: ReplyAttachment) -> bool:
    return attachment.content_type in CONTENT_TYPES


def check_language(language: str) -> str:
    language = (language or "").strip().lower()
    if language and language not in MODELS:
        raise InvalidInput(
            f"Scans can be read in {', '.join(sorted(MODELS))}; not in {language!r}.",
            errors=[{"field": "language", "message": "unsupported language"}],
        )
    return language


def queue_attachment(session: Session, attachment: ReplyAttachment, *, language: str = "") -> None:
    """Mark a scan queued (in ``language``, or detected when "") and queue the worker's job once
    the transaction commits, so the worker finds the attachment."""
    if not is_scan(attachment):
        return
    attachment.ocr_status = "queued"
    attachment.ocr_language = check_language(language)
    attachment.ocr_pages = 0
    attachment.ocr_pages_done = 0
    attachment.ocr_error = ""
    session.flush()
    # If the queue is down, the scan stays queued and can be queued again.
    enqueue_after_commit(session, tasks.read_scan, attachment.id)


def request(session: Session, *, attachment_id: int, language: str = "") -> ReplyAttachment:
    """Read a scan again (in another language, say); not while a live job is reading it."""
    attachment = session.get(ReplyAttachment, attachment_id, populate_existing=True)
    if attachment is None:
        raise NotFound(f"No attachment has the id {attachment_id}.")
    if not is_scan(attachment):
        raise InvalidInput(f"{attachment.filename} is not a scan; it has no text to read.")
    language = check_language(language)
    if attachment.ocr_status == "running" and not _stale(attachment):
        raise Conflict(
            f"{attachment.filename} is being read (page {attachment.ocr_pages_done} of "
            f"{attachment.ocr_pages}); wait until it is done."
        )
    queue_attachment(session, attachment, language=language)
    return attachment


def _stale(attachment: ReplyAttachment) -> bool:
    changed = attachment.updated_at
    if changed.tzinfo is None:
        changed = changed.replace(tzinfo=UTC)
    return datetime.now(UTC) - changed > STALE_AFTER


def state(attachment: ReplyAttachment) -> dict[str, Any]:
    """What the reply page shows while a scan is read, and after."""
    return {
        "attachment_id": attachment.id,
        "status": attachment.ocr_status,
        "pages": attachment.ocr_pages,
        "pages_done": attachment.ocr_pages_done,
        "language": attachment.ocr_language,
        "error": attachment.ocr_error,
        "text": attachment.ocr_text,
    }


def scan_header(filename: str) -> str:
    return f"— Text read from {filename} —"


def with_scan_text(full_text: str, filename: str, previous: str, text: str) -> str:
    """The reply's text with the scan's text under its heading: replacing the text an earlier
    reading put there when it is still as it was, appended otherwise."""
    header = scan_header(filename)
    block = f"{header}\n{text}"
    old = f"{header}\n{previous}"
    if previous and old in full_text:
        return full_text.replace(old, block, 1)
    if not text:
        return full_text
    return f"{full_text.rstrip()}\n\n{block}" if full_text.strip() else block


def read_attachment(attachment_id: int) -> str:
    """The worker's job: read one queued scan, page by page (each page committed, so the reply
    page can show progress), and put its text into the reply. Returns the final status; a
    failure is stored with its reason and never retried."""
    with transaction() as session:
        claim = session.execute(
            update(ReplyAttachment)
            .where(ReplyAttachment.id == attachment_id, ReplyAttachment.ocr_status == "queued")
            .values(ocr_status="running", ocr_pages_done=0, ocr_error="")
        )
        claimed = int(getattr(claim, "rowcount", 0) or 0)
        attachment = session.get(ReplyAttachment, attachment_id) if claimed else None
        if attachment is None:
            return "skipped"  # deleted, or another job has it
        path = get_settings().files_dir / attachment.storage_path
        content_type, language = attachment.content_type, attachment.ocr_language

    def progress(done: int, total: int) -> None:
        with transaction() as session:
            session.execute(
                update(ReplyAttachment)
                .where(ReplyAttachment.id == attachment_id, ReplyAttachment.ocr_status == "running")
                .values(ocr_pages=total, ocr_pages_done=done)
            )

    try:
        if not path.is_file():
            raise ScanRejected("The scan's file is missing from the data directory.")
        if path.stat().st_size > MAX_BYTES:
            raise ScanRejected(f"The file is larger than {MAX_BYTES // 2**20} MB.")
        result = recognise(
            path.read_bytes(), content_type=content_type, language=language, progress=progress
        )
    except DomainError as exc:
        return _fail(attachment_id, exc.detail)
    except Exception:
        log.exception("scan %s: text recognition failed", attachment_id)
        return _fail(attachment_id, "The scan could not be read (an unexpected error).")
    log.info(
        "scan %s: %s page(s), %s, %.1f s/page",
        attachment_id,
        result.pages,
        result.language or "language unknown",
        sum(result.page_seconds) / max(1, len(result.page_seconds)),
    )
    return _finish(attachment_id, result)


def _fail(attachment_id: int, message: str) -> str:
    with transaction() as session:
        session.execute(
            update(ReplyAttachment)
            .where(ReplyAttachment.id == attachment_id, ReplyAttachment.ocr_status == "running")
            .values(ocr_status="failed", ocr_error=message[:500])
        )
    return "failed"


def _finish(attachment_id: int, result: OcrResult, attempts: int = 3) -> str:
    """Store the text; the reply is read again just before it is changed, and a user's edit
    saved in between (its version moved on) means reading it once more, not losing either."""
    for attempt in range(attempts):
        try:
            with transaction() as session:
                attachment = session.get(
                    ReplyAttachment, attachment_id, populate_existing=True, with_for_update=True
                )
                if attachment is None or attachment.ocr_status != "running":
                    return "skipped"  # deleted, or queued again meanwhile: that job decides
                reply = session.get(Reply, attachment.reply_id, populate_existing=True)
                if reply is None:
                    return "skipped"
                previous = attachment.ocr_text
                attachment.ocr_text = result.text
                attachment.ocr_language = result.language
                attachment.ocr_pages = result.pages
                attachment.ocr_pages_done = result.pages
                attachment.ocr_status = "done"
                attachment.ocr_error = ""
                reply.full_text = with_scan_text(
                    reply.full_text, attachment.filename, previous, result.text
                )
                if not reply.language and result.language:
                    reply.language = result.language
                session.flush()
            return "done"
        except StaleDataError:
            log.info("scan %s: the reply changed meanwhile (attempt %s)", attachment_id, attempt)
    return _fail(attachment_id, "The reply kept changing while its scan's text was stored.")
