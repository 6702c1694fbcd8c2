"""Letters by email through a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from app.config import get_settings
from app.correspondence import lifecycle, sending, service, tasks
from app.correspondence.addressing import address_token, reference_from_address
from app.mail import service as mail_service
from app.models import Channel, Letter, LetterStatus, Role, User
from app.models.base import utcnow
from tests.correspondence.helpers import make_letter, person_with_email
from tests.factories import make_user
from tests.support.smtp import Mailbox, payload, smtp_server


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with smtp_server() as (url, box):
        monkeypatch.setattr(get_settings(), "smtp_url", url)
        yield box


def _approved(db: Session, email: str = "minister@mfa.example") -> tuple[Letter, User]:
    user = make_user(db, Role.coordinator)
    letter = make_letter(db, person_with_email(db, email=email))
    lifecycle.approve(db, letter_id=letter.id, actor=user)
    return letter, user


def _send(db: Session, letter: Letter, user: User) -> str:
    sending.send(db, letter_id=letter.id, channel=Channel.email, actor=user)
    assert service.display_status(letter) == "sending"
    db.commit()
    status = tasks.deliver_letter(letter.id)
    db.expire_all()
    return status


def test_email_has_pdf_html_text_message_id_and_reply_to(db: Session, smtp: Mailbox) -> None:
    letter, user = _approved(db)
    assert _send(db, letter, user) == "sent"
    assert len(smtp.messages) == 1
    msg = smtp.messages[0]
    letter = service.get(db, letter.id)
    assert letter.status == LetterStatus.sent
    assert msg["Message-ID"] == letter.email_message_id != ""
    assert msg["Reply-To"] == f"replies+{address_token(letter.reference)}@demarche.example"
    assert reference_from_address(str(msg["Reply-To"])) == address_token(letter.reference)
    assert msg["Subject"] == "Joining the Convention on Cluster Munitions"
    parts = {p.get_content_type(): p for p in msg.walk()}
    assert {"text/plain", "text/html", "application/pdf"} <= set(parts)
    assert payload(parts["application/pdf"]).startswith(b"%PDF")
    assert "Tajikistan" in payload(parts["text/plain"]).decode()
    assert "<p>Excellency,</p>" in payload(parts["text/html"]).decode()
    assert letter.sent_on is not None and letter.reply_due_on == letter.sent_on + timedelta(30)
    # Running the job again sends nothing more.
    tasks.deliver_letter(letter.id)
    assert len(smtp.messages) == 1


def test_temporary_failure_is_retried_then_sent(db: Session, smtp: Mailbox) -> None:
    smtp.scripted.append("451 4.3.0 Mailbox busy, try later")
    letter, user = _approved(db)
    assert _send(db, letter, user) == "sending"
    outbox = mail_service.get(db, service.get(db, letter.id).outbox_id or 0)
    assert outbox.status.value == "retry" and "451" in outbox.last_error
    # The back-off passes; the sweep delivers it.
    outbox.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.commit()
    tasks.sweep()
    db.expire_all()
    assert service.get(db, letter.id).status == LetterStatus.sent
    assert len(smtp.messages) == 1


def test_permanent_failure_marks_the_letter_failed(db: Session, smtp: Mailbox) -> None:
    letter, user = _approved(db, email="rejected@mfa.example")
    assert _send(db, letter, user) == "failed"
    letter = service.get(db, letter.id)
    assert "550" in letter.sent_note
    assert smtp.messages == []
    # It can be sent again once the address is corrected (a new email, a new Message-ID).
    sending.send(db, letter_id=letter.id, channel=Channel.email, actor=user)
    assert letter.outbox_id is None and service.display_status(letter) == "sending"


def test_batch_send_skips_letters_without_email_and_says_why(db: Session, smtp: Mailbox) -> None:
    from tests.correspondence.helpers import make_campaign

    user = make_user(db, Role.coordinator)
    campaign = make_campaign(db, user)
    ok = [
        make_letter(db, person_with_email(db, email=f"m{n}@mfa.example"), campaign_id=campaign.id)
        for n in range(3)
    ]
    refused = make_letter(db, person_with_email(db, no_email=True), campaign_id=campaign.id)
    for letter in [*ok, refused]:
        lifecycle.approve(db, letter_id=letter.id, actor=user)
    outcome = sending.send_approved(db, actor=user, campaign_id=campaign.id)
    assert outcome.queued == [letter.id for letter in ok]
    assert outcome.skipped[0]["reference"] == refused.reference
    db.commit()
    tasks.send_letters.call_local(outcome.queued)
    assert len(smtp.messages) == 3
    assert sorted(e[1][0] for e in smtp.envelopes) == [
        "m0@mfa.example",
        "m1@mfa.example",
        "m2@mfa.example",
    ]


@pytest.mark.parametrize("delivered", [True, False])
def test_uncertain_email_is_settled_by_a_coordinator(
    db: Session, smtp: Mailbox, delivered: bool
) -> None:
    from app.models import OutboxStatus

    letter, user = _approved(db)
    sending.send(db, letter_id=letter.id, channel=Channel.email, actor=user)
    outbox_id = sending.queue_email(db, letter_id=letter.id)
    assert outbox_id is not None
    row = mail_service.get(db, outbox_id)
    row.status = OutboxStatus.uncertain
    row.last_error = "Worker stopped while the server was accepting the message"
    db.commit()
    assert service.display_status(letter) == "sending"
    sending.resolve_uncertain(db, letter_id=letter.id, delivered=delivered, actor=user)
    db.commit()
    if delivered:
        assert letter.status == LetterStatus.sent and smtp.messages == []
    else:
        assert tasks.deliver_letter(letter.id) == "sent"
        assert smtp.message_ids() == [letter.email_message_id]
