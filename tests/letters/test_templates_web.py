"""Web pages: library list, detail with history, editor with field sidebar, previews."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.letters import service
from app.models import Role
from tests.factories import login, make_user


def test_campaigner_reads_library_but_cannot_edit(client: TestClient, db: Session) -> None:
    login(client, make_user(db))
    page = client.get("/templates")
    assert page.status_code == 200
    assert "Appeal to a head of state to join a treaty" in page.text
    assert "New template" not in page.text
    assert '/templates" >Templates</a>' in client.get("/").text  # in the navigation
    appeal = service.get_by_slug(db, "appeal-head-of-state")
    assert appeal is not None
    assert client.get(f"/templates/{appeal.id}/edit/en").status_code == 403


def test_search_returns_fragment_for_htmx_and_empty_state(client: TestClient, db: Session) -> None:
    login(client, make_user(db))
    frag = client.get("/templates?q=ministry", headers={"HX-Request": "true"})
    assert "Request to a ministry" in frag.text and "<html" not in frag.text
    none = client.get("/templates?q=zzzz-nothing")
    assert "No template matches" in none.text


def test_coordinator_saves_new_version_with_form(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.coordinator))
    appeal = service.get_by_slug(db, "follow-up-reminder")
    assert appeal is not None
    editor = client.get(f"/templates/{appeal.id}/edit/ru")
    assert editor.status_code == 200
    assert "milestone.days_left" in editor.text  # the documented field sidebar
    resp = client.post(
        f"/templates/{appeal.id}/edit/ru",
        data={
            "csrf_token": token,
            "subject": "Напоминание",
            "body": "<p>{{ recipient.salutation }}</p><p>{{ milestone.days_left }} дн.</p>",
            "note": "shorter",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303
    detail = client.get(resp.headers["location"])
    assert "v2" in detail.text and "shorter" in detail.text


def test_editor_refuses_unknown_field_inline_and_writes_nothing(
    client: TestClient, db: Session
) -> None:
    token = login(client, make_user(db, Role.coordinator))
    appeal = service.get_by_slug(db, "thank-you-ratification")
    assert appeal is not None
    before = len(service.history(service.get(db, appeal.id), "en"))
    resp = client.post(
        f"/templates/{appeal.id}/edit/en",
        data={
            "csrf_token": token,
            "subject": "Thanks",
            "body": "<p>\n{{ recipient.nickname }}</p>",
        },
    )
    assert resp.status_code == 422
    assert "Unknown merge field &#39;recipient.nickname&#39; on line 2" in resp.text
    db.expire_all()
    assert len(service.history(service.get(db, appeal.id), "en")) == before


def test_create_form_and_csrf(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.coordinator))
    data = {
        "name": "Invitation",
        "slug": "invitation",
        "layout": "us-letter",
        "language": "es",
        "subject": "Invitación",
        "body": "<p>{{ recipient.salutation }}</p>",
    }
    assert client.post("/templates/new", data=data).status_code == 403  # no CSRF token
    resp = client.post("/templates/new", data={**data, "csrf_token": token}, follow_redirects=False)
    assert resp.status_code == 303
    created = service.get_by_slug(db, "invitation")
    assert created is not None and list(service.current_versions(created)) == ["es"]
    dup = client.post("/templates/new", data={**data, "csrf_token": token})
    assert dup.status_code == 422 and "Already used" in dup.text


def test_previews_in_html_and_pdf(client: TestClient, db: Session) -> None:
    login(client, make_user(db))
    appeal = service.get_by_slug(db, "appeal-head-of-state")
    assert appeal is not None
    html = client.get(f"/templates/{appeal.id}/preview/ar.html")
    assert html.status_code == 200 and 'dir="rtl"' in html.text
    assert html.headers["content-security-policy"].startswith("sandbox;")
    pdf = client.get(f"/templates/{appeal.id}/preview/en.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(f"/templates/{appeal.id}/preview/xx.pdf").status_code == 404
