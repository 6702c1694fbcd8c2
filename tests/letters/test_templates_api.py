"""API under /api/v1/templates: read for everyone, edit for coordinators, versions, previews."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from app.letters import render, service
from app.models import Role, TemplateVersion
from tests.factories import api_headers, make_organisation, make_person, make_position, make_user

NEW = {
    "slug": "budget-appeal",
    "name": "Budget appeal",
    "description": "Asks for clearance funding",
    "layout": "a4",
    "language": "en",
    "subject": "Funding for {{ treaty.short_name }}",
    "body": "<p>{{ recipient.salutation }}</p><p>Please fund clearance.</p>",
}


def test_builtin_library_is_listed_and_searchable(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    listing = client.get("/api/v1/templates", headers=headers).json()
    slugs = {t["slug"] for t in listing["items"]}
    assert {"appeal-head-of-state", "joint-open-letter", "follow-up-reminder"} <= slugs
    appeal = next(t for t in listing["items"] if t["slug"] == "appeal-head-of-state")
    assert appeal["languages"] == ["en", "fr", "es", "ru", "ar", "zh"]
    found = client.get("/api/v1/templates?q=thank", headers=headers).json()
    assert [t["slug"] for t in found["items"]] == ["thank-you-ratification"]


def test_fields_are_documented(client: TestClient, db: Session) -> None:
    fields = client.get("/api/v1/templates/fields", headers=api_headers(db, make_user(db))).json()
    names = {f["name"] for f in fields}
    assert {"recipient.salutation", "milestone.days_left", "letter.reference"} <= names
    assert all(f["description"] for f in fields)


def test_campaigner_cannot_create(client: TestClient, db: Session) -> None:
    resp = client.post("/api/v1/templates", json=NEW, headers=api_headers(db, make_user(db)))
    assert resp.status_code == 403


def test_create_edit_creates_versions_and_old_version_renders_same_text(
    client: TestClient, db: Session
) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    created = client.post("/api/v1/templates", json=NEW, headers=headers)
    assert created.status_code == 201, created.text
    template = created.json()
    v1 = template["current"]["en"]
    assert v1["number"] == 1
    new_text = {"subject": "Funding, again", "body": "<p>{{ recipient.name }}: second text</p>"}
    saved = client.put(
        f"/api/v1/templates/{template['id']}/variants/en", json=new_text, headers=headers
    )
    assert saved.status_code == 200 and saved.json()["number"] == 2
    fr = client.put(
        f"/api/v1/templates/{template['id']}/variants/fr",
        json={"subject": "Financement", "body": "<p>{{ recipient.salutation }}</p>"},
        headers=headers,
    )
    assert fr.json()["number"] == 1
    history = client.get(
        f"/api/v1/templates/{template['id']}/versions?language=en", headers=headers
    )
    assert [v["number"] for v in history.json()] == [2, 1]
    old = client.post(
        f"/api/v1/templates/{template['id']}/preview",
        json={"version_id": v1["id"], "format": "html"},
        headers=headers,
    )
    assert old.status_code == 200
    assert "Please fund clearance." in old.text and "second text" not in old.text
    assert old.headers["x-template-version"] == str(v1["id"])


def test_unknown_field_and_syntax_error_are_refused_with_line(
    client: TestClient, db: Session
) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    bad = {**NEW, "body": "<p>ok</p>\n<p>{{ recipient.shoe_size }}</p>"}
    resp = client.post("/api/v1/templates", json=bad, headers=headers)
    assert resp.status_code == 422
    problem = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "recipient.shoe_size" in problem["detail"] and "line 2" in problem["detail"]
    assert problem["errors"][0]["line"] == 2
    broken = {**NEW, "slug": "broken", "body": "<p>\n{% for x in organisations %}\n</p>"}
    resp = client.post("/api/v1/templates", json=broken, headers=headers)
    assert resp.status_code == 422 and "Syntax error" in resp.json()["detail"]
    assert service.get_by_slug(db, "broken") is None


def test_pdf_preview_with_a_given_recipient(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    appeal = service.get_by_slug(db, "appeal-head-of-state")
    assert appeal is not None
    resp = client.post(
        f"/api/v1/templates/{appeal.id}/preview",
        json={
            "language": "fr",
            "format": "pdf",
            "context": {
                "recipient": {
                    "salutation": "Madame la Ministre,",
                    "address_block": ["Madame Ivana Horvat", "Zagreb"],
                }
            },
        },
        headers=headers,
    )
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(resp.content)).pages[0].extract_text()
    assert "Ivana Horvat" in text and "Madame la Ministre," in text


def test_preview_addressed_to_a_contact_from_the_directory(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    appeal = service.get_by_slug(db, "appeal-head-of-state")
    assert appeal is not None
    ministry = make_organisation(db, "Ministry of Foreign Affairs of Testland", country="KAZ")
    person = make_person(
        db,
        given_name="Ivana",
        family_name="Horvat",
        gender="feminine",
        name_forms={"ru": {"given": "Ивана", "family": "Хорват"}},
    )
    make_position(db, person=person, organisation=ministry, title="Minister for Foreign Affairs")
    resp = client.post(
        f"/api/v1/templates/{appeal.id}/preview",
        json={"language": "ru", "format": "html", "person_id": person.id},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    assert "госпоже И. Хорват" in resp.text  # the dative, in Cyrillic
    assert "Министру иностранных дел Республики Казахстан" in resp.text
    assert "Уважаемая госпожа Министр!" in resp.text
    missing = client.post(
        f"/api/v1/templates/{appeal.id}/preview",
        json={"language": "ru", "person_id": 2_000_000_000},
        headers=headers,
    )
    assert missing.status_code == 422


def test_stale_edit_of_details_is_a_conflict(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    appeal = service.get_by_slug(db, "follow-up-reminder")
    assert appeal is not None
    url = f"/api/v1/templates/{appeal.id}"
    body = {"name": "Reminder", "description": "", "layout": "a4", "version": appeal.version}
    assert client.patch(url, json=body, headers=headers).status_code == 200
    assert client.patch(url, json=body, headers=headers).status_code == 409


def test_builtin_loader_is_idempotent(db: Session) -> None:
    before = sum(len(t.versions) for t in service.list_templates(db, limit=100)[0])
    assert service.load_builtin(db) == 0
    db.flush()
    after = sum(len(t.versions) for t in service.list_templates(db, limit=100)[0])
    assert after == before


def test_runaway_template_preview_fails_with_a_clear_error(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "DEFAULT_LIMITS", render.RenderLimits(seconds=1))
    headers = api_headers(db, make_user(db, Role.coordinator))
    # Each turn slow, the turns within the sandbox's bound: only the time limit stops it.
    loop = (
        "{% for a in 'x' * 90000 %}{% if ('x' * 90000)|list|sort|length %}{% endif %}{% endfor %}"
    )
    refused = client.post(
        "/api/v1/templates", json={**NEW, "slug": "runaway", "body": loop}, headers=headers
    )
    # Valid Jinja with known fields, but its trial run in the renderer meets the time limit.
    assert refused.status_code == 422 and "longer than 1 s" in refused.json()["detail"]
    created = client.post("/api/v1/templates", json={**NEW, "slug": "runaway"}, headers=headers)
    assert created.status_code == 201
    # A version stored before the trial run existed.
    template = service.get(db, created.json()["id"])
    db.add(
        TemplateVersion(template_id=template.id, language="en", number=2, subject="S", body=loop)
    )
    db.flush()
    url = f"/api/v1/templates/{template.id}/preview"
    for fmt in ("html", "pdf"):
        resp = client.post(url, json={"format": fmt}, headers=headers)
        assert resp.status_code == 422
        assert "longer than 1 s" in resp.json()["detail"]


def test_html_preview_carries_its_logo_inside(client: TestClient, db: Session) -> None:
    """The preview's CSP allows only data: images, so the letterhead logo is inlined."""
    headers = api_headers(db, make_user(db))
    template = client.get("/api/v1/templates", headers=headers).json()
    first = (template["items"] if isinstance(template, dict) else template)[0]
    resp = client.post(
        f"/api/v1/templates/{first['id']}/preview", json={"format": "html"}, headers=headers
    )
    assert resp.status_code == 200
    assert "img-src data:" in resp.headers["content-security-policy"]
    assert 'class="logo" src="data:image/svg+xml;base64,' in resp.text
    assert 'src="logo.svg"' not in resp.text
