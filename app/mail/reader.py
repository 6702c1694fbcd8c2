"""Reading one email into plain data, run in a child process with its own limits.

``python -I -c ...`` starts this module's ``main``: it caps its own address space and CPU time,
asks the kernel to kill it when its parent dies, reads the raw message from stdin, and writes
the result to stdout. A message that blows up the email package then costs the child, never the
web process or the mailbox poller (see ``app.mail.inbound.parse``).

Standard library only, so that the child starts in a few tens of milliseconds.
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import json
import re
import struct
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from app.mail.limits import DEFAULT_LIMITS, BoundExceeded, Limits, count_words, prescan
from app.platform import children

# replies+CMC-2010-TJK-0001@domain → CMC-2010-TJK-0001 (letter references use / in print and - in
# addresses; the matcher accepts both).
REPLY_ADDRESS = re.compile(r"\+([A-Za-z0-9][A-Za-z0-9._-]{2,80})@", re.ASCII)
# Headers kept as they are, for telling auto-replies and bounces from replies.
KEPT_HEADERS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "precedence",
    "x-failed-recipients",
    "return-path",
)
# Of the message a bounce returns: what finds the letter it was.
RETURNED_HEADERS = ("message-id", "to", "from", "reply-to", "x-demarche-reference", "subject")
MAX_REPORTS = 200


class NotAnEmail(Exception):
    """The bytes are not an RFC 5322 message (no headers, empty, unreadable)."""


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class DeliveryReport:
    """One recipient's block of an RFC 3464 message/delivery-status part."""

    recipient: str  # Final-Recipient (or Original-Recipient), the address alone
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # 5.1.1
    diagnostic: str  # Diagnostic-Code, e.g. "smtp; 550 5.1.1 User unknown"


@dataclass(frozen=True)
class InboundEmail:
    message_id: str
    subject: str
    sender_name: str
    sender_email: str
    to: list[str]
    date: datetime | None
    in_reply_to: list[str]
    references: list[str]
    plus_references: list[str]  # from replies+REF@ addresses among the recipients
    text: str
    attachments: list[InboundAttachment] = field(default_factory=list)
    # Lower-case name → value, for KEPT_HEADERS present in the message.
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = ""
    report_type: str = ""  # of a multipart/report: "delivery-status", "disposition-notification"
    delivery_reports: list[DeliveryReport] = field(default_factory=list)
    # Headers of the message a delivery report returns (message/rfc822, text/rfc822-headers).
    returned_headers: dict[str, str] = field(default_factory=dict)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "head"}:
            self._skip += 1
        elif tag in {"br", "p", "div", "tr", "li", "h1", "h2", "h3"}:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+", " ", text)).strip()


def _ids(value: str | None) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


def check_structure(msg: Message, limits: Limits = DEFAULT_LIMITS) -> None:
    """The bounds again, on the tree the parser built (its reading of a malformed message may
    differ from the raw scan's). Iterative: a deep tree cannot exhaust the stack."""
    parts = 0
    words = 0
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        parts += 1
        if parts > limits.max_parts:
            raise BoundExceeded(f"The email has more than {limits.max_parts} MIME parts.")
        if depth > limits.max_depth:
            raise BoundExceeded(f"The email nests parts more than {limits.max_depth} levels deep.")
        items = part.raw_items() if isinstance(part, EmailMessage) else part.items()
        for fields, (name, value) in enumerate(items, start=1):
            if fields > limits.max_header_fields:
                raise BoundExceeded(
                    f"A header block of the email has more than {limits.max_header_fields} fields."
                )
            if len(value) > limits.max_header_bytes:
                raise BoundExceeded(
                    f"The email's {name} field is longer than {limits.max_header_bytes} bytes."
                )
            n = count_words(str(value))
            words += n
            if n > limits.max_encoded_words_per_field or words > limits.max_encoded_words:
                raise BoundExceeded(f"The email's {name} field holds too many encoded words.")
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))


