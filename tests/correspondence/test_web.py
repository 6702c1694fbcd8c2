"""The correspondence pages: stages, the actions panel, CSRF, inline errors."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.correspondence import lifecycle, service
from app.models import LetterStatus, Role
from tests.correspondence.helpers import make_letter, person_with_email
from tests.factories import login, make_user


def test_overview_lists_letters_awaiting_approval(db: Session, client: TestClient) -> None:
    letter = make_letter(db, reference="CMC/2010/KAZ/0001")
    login(client, make_user(db, Role.coordinator))
    page = client.get("/correspondence?stage=approval")
    assert page.status_code == 200
    assert "CMC/2010/KAZ/0001" in page.text and "Approve" in page.text
    empty = client.get("/correspondence?stage=failed")
    assert "No letter failed." in empty.text
    assert letter.id


def test_approve_from_the_letter_page(db: Session, client: TestClient) -> None:
    letter = make_letter(db, person_with_email(db))
    token = login(client, make_user(db, Role.coordinator))
    page = client.get(f"/correspondence/letters/{letter.id}")
    assert "Approve" in page.text and "Excellency," in page.text
    resp = client.post(
        f"/correspondence/letters/{letter.id}/approve",
        data={"csrf_token": token, "version": letter.version},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    db.expire_all()
    assert service.get(db, letter.id).status == LetterStatus.approved
    page = client.get(resp.headers["location"])
    assert "Letter approved." in page.text and "Send by email" in page.text


def test_post_without_csrf_token_is_refused(db: Session, client: TestClient) -> None:
    letter = make_letter(db)
    login(client, make_user(db, Role.coordinator))
    resp = client.post(f"/correspondence/letters/{letter.id}/approve", data={})
    assert resp.status_code == 403
    db.expire_all()
    assert service.get(db, letter.id).status == LetterStatus.draft


def test_campaigner_cannot_approve_in_the_web_ui(db: Session, client: TestClient) -> None:
    letter = make_letter(db)
    token = login(client, make_user(db, Role.campaigner))
    resp = client.post(f"/correspondence/letters/{letter.id}/approve", data={"csrf_token": token})
    assert resp.status_code == 403


def test_invalid_transition_shows_a_message(db: Session, client: TestClient) -> None:
    letter = make_letter(db)
    token = login(client, make_user(db, Role.coordinator))
    resp = client.post(
        f"/correspondence/letters/{letter.id}/send",
        data={"csrf_token": token, "channel": "post", "date": date.today().isoformat()},
    )
    assert resp.status_code == 200
    assert "cannot be sent: it is draft" in resp.text


def test_record_diplomatic_bag_from_the_panel(db: Session, client: TestClient) -> None:
    letter = make_letter(db, status=LetterStatus.approved)
    token = login(client, make_user(db, Role.campaigner))
    resp = client.post(
        f"/correspondence/letters/{letter.id}/send",
        data={
            "csrf_token": token,
            "channel": "diplomatic_bag",
            "date": "2009-01-30",
            "note": "Swiss bag via Islamabad",
        },
    )
    assert "Recorded as sent by diplomatic bag." in resp.text
    db.expire_all()
    assert service.get(db, letter.id).sent_note == "Swiss bag via Islamabad"


def test_edit_an_approved_letter_in_the_web_ui_withdraws_approval(
    db: Session, client: TestClient
) -> None:
    letter = make_letter(db, status=LetterStatus.approved, approved_by_id=None)
    user = make_user(db, Role.coordinator)
    lifecycle.withdraw_approval(db, letter_id=letter.id, actor=user)
    lifecycle.approve(db, letter_id=letter.id, actor=user)
    token = login(client, user)
    assert (
        "Saving a change withdraws the approval"
        in client.get(f"/correspondence/letters/{letter.id}").text
    )
    resp = client.post(
        f"/correspondence/letters/{letter.id}/edit",
        data={
            "csrf_token": token,
            "version": str(letter.version),
            "subject": "Joining the {{ treaty.name }} in 2010",
            "body_html": "<p>{{ recipient.salutation }}</p><p>Changed.</p>",
        },
    )
    assert "Letter text saved." in resp.text
    db.expire_all()
    edited = service.get(db, letter.id)
    assert edited.status == LetterStatus.draft and "Changed." in edited.body_html


def test_unknown_merge_field_is_shown_next_to_the_text(db: Session, client: TestClient) -> None:
    letter = make_letter(db)
    token = login(client, make_user(db, Role.coordinator))
    resp = client.post(
        f"/correspondence/letters/{letter.id}/edit",
        data={
            "csrf_token": token,
            "subject": "Hello",
            "body_html": "<p>{{ recipient.shoe_size }}</p>",
        },
    )
    assert resp.status_code == 422
    assert "shoe_size" in resp.text
    db.expire_all()
    assert "shoe_size" not in service.get(db, letter.id).body_html


def test_search_returns_only_the_results_for_htmx(db: Session, client: TestClient) -> None:
    make_letter(db, reference="CMC/2010/UZB/0009")
    make_letter(db, reference="CMC/2010/KGZ/0009")
    login(client, make_user(db))
    resp = client.get(
        "/correspondence", params={"stage": "approval", "q": "uzb"}, headers={"HX-Request": "true"}
    )
    assert "CMC/2010/UZB/0009" in resp.text and "CMC/2010/KGZ/0009" not in resp.text
    assert "<html" not in resp.text


def test_the_mail_merge_letter_page_carries_the_actions(client: TestClient, db: Session) -> None:
    """A letter opened from its merge can be approved right there, and the page comes back."""
    letter = make_letter(db)
    token = login(client, make_user(db, Role.coordinator))
    page = client.get(f"/letters/{letter.id}")
    assert page.status_code == 200
    assert "Approve" in page.text and "Letter actions" in page.text
    resp = client.post(
        f"/correspondence/letters/{letter.id}/approve",
        data={"csrf_token": token, "version": letter.version, "next": f"/letters/{letter.id}"},
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == f"/letters/{letter.id}"
    assert "Withdraw approval" in client.get(f"/letters/{letter.id}").text
