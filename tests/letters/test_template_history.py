"""Template editing aids: the field list with examples in every language, version authors,
line diffs, restoring an old version, notes on languages left behind, previews for a contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.letters import editor, service
from app.letters.schemas import TemplateCreate, VariantSave
from app.models import AuditEntry, LetterTemplate, Role, TemplateVersion, User
from tests.factories import (
    api_headers,
    login,
    make_organisation,
    make_person,
    make_position,
    make_user,
)

LANGS = ["en", "fr", "es", "ru", "ar", "zh"]
BODY_V1 = "<p>{{ recipient.salutation }}</p>\n<p>Please join the treaty.</p>\n<p>Yours,</p>"
BODY_V2 = (
    "<p>{{ recipient.salutation }}</p>\n<p>Please join the <b>treaty</b> soon.</p>\n<p>Yours,</p>"
)


def _template(db: Session, actor: User | None) -> LetterTemplate:
    return service.create(
        db,
        data=TemplateCreate(
            slug="history-appeal", name="History appeal", subject="Appeal", body=BODY_V1
        ),
        actor=actor,
    )


def _save(
    db: Session,
    template: LetterTemplate,
    lang: str,
    body: str,
    actor: User | None,
    subject: str = "Appeal",
) -> TemplateVersion:
    return service.save_variant(
        db,
        template_id=template.id,
        language=lang,
        data=VariantSave(subject=subject, body=body),
        actor=actor,
    )


def _versions(db: Session, template_id: int, lang: str) -> list[TemplateVersion]:
    db.expire_all()
    return service.history(service.get(db, template_id), lang)


# ----------------------------------------------------------------------------- field list


def test_fields_api_gives_kind_and_an_example_in_each_language(
    client: TestClient, db: Session
) -> None:
    items = client.get("/api/v1/templates/fields", headers=api_headers(db, make_user(db))).json()
    by_name = {item["name"]: item for item in items}
    salutation = by_name["recipient.salutation"]
    assert salutation["kind"] == "field"
    assert salutation["example"] == "Excellency,"  # the English registry example stays
    assert list(salutation["examples"]) == LANGS
    assert salutation["examples"]["fr"] == "Monsieur le Président de la République,"
    assert salutation["examples"]["ru"] == "Ваше Превосходительство!"
    assert by_name["treaty.name"]["examples"]["zh"] == "集束弹药公约"
    filters = [item for item in items if item["kind"] == "filter"]
    assert [f["name"] for f in filters][:2] == ['case("dative")', "article"]
    days = next(f for f in filters if f["name"] == "days")
    assert days["examples"]["ru"] == "{{ milestone.days_left | days }} → 192\xa0дня"
    assert days["examples"]["fr"] == "{{ milestone.days_left | days }} → 192\xa0jours"
    assert all(set(item) >= {"name", "description", "example"} for item in items)


def test_editor_shows_examples_in_the_variants_language_and_insert_buttons(
    client: TestClient, db: Session
) -> None:
    login(client, make_user(db, Role.coordinator))
    appeal = service.get_by_slug(db, "appeal-head-of-state")
    assert appeal is not None
    page = client.get(f"/templates/{appeal.id}/edit/ar")
    assert page.status_code == 200
    assert 'data-insert="{{ recipient.salutation }}"' in page.text
    assert "فخامة الرئيس،" in page.text  # the Arabic sample's salutation
    assert 'data-insert=" | case(&#34;dative&#34;)"' in page.text
    body = page.text[page.text.index('<textarea name="body"') :]
    assert "dir=ltr" in body[: body.index(">")] and "data-line-numbers" in body[: body.index(">")]


# ----------------------------------------------------------------------------- history


def test_history_names_the_author_and_the_library(client: TestClient, db: Session) -> None:
    coordinator = make_user(db, Role.coordinator)
    appeal = service.get_by_slug(db, "appeal-head-of-state")
    assert appeal is not None
    _save(db, appeal, "en", BODY_V2, coordinator)
    login(client, make_user(db))
    page = client.get(f"/templates/{appeal.id}?lang=en")
    rows = page.text[page.text.index("version-history") :]
    assert rows.index("Test Coordinator") < rows.index("Demarche library")
    assert "Compare with previous" in rows
    assert "Restore" not in rows  # campaigners read, coordinators restore


def test_diff_marks_added_and_removed_lines_escaped(client: TestClient, db: Session) -> None:
    coordinator = make_user(db, Role.coordinator)
    template = _template(db, coordinator)
    v2 = _save(db, template, "en", BODY_V2 + "\n<script>alert(1)</script>", coordinator)
    diff = editor.version_diff(db, template_id=template.id, version_id=v2.id)
    assert [(line.kind, line.text) for line in diff.lines if line.kind != "same"] == [
        ("del", "<p>Please join the treaty.</p>"),
        ("add", "<p>Please join the <b>treaty</b> soon.</p>"),
        ("add", "<script>alert(1)</script>"),
    ]
    assert (diff.added, diff.removed, diff.subject_changed) == (2, 1, False)
    login(client, make_user(db))
    page = client.get(f"/templates/{template.id}/versions/{v2.id}/diff")
    assert page.status_code == 200
    assert '<tr class="diff-line diff-del">' in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    other = _template_other(db)
    assert client.get(f"/templates/{other.id}/versions/{v2.id}/diff").status_code == 404


def _template_other(db: Session) -> LetterTemplate:
    found = service.get_by_slug(db, "follow-up-reminder")
    assert found is not None
    return found


def test_restore_adds_a_new_version_and_is_audited(client: TestClient, db: Session) -> None:
    coordinator = make_user(db, Role.coordinator)
    template = _template(db, coordinator)
    v1 = _versions(db, template.id, "en")[0]
    _save(db, template, "en", BODY_V2, coordinator, subject="Appeal, again")
    headers = api_headers(db, coordinator)
    resp = client.post(f"/api/v1/templates/{template.id}/versions/{v1.id}/restore", headers=headers)
    assert resp.status_code == 201, resp.text
    assert (resp.json()["number"], resp.json()["body"]) == (3, BODY_V1)
    assert resp.json()["subject"] == "Appeal"
    assert [(v.number, v.body) for v in _versions(db, template.id, "en")] == [
        (3, BODY_V1),
        (2, BODY_V2),
        (1, BODY_V1),
    ]
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "template.restore")).all()
    assert [a.entity_id for a in audit] == [str(template.id)]
    again = client.post(
        f"/api/v1/templates/{template.id}/versions/{v1.id}/restore", headers=headers
    )
    assert again.status_code == 409  # already the current text: nothing to restore


def test_campaigner_cannot_restore(client: TestClient, db: Session) -> None:
    coordinator = make_user(db, Role.coordinator)
    template = _template(db, coordinator)
    v1 = _versions(db, template.id, "en")[0]
    _save(db, template, "en", BODY_V2, coordinator)
    campaigner = make_user(db)
    api = client.post(
        f"/api/v1/templates/{template.id}/versions/{v1.id}/restore",
        headers=api_headers(db, campaigner),
    )
    assert api.status_code == 403
    token = login(client, campaigner)
    web = client.post(
        f"/templates/{template.id}/versions/{v1.id}/restore",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert web.status_code == 403
    assert len(_versions(db, template.id, "en")) == 2


def test_restore_through_the_web_redirects_with_the_new_number(
    client: TestClient, db: Session
) -> None:
    coordinator = make_user(db, Role.coordinator)
    template = _template(db, coordinator)
    v1 = _versions(db, template.id, "en")[0]
    _save(db, template, "en", BODY_V2, coordinator)
    token = login(client, coordinator)
    resp = client.post(
        f"/templates/{template.id}/versions/{v1.id}/restore",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    page = client.get(resp.headers["location"])
    assert "Restored version 1 as version 3 (en)." in page.text
    assert "Restored version 1" in page.text[page.text.index("version-history") :]
    missing = client.post(
        f"/templates/{template.id}/versions/{2**40}/restore", data={"csrf_token": token}
    )
    assert missing.status_code == 404


# ----------------------------------------------------------------------------- stale languages


def test_a_language_changed_after_another_flags_it(client: TestClient, db: Session) -> None:
    coordinator = make_user(db, Role.coordinator)
    template = _template(db, coordinator)
    fr = _save(db, template, "fr", "<p>{{ recipient.salutation }}</p>", coordinator)
    en2 = _save(db, template, "en", BODY_V2, coordinator)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    for offset, version in enumerate([_versions(db, template.id, "en")[-1], fr, en2]):
        version.created_at = start + timedelta(minutes=offset)
    db.flush()
    db.expire_all()
    stale = editor.stale_languages(service.get(db, template.id))
    assert list(stale) == ["fr"]
    assert [(n.short, n.text) for n in stale["fr"]] == [
        (
            "fr: older than en since v2",
            "French was last changed before the English text's version 2.",
        )
    ]
    login(client, make_user(db))
    page = client.get(f"/templates/{template.id}")
    assert "French was last changed before the English text&#39;s version 2." in page.text
    fr2 = _save(db, template, "fr", "<p>{{ recipient.salutation }} !</p>", coordinator)
    fr2.created_at = start + timedelta(minutes=5)
    db.flush()
    db.expire_all()
    after = editor.stale_languages(service.get(db, template.id))
    assert "fr" not in after  # French has caught up
    assert [n.short for n in after["en"]] == ["en: older than fr since v2"]


def test_the_library_as_loaded_has_no_stale_language(db: Session) -> None:
    appeal = service.get_by_slug(db, "appeal-head-of-state")
    assert appeal is not None
    assert editor.stale_languages(appeal) == {}


# ----------------------------------------------------------------------------- preview


def test_web_preview_is_addressed_to_a_directory_contact(client: TestClient, db: Session) -> None:
    ministry = make_organisation(
        db, name="Ministry of Foreign Affairs of Kazakhstan", country="KAZ"
    )
    person = make_person(db, given_name="Ivana", family_name="Horvat", gender="feminine")
    make_position(
        db,
        person=person,
        organisation=ministry,
        title="Minister for Foreign Affairs",
        is_office_holder=True,
    )
    appeal = service.get_by_slug(db, "appeal-head-of-state")
    assert appeal is not None
    login(client, make_user(db))
    sample = client.get(f"/templates/{appeal.id}/preview/en.html")
    assert "Rahmon" in sample.text and "Horvat" not in sample.text
    resp = client.get(f"/templates/{appeal.id}/preview/en.html?person_id={person.id}")
    assert resp.status_code == 200
    assert "Horvat" in resp.text and "Minister for Foreign Affairs" in resp.text
    assert "Rahmon" not in resp.text
    office = client.get(f"/templates/{appeal.id}/preview/en.html?organisation_id={ministry.id}")
    assert office.status_code == 200 and "Horvat" in office.text
    assert client.get(f"/templates/{appeal.id}/preview/en.html?person_id=0").status_code == 422
    gone = client.get(f"/templates/{appeal.id}/preview/en.html?person_id=2000000000")
    assert gone.status_code == 422


def test_recipient_picker_finds_people_and_links_their_preview(
    client: TestClient, db: Session
) -> None:
    person = make_person(db, given_name="Ivana", family_name="Horvatova")
    appeal = service.get_by_slug(db, "appeal-head-of-state")
    assert appeal is not None
    login(client, make_user(db))
    url = f"/templates/{appeal.id}/recipients/fr"
    found = client.get(url, params={"q": "Horvatova"}, headers={"HX-Request": "true"})
    assert found.status_code == 200 and "<html" not in found.text
    assert f"/templates/{appeal.id}/preview/fr.pdf?person_id={person.id}" in found.text
    none = client.get(url, params={"q": "zz-nobody-zz"})
    assert "Nobody in the directory matches" in none.text
    assert client.get(f"/templates/{appeal.id}/recipients/xx?q=a").status_code == 404
