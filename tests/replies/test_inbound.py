"""Email replies: In-Reply-To and plus-addresses match for certain; the rest goes to triage."""

from __future__ import annotations

from email.message import EmailMessage

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    ContactPoint,
    Letter,
    LetterStatus,
    Organisation,
    Person,
    Reply,
    ReplyKind,
    ReplyStatus,
    Role,
)
from app.replies import intake, service, tasks
from tests.factories import api_headers, login, make_organisation, make_user
from tests.replies.fake_imap import Mailbox, imap_server
from tests.replies.helpers import make_letter

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def eml(
    *,
    sender: str = "Nadia Baig <n.baig@embassy-pk.example>",
    to: str = "info@cmc.example",
    subject: str = "Cluster munitions",
    body: str = "Please find our answer attached.",
    message_id: str = "<answer-1@embassy-pk.example>",
    in_reply_to: str | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Tue, 24 Feb 2009 10:00:00 -0500"
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    if attachment:
        name, data = attachment
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


def _contacts(db: Session) -> tuple[int, int, int]:
    return (
        db.scalar(select(func.count(Person.id))) or 0,
        db.scalar(select(func.count(Organisation.id))) or 0,
        db.scalar(select(func.count(ContactPoint.id))) or 0,
    )


def test_in_reply_to_our_message_id_is_logged(db: Session) -> None:
    letter = make_letter(db, email_message_id="<letter-42@demarche.example>")
    reply, created = intake.ingest_email(
        db,
        raw=eml(in_reply_to="<letter-42@demarche.example>", attachment=("scan.pdf", PDF)),
        actor=None,
    )
    assert created and reply.status is ReplyStatus.logged
    assert [(lk.letter_id, lk.matched_by) for lk in reply.links] == [(letter.id, "in-reply-to")]
    assert reply.triage_note == ""
    db.refresh(letter)
    assert letter.status is LetterStatus.replied
    assert reply.received_on.isoformat() == "2009-02-24"
    assert [a.content_type for a in reply.attachments] == ["application/pdf"]
    # the same message again (a mailbox re-read) is the same reply
    again, created = intake.ingest_email(
        db, raw=eml(in_reply_to="<letter-42@demarche.example>"), actor=None
    )
    assert not created and again.id == reply.id


def test_reply_to_plus_address_is_logged(db: Session) -> None:
    letter = make_letter(db, reference="CMC/2010/TJK/0001", iso3="TJK")
    reply, _ = intake.ingest_email(
        db,
        raw=eml(
            to="CMC replies <replies+CMC-2010-TJK-0001@demarche.example>",
            attachment=("run.exe", b"MZ\x90\x00"),
        ),
        actor=None,
    )
    assert reply.status is ReplyStatus.logged
    assert [lk.letter_id for lk in reply.links] == [letter.id]
    assert reply.links[0].matched_by == "reply-to address"
    assert reply.attachments == []
    assert "run.exe" in reply.triage_note


def test_unknown_sender_without_headers_goes_to_triage_and_creates_no_contact(
    db: Session,
) -> None:
    make_letter(db, reference="CMC/2009/PAK/0001")
    before = _contacts(db)
    reply, _ = intake.ingest_email(
        db,
        raw=eml(
            sender="Stranger <stranger@unknown.example>",
            body="Reference your letter dated 30 January 2009, we will reply in due course.",
            message_id="<x-1@unknown.example>",
        ),
        actor=None,
    )
    assert reply.status is ReplyStatus.triage
    assert reply.links == []
    assert "not in the directory" in reply.triage_note
    assert reply.sender_email == "stranger@unknown.example"
    assert _contacts(db) == before


def test_known_sender_email_is_recognised(db: Session) -> None:
    from app.contacts import service as contacts_service
    from app.contacts.schemas import ContactPointCreate

    org = make_organisation(db, "Embassy (inbound test)", type="embassy", country="PAK")
    contacts_service.create_contact_point(
        db,
        data=ContactPointCreate(organisation_id=org.id, kind="email", value="pol@emb.example"),
        actor=None,
    )
    reply, _ = intake.ingest_email(
        db, raw=eml(sender="Embassy <POL@emb.example>", message_id="<k-1@emb.example>"), actor=None
    )
    assert reply.sender_organisation_id == org.id
    assert reply.status is ReplyStatus.triage  # known sender, but no certain letter


def test_triage_link_and_explicit_contact_creation(client: TestClient, db: Session) -> None:
    letter = make_letter(db, reference="CMC/2009/PAK/0001")
    reply, _ = intake.ingest_email(
        db, raw=eml(sender="Stranger <s@unknown.example>", message_id="<t-1@u.example>"), actor=None
    )
    coordinator = make_user(db, Role.coordinator)
    token = login(client, coordinator)
    page = client.get(f"/replies/{reply.id}")
    assert "Create contact" in page.text and "Dismiss" in page.text
    before = _contacts(db)
    resp = client.post(
        f"/replies/{reply.id}/contact",
        data={
            "csrf_token": token,
            "kind": "person",
            "name": "Sam Stranger",
            "email": "s@unknown.example",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303
    assert _contacts(db) == (before[0] + 1, before[1], before[2] + 1)
    resp = client.post(
        f"/replies/{reply.id}/link",
        data={"csrf_token": token, "letter_refs": "CMC/2009/PAK/0001"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    db.expire_all()
    assert db.get_one(Reply, reply.id).status is ReplyStatus.logged
    db.refresh(letter)
    assert letter.status is LetterStatus.replied


def test_dismiss_from_triage_via_api(client: TestClient, db: Session) -> None:
    reply, _ = intake.ingest_email(
        db,
        raw=eml(sender="Auto <auto@x.example>", subject="Spam", message_id="<o@x>"),
        actor=None,
    )
    campaigner = api_headers(db, make_user(db, Role.campaigner))
    assert (
        client.post(f"/api/v1/replies/{reply.id}/dismiss", json={}, headers=campaigner).status_code
        == 403
    )
    coordinator = api_headers(db, make_user(db, Role.coordinator))
    resp = client.post(
        f"/api/v1/replies/{reply.id}/dismiss", json={"note": "out of office"}, headers=coordinator
    )
    assert resp.status_code == 200 and resp.json()["status"] == "dismissed"


def test_eml_upload_in_the_web_ui_and_api(client: TestClient, db: Session) -> None:
    letter = make_letter(db, email_message_id="<letter-7@demarche.example>")
    user = make_user(db, Role.campaigner)
    token = login(client, user)
    resp = client.post(
        "/replies/import",
        data={"csrf_token": token},
        files={
            "eml": ("answer.eml", eml(in_reply_to="<letter-7@demarche.example>"), "message/rfc822")
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303
    page = client.get(resp.headers["location"])
    assert letter.reference in page.text and "Imported and linked" in page.text
    bad = client.post(
        "/replies/import",
        data={"csrf_token": token},
        files={"eml": ("x.eml", b"   ", "message/rfc822")},
    )
    assert bad.status_code == 422 and "empty" in bad.text
    headers = api_headers(db, user)
    resp = client.post(
        "/api/v1/replies/import-email",
        files={"file": ("a.eml", eml(message_id="<api-1@x.example>"), "message/rfc822")},
        headers=headers,
    )
    assert resp.status_code == 201 and resp.json()["status"] == "triage"
    resp = client.post(
        "/api/v1/replies/import-email",
        files={"file": ("a.eml", b"not an email at all", "message/rfc822")},
        headers=headers,
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_imap_mailbox_polled_on_loopback(db: Session) -> None:
    letter = make_letter(db, email_message_id="<letter-99@demarche.example>")
    box = Mailbox(
        user="replies",
        password="s3cret",
        messages=[
            eml(in_reply_to="<letter-99@demarche.example>", message_id="<m1@x>"),
            eml(sender="Nobody <nobody@x.example>", message_id="<m2@x>"),
            b"garbage without headers",
        ],
    )
    with imap_server(box) as url:
        first = tasks.poll(url, timeout=5)
        second = tasks.poll(url, timeout=5)
    assert (first.seen, first.logged, first.triage, first.refused) == (3, 1, 1, 1)
    assert box.seen == {1, 2, 3}
    assert second.seen == 0
    db.expire_all()
    db.refresh(letter)
    assert letter.status is LetterStatus.replied
    ids = db.scalars(select(Reply.email_message_id).order_by(Reply.id)).all()
    assert [i for i in ids if i in {"<m1@x>", "<m2@x>"}] == ["<m1@x>", "<m2@x>"]


def test_imap_url_parsing() -> None:
    box = tasks.parse_url("imaps://me%40org:p%2Fw@mail.example/Replies")
    assert (box.host, box.port, box.user, box.password, box.folder, box.tls) == (
        "mail.example",
        993,
        "me@org",
        "p/w",
        "Replies",
        True,
    )


def test_markup_in_an_email_shows_as_text(client: TestClient, db: Session) -> None:
    """Sender name, subject and body of an imported email are shown escaped on every page
    that lists or shows the reply."""
    payload = '"><script>alert("xss")</script><img src=x onerror=alert(2)>'
    user = make_user(db, Role.coordinator)
    resp = client.post(
        "/api/v1/replies/import-email",
        files={
            "file": (
                "x.eml",
                eml(
                    sender=f'"Nadia {payload}" <n.baig@embassy-pk.example>',
                    subject=f"Answer {payload}",
                    body=f"Our position {payload}",
                    message_id="<hostile-1@embassy-pk.example>",
                ),
                "message/rfc822",
            )
        },
        headers=api_headers(db, user),
    )
    assert resp.status_code == 201, resp.text
    reply_id = resp.json()["id"]
    login(client, user)
    for path in (f"/replies/{reply_id}", "/replies", "/replies?status=triage"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert '<script>alert("xss")' not in page.text, path
        assert "<img src=x onerror" not in page.text, path
    shown = client.get(f"/replies/{reply_id}").text
    assert "&lt;script&gt;alert(" in shown


# --- acknowledgements, auto-replies: logged, linked, never marking the letter replied -----------


def test_an_acknowledgement_is_linked_but_the_letter_stays_unanswered(db: Session) -> None:
    letter = make_letter(db, email_message_id="<letter-ack@demarche.example>")
    reply, _ = intake.ingest_email(
        db,
        raw=eml(
            in_reply_to="<letter-ack@demarche.example>",
            body="We acknowledge receipt of your letter dated 30 January 2009, which has been "
            "forwarded to the competent authorities.",
            message_id="<ack-1@embassy-pk.example>",
        ),
        actor=None,
    )
    assert (reply.kind, reply.status) == (ReplyKind.acknowledgement, ReplyStatus.logged)
    assert [lk.letter_id for lk in reply.links] == [letter.id]
    assert reply.language == "en"
    db.refresh(letter)
    assert letter.status is LetterStatus.sent
    # an answer afterwards marks it replied, and unlinking that answer reopens it
    answer, _ = intake.ingest_email(
        db,
        raw=eml(
            in_reply_to="<letter-ack@demarche.example>",
            body="Pakistan will sign the Convention on Cluster Munitions.",
            message_id="<answer-2@embassy-pk.example>",
        ),
        actor=None,
    )
    assert answer.kind is ReplyKind.reply
    db.refresh(letter)
    assert letter.status is LetterStatus.replied
    service.unlink_letter(db, reply_id=answer.id, letter_id=letter.id, actor=make_user(db))
    db.refresh(letter)
    assert letter.status is LetterStatus.sent  # the acknowledgement alone answers nothing


def test_an_out_of_office_is_logged_against_its_letter_or_dismissed(db: Session) -> None:
    letter = make_letter(db, email_message_id="<letter-ooo@demarche.example>")
    linked, _ = intake.ingest_email(
        db,
        raw=eml(
            in_reply_to="<letter-ooo@demarche.example>",
            subject="Réponse automatique : Armes à sous-munitions",
            body="Je suis absent du bureau jusqu'au 15 mars.",
            message_id="<ooo-1@x.example>",
        ),
        actor=None,
    )
    assert (linked.kind, linked.status) == (ReplyKind.auto_reply, ReplyStatus.logged)
    assert [lk.letter_id for lk in linked.links] == [letter.id]
    assert "Automatic message" in linked.triage_note
    db.refresh(letter)
    assert letter.status is LetterStatus.sent
    loose, _ = intake.ingest_email(
        db, raw=eml(subject="Out of Office", message_id="<ooo-2@x.example>"), actor=None
    )
    assert (loose.kind, loose.status, loose.links) == (
        ReplyKind.auto_reply,
        ReplyStatus.dismissed,
        [],
    )


def test_kind_in_manual_logging_and_corrections(client: TestClient, db: Session) -> None:
    letter = make_letter(db)
    user = make_user(db, Role.campaigner)
    headers = api_headers(db, user)
    resp = client.post(
        "/api/v1/replies",
        json={
            "received_on": "2009-03-01",
            "sender_name": "Embassy of Pakistan",
            "kind": "acknowledgement",
            "letter_ids": [letter.id],
        },
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["kind"] == "acknowledgement"
    db.expire_all()
    assert db.get_one(Letter, letter.id).status is LetterStatus.sent
    bad = client.post(
        "/api/v1/replies",
        json={"received_on": "2009-03-01", "sender_name": "X", "kind": "rumour"},
        headers=headers,
    )
    assert bad.status_code == 422
    reply = service.get(db, resp.json()["id"])
    body = {"received_on": "2009-03-01", "sender_name": "Embassy", "version": reply.version}
    # a correction that does not name the kind keeps it
    kept = client.put(f"/api/v1/replies/{reply.id}", json=body, headers=headers)
    assert kept.status_code == 200 and kept.json()["kind"] == "acknowledgement"
    body["version"] = kept.json()["version"]
    turned = client.put(
        f"/api/v1/replies/{reply.id}", json={**body, "kind": "reply"}, headers=headers
    )
    assert turned.status_code == 200 and turned.json()["kind"] == "reply"
    db.expire_all()
    assert db.get_one(Letter, letter.id).status is LetterStatus.replied
    back = client.put(
        f"/api/v1/replies/{reply.id}",
        json={**body, "version": turned.json()["version"], "kind": "acknowledgement"},
        headers=headers,
    )
    assert back.status_code == 200
    db.expire_all()
    assert db.get_one(Letter, letter.id).status is LetterStatus.sent


# --- hostile email: refused on upload, kept raw by the poller, which goes on ------------------


def encoded_word_bomb(words: int = 16_000, message_id: str = "<bomb@x.example>") -> bytes:
    subject = b" ".join(b"=?utf-8?b?w6k=?=" for _ in range(words))
    return (
        b"From: Hostile <hostile@x.example>\r\nTo: replies@demarche.example\r\n"
        b"Message-ID: " + message_id.encode() + b"\r\nSubject: " + subject + b"\r\n\r\nhi\r\n"
    )


def many_parts(parts: int = 10_000) -> bytes:
    body = b"".join(b"--p\r\nContent-Type: text/plain\r\n\r\n%d\r\n" % i for i in range(parts))
    return (
        b"From: parts@x.example\r\nMessage-ID: <parts@x.example>\r\n"
        b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n' + body + b"--p--\r\n"
    )


def test_hostile_uploads_are_refused_clearly(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.campaigner)
    headers = api_headers(db, user)
    before = db.scalar(select(func.count(Reply.id)))
    for raw, status, says in (
        (encoded_word_bomb(), 422, "Subject field is longer"),
        (many_parts(), 422, "more than 1000 MIME parts"),
        (b"From: a@x.example\r\n\r\n" + b"x" * (26 * 1024 * 1024), 413, "larger than"),
    ):
        resp = client.post(
            "/api/v1/replies/import-email",
            files={"file": ("hostile.eml", raw, "message/rfc822")},
            headers=headers,
        )
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert says in resp.json()["detail"]
    token = login(client, user)
    page = client.post(
        "/replies/import",
        data={"csrf_token": token},
        files={"eml": ("hostile.eml", many_parts(), "message/rfc822")},
    )
    assert page.status_code in {413, 422} and "more than 1000 MIME parts" in page.text
    assert db.scalar(select(func.count(Reply.id))) == before  # nothing stored


def test_the_poller_keeps_hostile_messages_raw_and_goes_on(db: Session) -> None:
    letter = make_letter(db, email_message_id="<letter-after@demarche.example>")
    bomb, parts = encoded_word_bomb(), many_parts()
    box = Mailbox(
        user="replies",
        password="s3cret",
        messages=[
            bomb,
            parts,
            eml(in_reply_to="<letter-after@demarche.example>", message_id="<after@x>"),
        ],
    )
    with imap_server(box) as url:
        first = tasks.poll(url, timeout=5)
        second = tasks.poll(url, timeout=5)
    assert (first.seen, first.unreadable, first.triage, first.logged) == (3, 2, 2, 1)
    assert box.seen == {1, 2, 3} and second.seen == 0  # flagged: never read again
    db.expire_all()
    db.refresh(letter)
    assert letter.status is LetterStatus.replied
    kept = db.scalars(
        select(Reply).where(Reply.email_message_id.in_(["<bomb@x.example>", "<parts@x.example>"]))
    ).all()
    assert len(kept) == 2
    for reply, raw, says in zip(
        sorted(kept, key=lambda r: r.id),
        (bomb, parts),
        ("Subject field", "MIME parts"),
        strict=True,
    ):
        full = service.get(db, reply.id)
        assert (full.status, full.kind) == (ReplyStatus.triage, ReplyKind.reply)
        assert full.triage_note.startswith("Not read:") and says in full.triage_note
        assert [a.filename for a in full.attachments] == ["message.eml"]
        _, path = service.get_attachment(db, full.attachments[0].id)
        assert path.read_bytes() == raw
    # the same bytes again (a re-read after a crash) are the same reply, not a second one
    again, created = intake.ingest_email(db, raw=parts, actor=None, keep_unreadable=True)
    assert not created and again.email_message_id == "<parts@x.example>"
