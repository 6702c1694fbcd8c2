"""Logging replies in the web UI and the API: suggestions, validation, roles, CSRF, escaping."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import LetterStatus, PositionEntry, Reply, Role
from tests.factories import api_headers, login, make_organisation, make_user
from tests.replies.helpers import make_letter

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


def test_suggestions_fragment_updates_as_the_form_is_filled(
    client: TestClient, db: Session
) -> None:
    mfa = make_organisation(db, "MFA (web test)", type="ministry", country="PAK")
    embassy = make_organisation(
        db, "Embassy (web test)", type="embassy", country="PAK", parent_id=mfa.id
    )
    letter = make_letter(db, reference="CMC/2009/PAK/0001", organisation=mfa)
    login(client, make_user(db, Role.campaigner))
    resp = client.get(
        "/replies/suggest",
        params={
            "sender_organisation_id": str(embassy.id),
            "full_text": "your letter dated 30 January 2009",
        },
        headers={"HX-Request": "true"},
    )
    assert resp.status_code == 200 and "<html" not in resp.text
    assert "CMC/2009/PAK/0001" in resp.text
    assert f'value="{letter.id}"' in resp.text
    assert "Cites our letter of 30 January 2009." in resp.text
    junk = client.get(
        "/replies/suggest", params={"sender_organisation_id": "abc", "cited_letter_date": "x"}
    )
    assert junk.status_code == 200 and "No suggestion yet" in junk.text


def test_log_a_reply_with_position_and_attachment(client: TestClient, db: Session) -> None:
    mfa = make_organisation(db, "MFA (form test)", type="ministry", country="PAK")
    letter = make_letter(db, organisation=mfa)
    token = login(client, make_user(db, Role.campaigner))
    form = client.get(f"/replies/new?letter_id={letter.id}")
    assert form.status_code == 200 and letter.reference in form.text
    resp = client.post(
        "/replies",
        data={
            "csrf_token": token,
            "received_on": "2009-03-02",
            "channel": "post",
            "sender_organisation_id": str(mfa.id),
            "sender_reference": "No.Pol.9/4/09",
            "summary": XSS,
            "full_text": "Reference your letter dated 30 January 2009.",
            "letter_ids": str(letter.id),
            "stance_CCM": "opposes",
            "quote_CCM": XSS,
        },
        files={"attachments": ("scan.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    db.expire_all()
    reply = db.scalar(select(Reply).where(Reply.sender_reference == "No.Pol.9/4/09"))
    assert reply is not None
    db.refresh(letter)
    assert letter.status is LetterStatus.replied
    entry = db.scalar(select(PositionEntry).where(PositionEntry.reply_id == reply.id))
    assert entry is not None and entry.stance.value == "opposes"
    page = client.get(resp.headers["location"])
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "scan.pdf" in page.text
    listing = client.get("/replies?q=Pol.9")
    assert "No.Pol.9/4/09" in listing.text and "<script>alert" not in listing.text


def test_invalid_form_shows_messages_and_writes_nothing(client: TestClient, db: Session) -> None:
    draft = make_letter(db, status=LetterStatus.draft)
    token = login(client, make_user(db, Role.campaigner))
    count = len(db.scalars(select(Reply.id)).all())
    resp = client.post("/replies", data={"csrf_token": token, "received_on": "", "channel": "post"})
    assert resp.status_code == 422 and "valid date" in resp.text
    resp = client.post("/replies", data={"csrf_token": token, "received_on": "2009-03-02"})
    assert resp.status_code == 422 and "Say who sent the reply" in resp.text
    resp = client.post(
        "/replies",
        data={
            "csrf_token": token,
            "received_on": "2009-03-02",
            "sender_name": "X",
            "letter_ids": str(draft.id),
        },
    )
    assert resp.status_code == 422 and "has not been sent" in resp.text
    resp = client.post(
        "/replies",
        data={
            "csrf_token": token,
            "received_on": "2009-03-02",
            "sender_name": "X",
            "letter_refs": "CMC/1999/XXX/0001",
        },
    )
    assert resp.status_code == 422 and "No letter has the reference" in resp.text
    resp = client.post(
        "/replies",
        data={"csrf_token": token, "received_on": "2009-03-02", "sender_name": "X"},
        files={"attachments": ("a.pdf", b"<html></html>", "application/pdf")},
    )
    assert resp.status_code == 422 and "only PDF scans and images" in resp.text
    db.expire_all()
    assert len(db.scalars(select(Reply.id)).all()) == count


def test_csrf_and_sign_in_required(client: TestClient, db: Session) -> None:
    assert client.get("/replies", follow_redirects=False).status_code in {302, 303, 401}
    login(client, make_user(db, Role.campaigner))
    resp = client.post("/replies", data={"received_on": "2009-03-02", "sender_name": "X"})
    assert resp.status_code == 403


def test_coordinator_only_actions(client: TestClient, db: Session) -> None:
    letter = make_letter(db)
    campaigner = make_user(db, Role.campaigner)
    headers = api_headers(db, campaigner)
    created = client.post(
        "/api/v1/replies",
        json={"received_on": "2009-03-02", "sender_name": "MFA", "letter_ids": [letter.id]},
        headers=headers,
    )
    assert created.status_code == 201
    reply_id = created.json()["id"]
    assert client.delete(f"/api/v1/replies/{reply_id}", headers=headers).status_code == 403
    token = login(client, campaigner)
    assert client.post(f"/replies/{reply_id}/delete", data={"csrf_token": token}).status_code == 403
    coordinator = api_headers(db, make_user(db, Role.coordinator))
    assert client.delete(f"/api/v1/replies/{reply_id}", headers=coordinator).status_code == 204
    db.refresh(letter)
    assert letter.status is LetterStatus.sent


def test_api_create_suggest_and_errors(client: TestClient, db: Session) -> None:
    letter = make_letter(db, reference="CMC/2009/AFG/0001", iso3="AFG")
    headers = api_headers(db, make_user(db, Role.campaigner))
    sug = client.post(
        "/api/v1/replies/suggest", json={"subject": "Re: CMC/2009/AFG/0001"}, headers=headers
    )
    assert sug.status_code == 200
    assert sug.json()[0]["letter_id"] == letter.id and sug.json()[0]["score"] >= 90
    body = {
        "received_on": "2009-03-09",
        "sender_name": "MFA of Afghanistan",
        "letter_ids": [letter.id],
        "positions": [{"treaty": "CCM", "stance": "will_consider", "quote": XSS}],
    }
    created = client.post("/api/v1/replies", json=body, headers=headers)
    assert created.status_code == 201, created.text
    data = created.json()
    assert data["country"] == "AFG" and data["letters"][0]["matched_by"] == "manual"
    assert data["positions"][0]["stance"] == "will_consider"
    for bad in (
        {**body, "letter_ids": [999999]},
        {**body, "positions": [{"treaty": "NOPE", "stance": "supports"}]},
        {**body, "sender_name": ""},
        {**body, "sender_organisation_id": 999999},
    ):
        resp = client.post("/api/v1/replies", json=bad, headers=headers)
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
    listed = client.get(f"/api/v1/replies?letter_id={letter.id}", headers=headers).json()
    assert listed["total"] == 1
    assert client.get("/api/v1/replies/999999", headers=headers).status_code == 404


def test_edit_a_reply_with_optimistic_locking(client: TestClient, db: Session) -> None:
    letter = make_letter(db)
    user = make_user(db, Role.campaigner)
    headers = api_headers(db, user)
    created = client.post(
        "/api/v1/replies",
        json={"received_on": "2009-03-02", "sender_name": "MFA", "letter_ids": [letter.id]},
        headers=headers,
    ).json()
    body = {"received_on": "2009-03-03", "sender_name": "MFA", "summary": "Corrected", "version": 1}
    resp = client.put(f"/api/v1/replies/{created['id']}", json=body, headers=headers)
    assert resp.status_code == 200 and resp.json()["summary"] == "Corrected"
    stale = client.put(f"/api/v1/replies/{created['id']}", json=body, headers=headers)
    assert stale.status_code == 409
    token = login(client, user)
    form = client.get(f"/replies/{created['id']}/edit")
    assert 'name="version" value="2"' in form.text
    resp = client.post(
        f"/replies/{created['id']}/edit",
        data={"csrf_token": token, "received_on": "2009-03-04", "summary": XSS, "version": "2"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    page = client.get(f"/replies/{created['id']}")
    assert "4 Mar 2009" in page.text and "<script>alert" not in page.text
    stale_form = client.post(
        f"/replies/{created['id']}/edit",
        data={"csrf_token": token, "received_on": "2009-03-04", "version": "2"},
    )
    assert stale_form.status_code == 422 and "Someone else changed this reply" in stale_form.text


def test_api_reply_list_loads_replies_together(client: TestClient, db: Session) -> None:
    """The list costs the same few queries for 2 replies as for 12 (no queries per reply), and
    each reply still carries its letters, country and positions."""
    from sqlalchemy import event

    headers = api_headers(db, make_user(db, Role.campaigner))
    org = make_organisation(db, "Ministry of Foreign Affairs of Chile", country="CHL")

    def log(n: int) -> None:
        for i in range(n):
            letter = make_letter(db, iso3="CHL")
            body = {
                "received_on": "2009-03-09",
                "sender_name": f"MFA {i}",
                "sender_organisation_id": org.id,
                "letter_ids": [letter.id],
                "positions": [{"treaty": "CCM", "stance": "supports", "quote": f"quote {i}"}],
            }
            assert client.post("/api/v1/replies", json=body, headers=headers).status_code == 201

    def listing() -> tuple[int, dict[str, object]]:
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        conn = db.connection()
        event.listen(conn, "before_cursor_execute", count)
        try:
            resp = client.get("/api/v1/replies?q=MFA&per_page=50", headers=headers)
        finally:
            event.remove(conn, "before_cursor_execute", count)
        assert resp.status_code == 200
        return len(statements), resp.json()

    log(2)
    few, first = listing()
    log(10)
    many, data = listing()
    assert data["total"] == 12
    assert many == few
    item = data["items"][0]
    assert item["country"] == "CHL" and item["letters"] and item["positions"]
    assert {i["positions"][0]["quote"] for i in data["items"]} == {
        f"quote {i}" for i in range(10)
    } | {"quote 0", "quote 1"}
