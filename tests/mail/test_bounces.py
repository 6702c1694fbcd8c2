"""Auto-replies and bounces: told from replies, a failed delivery bounces its letter and flags the
address; a delay does not. Realistic notices of each common form are in tests/mail/samples."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.contacts import service as contacts_service
from app.contacts.schemas import ContactPointCreate
from app.mail import bounces
from app.mail.inbound import parse
from app.mailmerge import recipients as merge_recipients
from app.mailmerge.schemas import MergeSource
from app.models import (
    Channel,
    ContactKind,
    ContactPoint,
    Letter,
    LetterStatus,
    ReplyKind,
    ReplyStatus,
    Role,
)
from app.replies import intake
from tests.factories import login, make_organisation, make_person, make_user
from tests.replies.helpers import make_letter

SAMPLES = Path(__file__).parent / "samples"


@dataclass(frozen=True)
class Sample:
    name: str
    recipient: str  # the address that failed
    status: str
    says: str  # words of the reason
    message_id: str  # of our letter, as the notice returns it
    reference: str  # of our letter, found in what the notice returns


BOUNCES = [
    Sample(
        "postfix_dsn",
        "minister@mofa-tj.example",
        "5.1.1",
        "User unknown in virtual mailbox table",
        "<letter-postfix@demarche.example>",
        "CMC/2009/TJK/0101",
    ),
    Sample(
        "gmail_dsn",
        "pol.section.geneva@gmail.example",
        "5.1.1",
        "The email account that you tried to reach does not exist",
        "<letter-gmail@demarche.example>",
        "CMC/2020/CHE/0007",
    ),
    Sample(
        "exchange_ndr",
        "desk.officer@mofa-ng.example",
        "5.1.10",
        "RESOLVER.ADR.RecipientNotFound",
        "<letter-exchange@demarche.example>",
        "ICBL/2022/NGA/0003",
    ),
    Sample(
        "exchange2003_ndr",
        "ambassador@mission-cu.example",
        "5.1.1",
        "The e-mail account does not exist",
        "<letter-exchange2003@demarche.example>",
        "CMC/2007/CUB/0011",
    ),
    Sample(
        "exim_plain",
        "embassy@mfa-pk.example",
        "5.1.1",
        "User unknown",
        "<letter-exim@demarche.example>",
        "CMC/2009/PAK/0202",
    ),
    Sample(
        "qmail_plain",
        "secretariat@mofa-lb.example",
        "5.7.1",
        "Relay access denied",
        "<letter-qmail@demarche.example>",
        "CMC/2011/LBN/0044",
    ),
]


def raw(name: str) -> bytes:
    return (SAMPLES / f"{name}.eml").read_bytes()


def email_letter(db: Session, sample: Sample, **values: Any) -> Letter:
    iso3 = sample.reference.split("/")[2] if sample.reference.count("/") == 3 else "NGA"
    fields: dict[str, Any] = {
        "reference": sample.reference,
        "channel": Channel.email,
        "email_to": sample.recipient,
        "email_message_id": sample.message_id,
        **values,
    }
    return make_letter(db, iso3=iso3, **fields)


def email_point(db: Session, address: str) -> ContactPoint:
    org = make_organisation(db, f"Ministry ({address})")
    return contacts_service.create_contact_point(
        db,
        data=ContactPointCreate(organisation_id=org.id, kind=ContactKind.email, value=address),
        actor=None,
    )


# --- telling them apart ---------------------------------------------------------------------


@pytest.mark.parametrize("sample", BOUNCES, ids=lambda s: s.name)
def test_each_form_of_bounce_is_read(sample: Sample) -> None:
    found = bounces.classify(parse(raw(sample.name)))
    assert found is not None and found.kind is ReplyKind.bounce
    assert [f.recipient for f in found.failures] == [sample.recipient]
    failure = found.failures[0]
    assert failure.permanent and failure.status == sample.status
    assert sample.says in failure.reason
    assert sample.message_id in found.message_ids
    assert sample.reference in found.references


def test_a_delay_is_not_a_failure() -> None:
    found = bounces.classify(parse(raw("postfix_delayed")))
    assert found is not None and found.kind is ReplyKind.auto_reply and found.delayed
    assert "delayed" in found.why
    assert [(f.recipient, f.status, f.permanent) for f in found.failures] == [
        ("ministre@diplomatie.example", "4.4.1", False)
    ]


def message(
    subject: str = "Re: Cluster munitions", body: str = "Thank you.", **headers: str
) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Desk Officer <desk@mofa.example>"
    msg["To"] = "replies@demarche.example"
    msg["Subject"] = subject
    msg["Message-ID"] = "<auto@mofa.example>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Auto-Submitted": "auto-generated"},
        {"X-Autoreply": "yes"},
        {"X-Autorespond": "Out of office"},
        {"Precedence": "auto_reply"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
    ],
    ids=lambda h: f"{next(iter(h))}: {next(iter(h.values()))}",
)
def test_auto_reply_headers(headers: dict[str, str]) -> None:
    found = bounces.classify(parse(message(**headers)))
    assert found is not None and found.kind is ReplyKind.auto_reply


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Cluster munitions",
        "Out of Office: Cluster munitions",
        "Réponse automatique : Convention sur les armes à sous-munitions",
        "Respuesta automática: Convención sobre Municiones en Racimo",
        "Автоматический ответ: Конвенция по кассетным боеприпасам",
        "رد تلقائي: اتفاقية الذخائر العنقودية",
        "自动回复: 集束弹药公约",
    ],
)
def test_auto_reply_subjects_in_six_languages(subject: str) -> None:
    found = bounces.classify(parse(message(subject=subject)))
    assert found is not None and found.kind is ReplyKind.auto_reply


@pytest.mark.parametrize(
    "headers",
    [{"X-Auto-Response-Suppress": "All"}, {"Auto-Submitted": "no"}, {"Precedence": "list"}, {}],
    ids=["suppress-only", "auto-submitted-no", "precedence-list", "plain"],
)
def test_replies_are_not_automatic(headers: dict[str, str]) -> None:
    assert bounces.classify(parse(message(**headers))) is None


def test_a_reply_quoting_delivery_words_is_not_a_bounce() -> None:
    text = "Your message could not be delivered to the minister before the meeting; he replies:"
    assert bounces.classify(parse(message(subject="Re: Delivery failure?", body=text))) is None


# --- what a bounce does ---------------------------------------------------------------------


@pytest.mark.parametrize("sample", BOUNCES, ids=lambda s: s.name)
def test_a_bounce_marks_its_letter_bounced_and_the_address_failing(
    db: Session, sample: Sample
) -> None:
    letter = email_letter(db, sample)
    point = email_point(db, sample.recipient.upper())  # addresses compare without case
    reply, created = intake.ingest_email(db, raw=raw(sample.name), actor=None)
    assert created
    assert (reply.kind, reply.status) == (ReplyKind.bounce, ReplyStatus.logged)
    assert [(lk.letter_id, lk.matched_by) for lk in reply.links] == [(letter.id, "message-id")]
    db.refresh(letter)
    assert letter.status is LetterStatus.bounced  # not replied
    assert sample.says in letter.sent_note and sample.recipient in letter.sent_note
    db.refresh(point)
    assert point.failing_since == date.today() and sample.says in point.failure_reason
    assert reply.attachments == [] and "Attachments not kept" not in reply.triage_note
    assert letter.reference in reply.triage_note


def test_found_by_reference_when_the_message_id_is_unknown(db: Session) -> None:
    sample = BOUNCES[-1]  # qmail: plain text, the returned headers quoted in the body
    letter = email_letter(db, sample, email_message_id="<other@demarche.example>")
    reply, _ = intake.ingest_email(db, raw=raw(sample.name), actor=None)
    assert [(lk.letter_id, lk.matched_by) for lk in reply.links] == [(letter.id, "reference")]
    db.refresh(letter)
    assert letter.status is LetterStatus.bounced


def test_found_by_failed_recipient_alone(db: Session) -> None:
    sample = BOUNCES[0]
    older = email_letter(
        db, sample, reference="CMC/2008/TJK/0009", email_message_id="<old@demarche.example>"
    )
    older.sent_at = None
    newer = email_letter(
        db, sample, reference="CMC/2009/TJK/0777", email_message_id="<new@demarche.example>"
    )
    db.flush()
    reply, _ = intake.ingest_email(db, raw=raw(sample.name), actor=None)
    assert [lk.matched_by for lk in reply.links] == ["failed recipient"]
    assert len(reply.links) == 1
    db.refresh(older)
    db.refresh(newer)
    assert {older.status, newer.status} == {LetterStatus.bounced, LetterStatus.sent}


def test_a_delay_leaves_the_letter_sent_and_the_address_alone(db: Session) -> None:
    letter = make_letter(
        db,
        iso3="FRA",
        reference="CMC/2009/FRA/0303",
        channel=Channel.email,
        email_to="ministre@diplomatie.example",
        email_message_id="<letter-delayed@demarche.example>",
    )
    point = email_point(db, "ministre@diplomatie.example")
    reply, _ = intake.ingest_email(db, raw=raw("postfix_delayed"), actor=None)
    assert (reply.kind, reply.status) == (ReplyKind.auto_reply, ReplyStatus.logged)
    assert [lk.letter_id for lk in reply.links] == [letter.id]
    assert "delayed" in reply.triage_note
    db.refresh(letter)
    db.refresh(point)
    assert letter.status is LetterStatus.sent
    assert point.failing_since is None


def test_a_bounce_for_no_letter_of_ours_is_dismissed_not_triaged(db: Session) -> None:
    point = email_point(db, "embassy@mfa-pk.example")
    reply, _ = intake.ingest_email(db, raw=raw("exim_plain"), actor=None)
    assert (reply.kind, reply.status) == (ReplyKind.bounce, ReplyStatus.dismissed)
    assert (
        "no letter of ours" in reply.triage_note and "embassy@mfa-pk.example" in reply.triage_note
    )
    db.refresh(point)
    assert point.failing_since is None  # no letter went there: not our address's failure


def test_a_second_notice_for_a_bounced_letter_is_linked_too(db: Session) -> None:
    sample = BOUNCES[0]
    letter = email_letter(db, sample)
    intake.ingest_email(db, raw=raw(sample.name), actor=None)
    again = raw(sample.name).replace(
        b"<20090303091502.4F2A1C0123@mail.demarche.example>", b"<second@mail.demarche.example>"
    )
    reply, created = intake.ingest_email(db, raw=again, actor=None)
    assert created and [lk.letter_id for lk in reply.links] == [letter.id]
    db.refresh(letter)
    assert letter.status is LetterStatus.bounced


# --- the warnings: merges, sending, the contact page ----------------------------------------


def test_the_merge_preview_warns_about_a_failing_address(db: Session) -> None:
    person = make_person(db, family_name="Bounced")
    contacts_service.create_contact_point(
        db,
        data=ContactPointCreate(
            person_id=person.id, kind=ContactKind.email, value="gone@x.example"
        ),
        actor=None,
    )
    healthy = make_person(db, family_name="Healthy")
    contacts_service.create_contact_point(
        db,
        data=ContactPointCreate(person_id=healthy.id, kind=ContactKind.email, value="ok@x.example"),
        actor=None,
    )
    bounces.flag_failing(
        db, address="gone@x.example", reason="5.1.1 User unknown", on=date(2024, 3, 3)
    )
    source = MergeSource.model_validate({"kind": "contacts", "person_ids": [person.id, healthy.id]})
    plan = merge_recipients.plan_recipients(db, source=source, campaign=None, channel="email")
    assert [c.person_id for c in plan.flagged] == [person.id]
    assert plan.flagged[0].reason == (
        "email gone@x.example failing since 3 March 2024: 5.1.1 User unknown"
    )
    by_post = merge_recipients.plan_recipients(db, source=source, campaign=None, channel="post")
    assert all("failing" not in c.reason for c in by_post.letters)
    assert bounces.failing_for_letters(
        db, [make_letter(db, channel=Channel.email, email_to="GONE@x.example").id]
    ) == {"gone@x.example": "failing since 3 March 2024: 5.1.1 User unknown"}


def test_the_contact_page_shows_the_failure_and_clears_it(client: TestClient, db: Session) -> None:
    point = email_point(db, "gone@mofa.example")
    bounces.flag_failing(
        db, address="gone@mofa.example", reason="550 5.1.1 User unknown", on=date(2024, 3, 3)
    )
    token = login(client, make_user(db, Role.campaigner))
    assert point.organisation_id is not None
    page = client.get(f"/contacts/organisations/{point.organisation_id}")
    assert page.status_code == 200
    assert "failing since" in page.text and "550 5.1.1 User unknown" in page.text
    assert f'/contacts/points/{point.id}/clear-failure"' in page.text
    resp = client.post(
        f"/contacts/points/{point.id}/clear-failure",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    db.expire_all()
    cleared = db.scalar(select(ContactPoint).where(ContactPoint.id == point.id))
    assert cleared is not None and cleared.failing_since is None and cleared.failure_reason == ""
    assert "failing since" not in client.get(resp.headers["location"]).text
    refused = client.post(
        f"/contacts/points/{point.id}/clear-failure", data={}, follow_redirects=False
    )
    assert refused.status_code in {400, 403}  # no CSRF token


def test_sending_by_email_to_a_failing_address_warns(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import get_settings
    from tests.correspondence.helpers import make_letter as make_draft
    from tests.correspondence.helpers import person_with_email

    monkeypatch.setattr(get_settings(), "smtp_url", "smtp://127.0.0.1:9?starttls=never")
    letter = make_draft(db, person_with_email(db, "gone@mfa.example"), status=LetterStatus.approved)
    bounces.flag_failing(
        db, address="gone@mfa.example", reason="5.1.1 User unknown", on=date.today()
    )
    token = login(client, make_user(db, Role.coordinator))
    resp = client.post(
        f"/correspondence/letters/{letter.id}/send",
        data={"csrf_token": token, "channel": "email", "version": letter.version},
    )
    assert resp.status_code == 200
    assert "Sending by email to gone@mfa.example." in resp.text
    assert "Mail to gone@mfa.example has bounced before: failing since" in resp.text
