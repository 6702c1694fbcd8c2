"""A letter's email is sent as the organisation, in the letter's language: From, signatory and
reference footer (through a real SMTP server on loopback)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from email.header import decode_header, make_header
from email.message import Message

import pytest
from sqlalchemy.orm import Session

from app.config import get_settings
from app.correspondence import lifecycle, sending, tasks
from app.correspondence.addressing import address_token
from app.correspondence.message import footer_text
from app.letters.context import LABELS, SAMPLE_TRANSLATIONS, build_context, sender_from_profile
from app.models import Channel, Letter, Role
from app.settings_admin import service as profile_service
from app.settings_admin.schemas import ProfileUpdate
from tests.correspondence.helpers import person_with_email
from tests.factories import make_user
from tests.support.smtp import Mailbox, payload, smtp_server

BODIES = {
    "ru": "<p>{{ recipient.salutation }}</p><p>Просим Вас присоединиться к Конвенции.</p>"
    '<p class="closing">С уважением,</p>',
    "en": "<p>{{ recipient.salutation }}</p><p>We ask you to join the Convention.</p>"
    '<p class="closing">Yours sincerely,</p>',
}
SALUTATIONS = {"ru": "Ваше Превосходительство!", "en": "Excellency,"}


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with smtp_server() as (url, box):
        monkeypatch.setattr(get_settings(), "smtp_url", url)
        yield box


def _profile(db: Session, *, email: str = "info@cmc.example") -> None:
    profile_service.update_profile(
        db,
        data=ProfileUpdate(
            name="Cluster Munition Coalition",
            short_name="CMC",
            address="Maison de la Paix\n1202 Geneva\nSwitzerland",
            country_code="CH",
            email=email,
            signatory_name="Thomas Nash",
            signatory_title="Coordinator",
            reference_prefix="CMC",
            translations={k: v for k, v in SAMPLE_TRANSLATIONS.items() if k != "en"},
        ),
        actor=None,
    )


def _letter(db: Session, language: str) -> Letter:
    sender, signatory = sender_from_profile(profile_service.get_profile(db))
    reference = f"CMC/2010/TJK/{uuid.uuid4().int % 10**6:06d}"
    person = person_with_email(db, email=f"{uuid.uuid4().hex[:8]}@mfa.example")
    letter = Letter(
        reference=reference,
        person_id=person.id,
        recipient_key=f"person:{person.id}",
        recipient_name="H.E. the Minister",
        language=language,
        context=build_context(
            language=language,
            letter_date=date(2010, 3, 25),
            reference=reference,
            recipient={"salutation": SALUTATIONS.get(language, "Excellency,")},
            sender=sender,
            signatory=signatory,
        ),
        subject="CCM",
        body_html=BODIES.get(language, BODIES["en"]),
    )
    db.add(letter)
    db.flush()
    return letter


def _deliver(db: Session, letter: Letter, box: Mailbox) -> Message:
    user = make_user(db, Role.coordinator)
    lifecycle.approve(db, letter_id=letter.id, actor=user)
    sending.send(db, letter_id=letter.id, channel=Channel.email, actor=user)
    db.commit()
    assert tasks.deliver_letter(letter.id) == "sent"
    assert len(box.messages) == 1
    return box.messages[0]


def _decoded(value: object) -> str:
    return str(make_header(decode_header(str(value))))


def _text(msg: Message) -> str:
    parts = {p.get_content_type(): p for p in msg.walk()}
    return payload(parts["text/plain"]).decode().replace("\r\n", "\n")


def _html(msg: Message) -> str:
    parts = {p.get_content_type(): p for p in msg.walk()}
    return payload(parts["text/html"]).decode().replace("\r\n", "\n")


def test_russian_letter_is_sent_as_the_coalition_in_russian(db: Session, smtp: Mailbox) -> None:
    _profile(db)
    letter = _letter(db, "ru")
    msg = _deliver(db, letter, smtp)
    assert _decoded(msg["From"]) == "Коалиция против кассетных боеприпасов <info@cmc.example>"
    text = _text(msg)
    body, footer = text.split("\n--\n")
    assert body.rstrip().endswith(
        "С уважением,\n\nТомас Нэш\nКоординатор\nКоалиция против кассетных боеприпасов"
    )
    assert footer.strip() == (
        f"Наш исходящий номер: {letter.reference}. Просим ссылаться на него в ответе."
    )
    assert "reference" not in text.lower() and "Coalition" not in text
    html = _html(msg)
    assert '<html lang="ru" dir="ltr">' in html
    assert "Томас Нэш<br>Координатор<br>Коалиция против кассетных боеприпасов" in html
    assert "Просим ссылаться на него в ответе." in html
    # Replies still find the letter; bounces still go to the configured sender.
    token = address_token(letter.reference)
    assert msg["Reply-To"] == f"replies+{token}@demarche.example"
    assert smtp.envelopes[0][0] == "noreply@demarche.example"


def test_english_letter_is_sent_as_the_coalition_in_english(db: Session, smtp: Mailbox) -> None:
    _profile(db)
    letter = _letter(db, "en")
    msg = _deliver(db, letter, smtp)
    assert _decoded(msg["From"]) == "Cluster Munition Coalition <info@cmc.example>"
    body, footer = _text(msg).split("\n--\n")
    assert body.rstrip().endswith(
        "Yours sincerely,\n\nThomas Nash\nCoordinator\nCluster Munition Coalition"
    )
    assert footer.strip() == (f"Our reference: {letter.reference}. Please quote it in your reply.")
    token = address_token(letter.reference)
    assert msg["Reply-To"] == f"replies+{token}@demarche.example"


def test_profile_without_email_sends_from_the_configured_address(
    db: Session, smtp: Mailbox
) -> None:
    _profile(db, email="")
    msg = _deliver(db, _letter(db, "fr"), smtp)
    assert _decoded(msg["From"]) == "Coalition contre les sous-munitions <noreply@demarche.example>"
    assert "Coordinateur\nCoalition contre les sous-munitions\n\n--\n" in _text(msg)


@pytest.mark.parametrize(
    ("language", "wording"),
    [
        ("en", "Our reference: {ref}. Please quote it in your reply."),
        ("fr", "Notre référence : {ref}. Merci de la rappeler dans votre réponse."),
        ("es", "Nuestra referencia: {ref}. Le rogamos que la cite en su respuesta."),
        ("ru", "Наш исходящий номер: {ref}. Просим ссылаться на него в ответе."),
        ("ar", "مرجعنا: \u2066{ref}\u2069. يرجى ذكره في ردكم."),
        ("zh", "我方编号：{ref}。请在回复中注明。"),
    ],
)
def test_reference_footer_in_each_letter_language(language: str, wording: str) -> None:
    letter = Letter(reference="CMC/2010/TJK/0001", language=language)
    assert footer_text(letter) == wording.format(ref="CMC/2010/TJK/0001")
    assert set(LABELS[language]) == set(LABELS["en"])
