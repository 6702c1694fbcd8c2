"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts."""

from __future__ import annotations

import email
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.ports import free_port


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    # Replies to give instead of accepting, consumed one per DATA (e.g. "451 4.3.0 Try later").
    scripted: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:  # noqa: N802,E501
        if address.startswith("reject"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.box.lock:
            if self.box.scripted:
                return self.box.scripted.pop(0)
            self.box.messages.append(email.message_from_bytes(envelope.content))
            self.box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 Queued"


@contextmanager
def smtp_server() -> Iterator[tuple[str, Mailbox]]:
    """Yields (smtp:// URL, mailbox)."""
    box = Mailbox()
    port = free_port()
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}?starttls=never", box
    finally:
        controller.stop()


def payload(part: Message) -> bytes:
    """One part's body with its transfer encoding (base64, quoted-printable) undone."""
    body = part.get_payload(decode=True)
    assert isinstance(body, bytes), f"{part.get_content_type()} is a multipart, not a body"
    return body