def _header(msg: Message, name: str) -> str:
    value = msg.get(name)
    return str(value).strip()[:2000] if value is not None else ""


def _address(value: str) -> str:
    """The address of "rfc822; Name@Example.org" or "<a@b>", lower-cased."""
    value = value.split(";", 1)[-1].strip()
    return parseaddr(value)[1].lower() or value.strip("<> ").lower()


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    # Some servers encode the report (base64): read its blocks from the decoded text.
    raw = part.get_payload(decode=True)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
    parser = email.parser.HeaderParser(policy=email.policy.compat32)
    return [parser.parsestr(block) for block in re.split(r"\r?\n\r?\n", text) if block.strip()]


def _delivery_reports(msg: Message) -> list[DeliveryReport]:
    reports: list[DeliveryReport] = []
    for part in msg.walk():
        if part.get_content_type() not in {
            "message/delivery-status",
            "message/global-delivery-status",
        }:
            continue
        for block in _status_blocks(part):
            recipient = _header(block, "Final-Recipient") or _header(block, "Original-Recipient")
            if not recipient:
                continue  # the per-message block (Reporting-MTA, Arrival-Date)
            reports.append(
                DeliveryReport(
                    recipient=_address(recipient)[:320],
                    action=_header(block, "Action").lower()[:40],
                    status=_header(block, "Status")[:40],
                    diagnostic=" ".join(_header(block, "Diagnostic-Code").split())[:1000],
                )
            )
            if len(reports) >= MAX_REPORTS:
                return reports
    return reports


def _returned_headers(msg: Message) -> dict[str, str]:
    """Headers of the message a bounce sends back, attached whole or as its headers only."""
    for part in msg.walk():
        kind = part.get_content_type()
        returned: Message | None = None
        if kind in {"message/rfc822", "message/global"}:
            payload = part.get_payload()
            first = payload[0] if isinstance(payload, list) and payload else None
            returned = first if isinstance(first, Message) else None
        elif kind in {"text/rfc822-headers", "message/global-headers"}:
            raw = part.get_payload(decode=True)
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
            returned = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text)
        if returned is not None and len(returned):
            return {n: v for n in RETURNED_HEADERS if (v := _header(returned, n))}
    return {}


