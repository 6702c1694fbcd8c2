"""Sending through a real SMTP server on loopback: delivery, retries, permanent failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from app.config import get_settings
from app.mail import service
from app.mail.service import Attachment
from app.models import OutboxStatus
from app.models.base import utcnow
from tests.support.live import free_port
from tests.support.smtp import Mailbox, payload, smtp_server


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with smtp_server() as (url, box):
        monkeypatch.setattr(get_settings(), "smtp_url", url)
        yield box


def _queue(db: Session, to: str = "minister@mfa.example", **kwargs: object) -> int:
    message = service.build_message(
        to=[to],
        subject="Convention on Cluster Munitions",
        text="Excellency,\n\nplain text",
        html="<p>Excellency,</p>",
        reply_to="replies+CMC-2010-TJK-0001@cmc.example",
        attachments=[Attachment("CMC-2010-TJK-0001.pdf", b"%PDF-1.7 letter")],
    )
    row = service.enqueue(db, message, subject_type="test", subject_id=1)
    db.commit()
    return row.id


def test_delivers_once_with_html_text_attachment_and_reply_to(db: Session, smtp: Mailbox) -> None:
    outbox_id = _queue(db)
    assert service.deliver(outbox_id) == OutboxStatus.sent
    assert service.deliver(outbox_id) == OutboxStatus.sent  # a second job does nothing
    assert len(smtp.messages) == 1
    msg = smtp.messages[0]
    db.expire_all()
    row = service.get(db, outbox_id)
    assert msg["Message-ID"] == row.message_id
    assert msg["Reply-To"] == "replies+CMC-2010-TJK-0001@cmc.example"
    parts = {p.get_content_type(): p for p in msg.walk()}
    assert {"text/plain", "text/html", "application/pdf"} <= set(parts)
    assert parts["application/pdf"].get_filename() == "CMC-2010-TJK-0001.pdf"
    assert row.sent_at is not None and row.server_reply.startswith("250")


def test_temporary_failure_is_retried_with_back_off(db: Session, smtp: Mailbox) -> None:
    smtp.scripted.append("451 4.3.0 Mailbox busy, try later")
    outbox_id = _queue(db)
    assert service.deliver(outbox_id) == OutboxStatus.retry
    db.expire_all()
    row = service.get(db, outbox_id)
    assert "451" in row.last_error
    assert row.next_attempt_at is not None and row.next_attempt_at > utcnow()
    assert service.due(db) == []
    assert service.due(db, now=utcnow() + timedelta(hours=1)) == [outbox_id]
    assert service.deliver(outbox_id) == OutboxStatus.sent
    assert len(smtp.messages) == 1


def test_permanent_failure_is_not_retried(db: Session, smtp: Mailbox) -> None:
    outbox_id = _queue(db, to="rejected@mfa.example")
    assert service.deliver(outbox_id) == OutboxStatus.failed
    db.expire_all()
    assert "550" in service.get(db, outbox_id).last_error
    assert smtp.messages == []


def test_server_down_then_back(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "smtp_url", f"smtp://127.0.0.1:{free_port()}")
    outbox_id = _queue(db)
    assert service.deliver(outbox_id) == OutboxStatus.retry
    with smtp_server() as (url, box):
        monkeypatch.setattr(get_settings(), "smtp_url", url)
        assert service.deliver(outbox_id) == OutboxStatus.sent
    assert len(box.messages) == 1


def test_dot_lines_survive_transparency(db: Session, smtp: Mailbox) -> None:
    message = service.build_message(to=["a@mfa.example"], subject="dots", text=".\n..\nend\n")
    row = service.enqueue(db, message)
    db.commit()
    service.deliver(row.id)
    assert payload(smtp.messages[0]).replace(b"\r\n", b"\n") == b".\n..\nend\n"
