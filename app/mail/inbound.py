"""Reading incoming email (.eml uploads or an IMAP mailbox) into plain data for reply logging."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from app.errors import InvalidInput

MAX_EML_BYTES = 25 * 1024 * 1024
# replies+CMC-2010-TJK-0001@domain → CMC-2010-TJK-0001 (letter references use / in print and - in
# addresses; the matcher accepts both).
REPLY_ADDRESS = re.compile(r"\+([A-Za-z0-9][A-Za-z0-9._-]{2,80})@", re.ASCII)


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes


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


def parse(raw: bytes) -> InboundEmail:
    """Parse an RFC 5322 message; refuses what is not one with a clear message."""
    if len(raw) > MAX_EML_BYTES:
        raise InvalidInput(f"The email is larger than {MAX_EML_BYTES // (1024 * 1024)} MB.")
    if not raw.strip():
        raise InvalidInput("The file is empty.")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # noqa: BLE001 - the email package raises many kinds on bad input
        raise InvalidInput(f"This is not a readable email: {exc}") from exc
    assert isinstance(msg, EmailMessage)
    if not msg.keys() or (msg["From"] is None and msg["Message-ID"] is None):
        raise InvalidInput("This file is not an email: it has no From or Message-ID header.")
    try:
        sender_name, sender_email = parseaddr(str(msg["From"] or ""))
        recipients = [
            addr for _, addr in getaddresses([str(msg[h]) for h in ("To", "Cc") if msg[h]]) if addr
        ]
        subject = str(msg["Subject"] or "")
        date_header = msg["Date"]
    except Exception as exc:  # noqa: BLE001 - malformed headers raise from the header registry
        raise InvalidInput(f"The email has malformed headers: {exc}") from exc
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
    except (LookupError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"The email body cannot be read: {exc}") from exc
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
    )
