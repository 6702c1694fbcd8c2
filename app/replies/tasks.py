"""Poll the replies mailbox (DEMARCHE_IMAP_URL) and log what arrived, or put it in triage."""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from huey import crontab
from sqlalchemy.exc import InterfaceError, OperationalError

from app.config import get_settings
from app.db import transaction
from app.errors import DomainError
from app.queue import huey
from app.replies import intake, scans, service

log = logging.getLogger(__name__)
# Read at most this many messages per run; the next run takes the rest.
BATCH = 200


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    folder: str
    tls: bool


def parse_url(url: str) -> Mailbox:
    """imaps://user:pass@host:993/INBOX → its parts (user and password may be %-encoded)."""
    parts = urlsplit(url)
    if parts.scheme not in {"imap", "imaps"} or not parts.hostname:
        raise ValueError("The IMAP address must look like imaps://user:password@host/INBOX.")
    tls = parts.scheme == "imaps"
    return Mailbox(
        host=parts.hostname,
        port=parts.port or (993 if tls else 143),
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
        tls=tls,
    )


def _connect(box: Mailbox, timeout: float) -> imaplib.IMAP4:
    if box.tls:
        return imaplib.IMAP4_SSL(
            box.host, box.port, ssl_context=ssl.create_default_context(), timeout=timeout
        )
    return imaplib.IMAP4(box.host, box.port, timeout=timeout)


@dataclass
class PollResult:
    seen: int = 0
    logged: int = 0
    triage: int = 0
    duplicates: int = 0
    refused: int = 0
    dismissed: int = 0  # auto-replies and bounces that match no letter
    unreadable: int = 0  # broke a bound: kept raw in triage (counted in triage too)


def poll(url: str, *, timeout: float = 30.0) -> PollResult:
    """Fetch unseen messages; each is logged in its own transaction, then flagged \\Seen.

    A message is flagged only after its reply is committed, and the Message-ID check makes a
    second read harmless, so a crash between the two never loses or doubles a reply.
    """
    box = parse_url(url)
    result = PollResult()
    conn = _connect(box, timeout)
    try:
        conn.login(box.user, box.password)
        status, _ = conn.select(box.folder)
        if status != "OK":
            raise OSError(f"The mailbox {box.folder!r} cannot be opened.")
        status, data = conn.uid("SEARCH", None, "UNSEEN")  # type: ignore[arg-type]
        uids = (data[0] or b"").split() if status == "OK" and data else []
        for uid in uids[:BATCH]:
            status, fetched = conn.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
            raw = next(
                (part[1] for part in fetched or [] if isinstance(part, tuple) and len(part) > 1),
                None,
            )
            if status != "OK" or not isinstance(raw, bytes):
                continue
            result.seen += 1
            _count(result, _ingest(raw, uid.decode()))
            conn.uid("STORE", uid.decode(), "+FLAGS", "(\\Seen)")
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.logout()
    return result


def _ingest(raw: bytes, uid: str) -> str:
    """Log one message; what became of it ("logged", "triage", "dismissed", "duplicate",
    "refused", "unreadable"). Whatever the message holds, the poll goes on to the next one and
    the message is flagged: a message that breaks a bound is kept raw in triage, one that makes
    the reading fail in an unforeseen way too. Only the database being unreachable stops the
    run (the message stays unseen and is read again next time)."""
    try:
        with transaction() as session:
            reply, created = intake.ingest_email(session, raw=raw, actor=None, keep_unreadable=True)
            unreadable = reply.attachments and reply.attachments[0].content_type == (
                service.RAW_EMAIL_TYPE
            )
            outcome = reply.status.value
    except DomainError as exc:
        log.warning("mailbox message %s refused: %s", uid, exc.detail)
        return "refused"
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:  # noqa: BLE001 - one message must not stop the mailbox
        log.exception("mailbox message %s could not be read", uid)
        with transaction() as session:
            intake.keep_unreadable_email(
                session,
                raw=raw,
                reason=f"Reading it failed ({type(exc).__name__}: {str(exc)[:200]}).",
                actor=None,
            )
        return "unreadable"
    if not created:
        return "duplicate"
    return "unreadable" if unreadable else outcome


def _count(result: PollResult, outcome: str) -> None:
    if outcome == "unreadable":
        result.unreadable += 1
        result.triage += 1
    elif outcome == "duplicate":
        result.duplicates += 1
    elif outcome == "refused":
        result.refused += 1
    elif outcome == "triage":
        result.triage += 1
    elif outcome == "dismissed":
        result.dismissed += 1
    else:
        result.logged += 1


@huey.periodic_task(crontab(minute="*/5"))
def poll_replies_mailbox() -> None:
    url = get_settings().imap_url
    if not url:
        return
    try:
        result = poll(url)
    except (OSError, imaplib.IMAP4.error, ValueError) as exc:
        log.warning("replies mailbox unreachable: %s", exc)
        return
    if result.seen:
        log.info("replies mailbox: %s", result)


@huey.task(retries=0)
def read_scan(attachment_id: int) -> str:
    """Read a queued scan's text into its reply (scans.read_attachment): page by page, with
    progress; a scan that cannot be read is marked failed with the reason, never retried."""
    return scans.read_attachment(attachment_id)