def read(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> InboundEmail:
    """Parse an RFC 5322 message within ``limits`` (in this process: call it in the child)."""
    prescan(raw, limits)
    if not raw.strip():
        raise NotAnEmail("The file is empty.")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - the email package raises many kinds on bad input
        raise NotAnEmail(f"This is not a readable email: {exc}") from exc
    assert isinstance(msg, EmailMessage)
    check_structure(msg, limits)
    if not msg.keys() or (msg["From"] is None and msg["Message-ID"] is None):
        raise NotAnEmail("This file is not an email: it has no From or Message-ID header.")
    try:
        sender_name, sender_email = parseaddr(str(msg["From"] or ""))
        recipients = [
            addr for _, addr in getaddresses([str(msg[h]) for h in ("To", "Cc") if msg[h]]) if addr
        ]
        subject = str(msg["Subject"] or "")
        date_header = msg["Date"]
        headers = {name: _header(msg, name) for name in KEPT_HEADERS if msg[name] is not None}
        report_type = str(msg.get_param("report-type", "") or "").lower()
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - malformed headers raise from the header registry
        raise NotAnEmail(f"The email has malformed headers: {exc}") from exc
    try:
        date = parsedate_to_datetime(str(date_header)) if date_header else None
    except (TypeError, ValueError):
        date = None
    text = ""
    attachments: list[InboundAttachment] = []
    try:
        body = msg.get_body(preferencelist=("plain", "html"))
        if body is not None:
            content = body.get_content()
            text = html_to_text(content) if body.get_content_type() == "text/html" else content
        for part in msg.iter_attachments():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                attachments.append(
                    InboundAttachment(
                        filename=part.get_filename() or "attachment",
                        content_type=part.get_content_type(),
                        content=payload,
                    )
                )
        reports = _delivery_reports(msg)
        returned = _returned_headers(msg)
    except (LookupError, ValueError, AttributeError, TypeError) as exc:
        raise NotAnEmail(f"The email body cannot be read: {exc}") from exc
    plus = [m.group(1) for addr in recipients if (m := REPLY_ADDRESS.search(addr))]
    return InboundEmail(
        message_id=str(msg["Message-ID"] or "").strip(),
        subject=subject[:500],
        sender_name=sender_name,
        sender_email=sender_email.lower(),
        to=recipients,
        date=date,
        in_reply_to=_ids(str(msg["In-Reply-To"] or "")),
        references=_ids(str(msg["References"] or "")),
        plus_references=plus,
        text=text.strip(),
        attachments=attachments,
        headers=headers,
        content_type=msg.get_content_type(),
        report_type=report_type,
        delivery_reports=reports,
        returned_headers=returned,
    )


# --- the child process and what it writes back ---------------------------------------------
# stdout: 8-byte big-endian length, a JSON document of that length, then the attachments'
# bytes one after the other (their sizes are in the JSON).


def encode(result: InboundEmail) -> bytes:
    data = asdict(result)
    data["date"] = result.date.isoformat() if result.date else None
    data["attachments"] = [
        {"filename": a.filename, "content_type": a.content_type, "size": len(a.content)}
        for a in result.attachments
    ]
    head = json.dumps({"ok": True, "email": data}, ensure_ascii=True).encode()
    return struct.pack(">Q", len(head)) + head + b"".join(a.content for a in result.attachments)


def encode_error(kind: str, reason: str) -> bytes:
    head = json.dumps({"ok": False, "kind": kind, "reason": reason[:1000]}).encode()
    return struct.pack(">Q", len(head)) + head


def decode(out: bytes) -> InboundEmail | tuple[str, str]:
    """What the child wrote: the email, or (kind, reason) of a refusal."""
    (length,) = struct.unpack(">Q", out[:8])
    head: dict[str, Any] = json.loads(out[8 : 8 + length])
    if not head.get("ok"):
        return str(head["kind"]), str(head["reason"])
    data = head["email"]
    pos = 8 + length
    attachments = []
    for a in data["attachments"]:
        attachments.append(
            InboundAttachment(a["filename"], a["content_type"], out[pos : pos + a["size"]])
        )
        pos += a["size"]
    data["attachments"] = attachments
    data["date"] = datetime.fromisoformat(data["date"]) if data["date"] else None
    data["delivery_reports"] = [DeliveryReport(**r) for r in data["delivery_reports"]]
    return InboundEmail(**data)


def main(argv: list[str] | None = None) -> None:
    """Child entry: argv = [parent pid, JSON of the Limits]."""
    args = sys.argv[1:] if argv is None else argv
    parent = int(args[0])
    limits = Limits(**json.loads(args[1]))
    children.die_with_parent(parent, own_group=False)
    children.limit_resources(
        memory_bytes=limits.memory_bytes, cpu_seconds=int(limits.timeout_seconds) + 1
    )
    out = sys.stdout.buffer
    try:
        raw = sys.stdin.buffer.read(limits.max_bytes + 1)
        result = encode(read(raw, limits))
    except BoundExceeded as exc:
        result = encode_error("too_large" if exc.too_large else "bound", exc.reason)
    except NotAnEmail as exc:
        result = encode_error("not_email", str(exc))
    except MemoryError:
        result = encode_error(
            "memory",
            f"Reading the email needs more than {limits.memory_bytes // (1024 * 1024)} MB.",
        )
    except RecursionError:
        result = encode_error("bound", "The email nests its parts too deeply to be read.")
    except Exception as exc:  # noqa: BLE001 - whatever the email package raises, said clearly
        result = encode_error("not_email", f"This email cannot be read ({type(exc).__name__}).")
    out.write(result)
    out.flush()
