"""Automatic mail in the replies mailbox: auto-replies (out of office) and delivery failure
reports (bounces), told apart from replies, and what a bounce means for the letter and the
address it was sent to.

A bounce is recognised in its standard form (RFC 3464: multipart/report with a
message/delivery-status part naming each recipient, its Action and Status) and in the common
older forms (Exim, qmail, Postfix, Exchange, Gmail plain-text notices from MAILER-DAEMON or
postmaster). Only a permanent failure (Action: failed, Status 5.x.x) bounces a letter; a
"delayed" notice (4.x.x) is logged as an automatic message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.db import fold
from app.errors import NotFound
from app.mail.reader import REPLY_ADDRESS, InboundEmail
from app.models import Channel, ContactKind, ContactPoint, Letter, LetterStatus, ReplyKind, User


def normalise_reference(value: str) -> str:
    """References are printed with '/' and travel in addresses with '-' (as the matcher)."""
    return value.strip().upper().replace("-", "/")


def reference_from_address(address: str) -> str | None:
    """replies+CMC-2010-TJK-0001@example.org → CMC/2010/TJK/0001."""
    match = REPLY_ADDRESS.search(address or "")
    return normalise_reference(match.group(1)) if match else None


# --- auto-replies ---------------------------------------------------------------------------

AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk"}
AUTO_SUBJECT = re.compile(
    r"automatic reply|auto[- ]?reply|out of (?:the )?office|réponse automatique|"
    r"respuesta automática|resposta automática|risposta automatica|abwesenheitsnotiz|"
    r"автоматический ответ|رد تلقائي|自动回复|自動回覆",
    re.IGNORECASE,
)

# --- bounces --------------------------------------------------------------------------------

DAEMON_SENDER = re.compile(
    r"^(mailer-daemon|mail-daemon|mailerdaemon|postmaster|microsoftexchange[0-9a-f]*)@",
    re.IGNORECASE,
)
DAEMON_NAME = re.compile(r"mail delivery (system|subsystem)|mailer-daemon", re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
    r"undelivered mail returned to sender|^\W*undeliverable\b|undeliverable mail|"
    r"delivery status notification|mail delivery failed|returned mail\b|failure notice|"
    r"delivery failure|message not delivered|non remis|unzustellbar|no entregado",
    re.IGNORECASE,
)
BOUNCE_BODY = re.compile(
    r"created automatically by mail delivery software|"
    r"wasn'?t able to deliver your message|could not be delivered to one or more|"
    r"delivery has failed to these recipients|your message (?:wasn'?t|was not|could not be) "
    r"delivered|the following address(?:\(es\)|es)? failed|delivery to the following "
    r"recipients? (?:failed|has been delayed)|message could not be delivered|"
    r"undeliverable to the following|permanent error|has been delayed|will (?:keep )?retry|"
    r"did not reach some or all of the intended recipients|recipients? could not be reached",
    re.IGNORECASE,
)
REPLY_PREFIX = re.compile(r"^\s*(re|fw|fwd|aw|wg|tr|rv|sv|ответ|回复)\s*:", re.IGNORECASE)
DELAY_WORDS = re.compile(
    r"\(delay\)|has been delayed|delivery (?:is |has been )?delayed|will (?:keep )?retry|"
    r"temporary (?:error|failure|problem)|not yet been delivered|warning: message",
    re.IGNORECASE,
)
# Where a notice starts quoting the message it returns.
RETURNED_MARKER = re.compile(
    r"^.*(?:this is a copy of the message|below this line is a copy of the message|"
    r"original message (?:headers|follows)|----- ?original message ?-----|"
    r"undelivered message headers|the original message was received).*$",
    re.IGNORECASE | re.MULTILINE,
)
ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
ENHANCED_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
SMTP_REPLY = re.compile(r"\b([45]\d\d)[ -]")
MESSAGE_ID_LINE = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]{3,250}>)", re.IGNORECASE | re.MULTILINE)
REFERENCE_LINE = re.compile(r"^\s*X-Demarche-Reference:\s*(\S{3,120})", re.I | re.M)
# How much of a notice's text is read: the reason comes first, then the returned message.
TEXT_SCAN = 200_000


@dataclass(frozen=True)
class Failure:
    """One recipient a delivery report is about."""

    recipient: str  # lower-case address, "" when the notice names none
    status: str  # enhanced status "5.1.1", or the SMTP reply "550", or ""
    diagnostic: str  # the server's words, as given
    permanent: bool  # failed for good (5.x.x); False for a delay (4.x.x)

    @property
    def reason(self) -> str:
        text = re.sub(r"^\s*(smtp|x-[\w-]+)\s*;\s*", "", self.diagnostic, flags=re.I)
        if self.status and self.status not in text:
            text = f"{self.status} {text}".strip()
        return (text or "Delivery failed")[:500]


@dataclass(frozen=True)
class Automatic:
    """What an automatic message is and what it says about our letters."""

    kind: ReplyKind  # auto_reply or bounce
    why: str  # what showed it, e.g. "Auto-Submitted: auto-replied"
    failures: tuple[Failure, ...] = ()
    message_ids: tuple[str, ...] = ()  # of the message it returns (ours, when a letter)
    references: tuple[str, ...] = ()  # letter references found in what it returns

    @property
    def delayed(self) -> bool:
        """A delivery report that only says delivery is late: the letter may still arrive."""
        return self.kind is ReplyKind.auto_reply and bool(self.failures)


def auto_reply_sign(message: InboundEmail) -> str:
    """Why this is an automatic reply ("" when it is not). X-Auto-Response-Suppress alone is
    not enough: Outlook sets it on ordinary messages."""
    headers = message.headers
    submitted = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return f"{name.title()}: {headers[name][:60]}".strip()
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if match := AUTO_SUBJECT.search(message.subject):
        return f"subject “{match.group(0)}”"
    return ""


def is_daemon(message: InboundEmail) -> bool:
    return bool(
        DAEMON_SENDER.match(message.sender_email)
        or DAEMON_NAME.search(message.sender_name)
        or message.headers.get("return-path", "").strip() == "<>"
    )


def bounce_sign(message: InboundEmail) -> str:
    """Why this is a delivery report ("" when it is not)."""
    if message.delivery_reports or (
        message.content_type == "multipart/report" and message.report_type == "delivery-status"
    ):
        return "delivery status report (RFC 3464)"
    if message.headers.get("x-failed-recipients"):
        return "X-Failed-Recipients header"
    text = message.text[:TEXT_SCAN]
    # "Re: Delivery failure?" is someone writing about one, not a notice.
    answered = REPLY_PREFIX.match(message.subject)
    subject = None if answered else BOUNCE_SUBJECT.search(message.subject)
    body = BOUNCE_BODY.search(text)
    if subject and (body or is_daemon(message)):
        return f"delivery failure notice (subject “{subject.group(0).strip()}”)"
    if body and is_daemon(message):
        return f"delivery failure notice from {message.sender_email or message.sender_name}"
    return ""


def _status(text: str) -> str:
    if match := ENHANCED_STATUS.search(text):
        return match.group(0)
    if match := SMTP_REPLY.search(text):
        return match.group(1)
    return ""


def _notice_part(text: str) -> tuple[str, str]:
    """(the notice's own words, the message it returns) of a plain-text bounce."""
    text = text[:TEXT_SCAN]
    marker = RETURNED_MARKER.search(text)
    return (text[: marker.start()], text[marker.end() :]) if marker else (text, "")


def _diagnostic(notice: str, recipient: str) -> str:
    """What a plain notice says about ``recipient``: the lines under the one naming it (Exim,
    qmail, Exchange indent the server's answer there), else the lines with a status code."""
    lines = notice.splitlines()
    for i, line in enumerate(lines):
        if recipient and recipient in line.lower():
            block = []
            for following in lines[i + 1 : i + 6]:
                if not following.strip():
                    break
                block.append(following.strip())
            if block:
                return " ".join(block)[:1000]
    kept = [ln.strip() for ln in lines if ln.strip()]
    coded = [ln for ln in kept if ENHANCED_STATUS.search(ln) or SMTP_REPLY.search(ln)]
    if not coded:
        coded = [
            ln
            for ln in kept
            if re.search(r"not found|unknown|does not exist|rejected|refused|full", ln, re.I)
        ]
    return " ".join(coded[:2])[:1000]


def _text_failures(message: InboundEmail, permanent: bool) -> list[Failure]:
    notice, _ = _notice_part(message.text)
    skip = {message.sender_email, *(a.lower() for a in message.to)}
    named = [a.strip(".").lower() for a in ADDRESS.findall(notice)]
    named += [
        a.strip().lower()
        for a in message.headers.get("x-failed-recipients", "").split(",")
        if a.strip()
    ]
    found = [a for a in dict.fromkeys(named) if a not in skip and not DAEMON_SENDER.match(a)]
    return [
        Failure(
            recipient=a,
            status=_status(_diagnostic(notice, a)),
            diagnostic=_diagnostic(notice, a),
            permanent=permanent,
        )
        for a in found[:50]
    ]


def _permanent(action: str, status: str) -> bool:
    if action in {"delayed", "delivered", "relayed", "expanded"}:
        return False
    return not status.startswith(("4", "2"))


def _returned_ids(message: InboundEmail) -> tuple[str, ...]:
    ids = []
    if returned := message.returned_headers.get("message-id"):
        ids += re.findall(r"<[^<>\s]+>", returned)
    _, quoted = _notice_part(message.text)
    ids += MESSAGE_ID_LINE.findall(quoted or message.text[:TEXT_SCAN])
    ids += [*message.in_reply_to, *message.references]
    return tuple(dict.fromkeys(i for i in ids if i != message.message_id))


def _returned_references(message: InboundEmail) -> tuple[str, ...]:
    refs = []
    headers = message.returned_headers
    if headers.get("x-demarche-reference"):
        refs.append(normalise_reference(headers["x-demarche-reference"]))
    for name in ("reply-to", "from", "to"):
        for address in re.findall(r"[^\s<>,;\"]+@[^\s<>,;\"]+", headers.get(name, "")):
            if ref := reference_from_address(address):
                refs.append(ref)
    text = message.text[:TEXT_SCAN]
    refs += [normalise_reference(r) for r in REFERENCE_LINE.findall(text)]
    refs += [r for a in ADDRESS.findall(text) if "+" in a and (r := reference_from_address(a))]
    refs += [normalise_reference(r) for r in message.plus_references]
    return tuple(dict.fromkeys(refs))


def classify(message: InboundEmail) -> Automatic | None:
    """An auto-reply or a delivery report, with what it says; None for anything else."""
    sign = bounce_sign(message)
    if sign:
        failures = [
            Failure(
                recipient=r.recipient,
                status=r.status,
                diagnostic=r.diagnostic,
                permanent=_permanent(r.action, r.status),
            )
            for r in message.delivery_reports
        ]
        if not failures:
            delayed = bool(DELAY_WORDS.search(message.subject)) or bool(
                DELAY_WORDS.search(_notice_part(message.text)[0])
                and not re.search(r"permanent|5\.\d{1,3}\.\d{1,3}", message.text[:TEXT_SCAN])
            )
            failures = _text_failures(message, permanent=not delayed)
            if not failures:
                failures = [
                    Failure("", _status(message.text[:TEXT_SCAN]), "", permanent=not delayed)
                ]
        permanent = any(f.permanent for f in failures)
        late = any(f.status.startswith("4") for f in failures) or any(
            r.action == "delayed" for r in message.delivery_reports
        )
        return Automatic(
            kind=ReplyKind.bounce if permanent else ReplyKind.auto_reply,
            why=sign
            if permanent
            else f"{sign}: " + ("delivery delayed, not failed" if late else "no failed recipient"),
            failures=tuple(f for f in failures if f.permanent or not permanent),
            message_ids=_returned_ids(message),
            references=_returned_references(message),
        )
    sign = auto_reply_sign(message)
    if sign:
        return Automatic(kind=ReplyKind.auto_reply, why=sign)
    return None


# --- the letters a bounce is about, and the failing addresses -------------------------------


@dataclass(frozen=True)
class BouncedLetter:
    letter: Letter
    matched_by: str  # "message-id", "reference", "failed recipient"
    failure: Failure

    @property
    def reason(self) -> str:
        who = self.failure.recipient or self.letter.email_to
        return f"{who}: {self.failure.reason}" if who else self.failure.reason


def _failure_for(failures: Sequence[Failure], address: str) -> Failure:
    address = address.lower()
    for failure in failures:
        if failure.recipient == address:
            return failure
    return failures[0] if failures else Failure(address, "", "", permanent=True)


def letters_bounced(session: Session, automatic: Automatic) -> list[BouncedLetter]:
    """The letters a delivery report is about: by the Message-ID of the message it returns,
    else by the letter reference it carries, else by the failed address (the latest letter
    sent by email to it)."""
    failures = list(automatic.failures)
    if automatic.message_ids:
        found = session.scalars(
            select(Letter)
            .where(Letter.email_message_id.in_(automatic.message_ids[:50]))
            .order_by(Letter.id)
        ).all()
        if found:
            return [
                BouncedLetter(lt, "message-id", _failure_for(failures, lt.email_to)) for lt in found
            ]
    if automatic.references:
        column = func.upper(func.replace(Letter.reference, "-", "/"))
        found = session.scalars(
            select(Letter)
            .where(column.in_(automatic.references[:50]), Letter.channel == Channel.email)
            .order_by(Letter.id)
        ).all()
        if found:
            return [
                BouncedLetter(lt, "reference", _failure_for(failures, lt.email_to)) for lt in found
            ]
    out: list[BouncedLetter] = []
    for failure in failures:
        if not failure.recipient:
            continue
        letter = session.scalar(
            select(Letter)
            .where(
                fold(Letter.email_to) == failure.recipient,
                Letter.channel == Channel.email,
                Letter.status.in_((LetterStatus.sent, LetterStatus.bounced)),
            )
            .order_by(Letter.sent_at.desc(), Letter.id.desc())
            .limit(1)
        )
        if letter is not None and all(b.letter.id != letter.id for b in out):
            out.append(BouncedLetter(letter, "failed recipient", failure))
    return out


def _points(session: Session, address: str) -> list[ContactPoint]:
    return list(
        session.scalars(
            select(ContactPoint)
            .where(
                ContactPoint.kind == ContactKind.email,
                fold(ContactPoint.value) == address.strip().lower(),
            )
            .order_by(ContactPoint.id)
        )
    )


def _owner(cp: ContactPoint) -> tuple[str, int | None]:
    if cp.person_id is not None:
        return "person", cp.person_id
    return "organisation", cp.organisation_id


def flag_failing(
    session: Session, *, address: str, reason: str, on: date, actor: User | None = None
) -> list[ContactPoint]:
    """Mark the directory's email contact points with this address as failing since ``on``
    (the first failure's day is kept; the reason is the latest)."""
    points = _points(session, address) if address else []
    for cp in points:
        if cp.failing_since is None:
            cp.failing_since = on
        cp.failure_reason = reason[:500]
        kind, owner = _owner(cp)
        audit.record(
            session,
            user=actor,
            action="contact_point.failing",
            entity_type=kind,
            entity_id=owner,
            summary=f"Email to {cp.value} bounced: {reason}"[:500],
            details={"contact_point_id": cp.id},
        )
    session.flush()
    return points


def clear_failing(session: Session, *, contact_point_id: int, actor: User | None) -> ContactPoint:
    """Someone checked the address (or it works again): merges stop warning about it."""
    cp = session.get(ContactPoint, contact_point_id)
    if cp is None:
        raise NotFound(f"No contact point has the id {contact_point_id}.")
    was = cp.failure_reason
    cp.failing_since = None
    cp.failure_reason = ""
    session.flush()
    kind, owner = _owner(cp)
    audit.record(
        session,
        user=actor,
        action="contact_point.failing_cleared",
        entity_type=kind,
        entity_id=owner,
        summary=f"{cp.value} no longer flagged as failing" + (f" (was: {was})" if was else ""),
        details={"contact_point_id": cp.id},
    )
    return cp


def failing_addresses(session: Session, addresses: Iterable[str] | None = None) -> dict[str, str]:
    """Lower-case address → "failing since 3 March 2024: 5.1.1 user unknown", for the email
    contact points flagged by a bounce (only those in ``addresses`` when given)."""
    query = select(
        ContactPoint.value, ContactPoint.failing_since, ContactPoint.failure_reason
    ).where(ContactPoint.kind == ContactKind.email, ContactPoint.failing_since.is_not(None))
    if addresses is not None:
        wanted = list({a.strip().lower() for a in addresses if a})
        if not wanted:
            return {}
        query = query.where(fold(ContactPoint.value).in_(wanted))
    out: dict[str, str] = {}
    for value, since, reason in session.execute(query.order_by(ContactPoint.failing_since)):
        out.setdefault(value.strip().lower(), failing_text(since, reason))
    return out


def failing_for_letters(session: Session, letter_ids: Sequence[int]) -> dict[str, str]:
    """The failing addresses among those these letters go to by email."""
    if not letter_ids:
        return {}
    addresses = session.scalars(select(Letter.email_to).where(Letter.id.in_(letter_ids)))
    return failing_addresses(session, list(addresses))


def failing_text(since: date | None, reason: str) -> str:
    when = f"{since.day} {since.strftime('%B %Y')}" if since else "recently"
    return f"failing since {when}" + (f": {reason}" if reason else "")
