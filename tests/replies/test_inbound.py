"""Email replies: In-Reply-To and plus-addresses match for certain; the rest goes to triage."""

from __future__ import annotations

from email.message import EmailMessage

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ContactPoint, LetterStatus, Organisation, Person, Reply, ReplyStatus, Role
from app.replies import service, tasks
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
    reply, created = service.ingest_email(
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
    again, created = service.ingest_email(
        db, raw=eml(in_reply_to="<letter-42@demarche.example>"), actor=None
    )
    assert not created and again.id == reply.id


def test_reply_to_plus_address_is_logged(db: Session) -> None:
    letter = make_letter(db, reference="CMC/2010/TJK/0001", iso3="TJK")
    reply, _ = service.ingest_email(
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
    reply, _ = service.ingest_email(
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
        data=ContactPointCreate(organisation_id=org.id, kind="email", value="pol@emb.example"),  # type: ignore[arg-type]
        actor=None,
    )
    reply, _ = service.ingest_email(
        db, raw=eml(sender="Embassy <POL@emb.example>", message_id="<k-1@emb.example>"), actor=None
    )
    assert reply.sender_organisation_id == org.id
    assert reply.status is ReplyStatus.triage  # known sender, but no certain letter


def test_triage_link_and_explicit_contact_creation(client: TestClient, db: Session) -> None:
    letter = make_letter(db, reference="CMC/2009/PAK/0001")
    reply, _ = service.ingest_email(
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
    assert db.get(Reply, reply.id).status is ReplyStatus.logged  # type: ignore[union-attr]
    db.refresh(letter)
    assert letter.status is LetterStatus.replied


def test_dismiss_from_triage_via_api(client: TestClient, db: Session) -> None:
    reply, _ = service.ingest_email(
        db,
        raw=eml(sender="Auto <auto@x.example>", subject="Out of office", message_id="<o@x>"),
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
