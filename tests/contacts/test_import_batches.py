"""Imports as batches that can be undone, remembered column mappings, legacy encodings and
letters lost as "?", through the service, the API and the web pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.contacts import dedupe
from app.contacts import service as contacts_service
from app.contacts.imports import batches as import_batches
from app.contacts.imports.csvfile import write_csv
from app.contacts.imports.schemas import ImportOptions, ImportReport
from app.contacts.imports.service import run
from app.contacts.schemas import PersonUpdate
from app.errors import Conflict
from app.models import (
    AuditEntry,
    ContactKind,
    ContactPoint,
    ImportBatch,
    ImportBatchStatus,
    Organisation,
    Person,
    Position,
    Role,
    Tag,
)
from tests.factories import (
    api_headers,
    login,
    make_organisation,
    make_person,
    make_position,
    make_user,
)

HEADERS = ["Given name", "Family name", "Organisation", "Country", "Email", "Address", "City"]
HEADERS += ["Postal code", "Tags"]
ROWS = [
    ["Sirojiddin", "Muhriddin", "Ministry of Foreign Affairs of Tajikistan", "TJ", "mfa@mfa.tj"]
    + ["Sheroz 33", "Dushanbe", "734001", "ccm"],
    ["Aziz", "Karimov", "Embassy of Tajikistan in Berlin", "TJ", "aziz@example.tj", "", "", ""]
    + ["ccm-new-tag"],
    ["", "", "Permanent Mission of Tajikistan in Geneva", "TJ", "", "", "", "", ""],
]
RUSSIAN = (
    "Имя;Фамилия;Организация;Страна;Эл. почта\r\n"
    "Сергей;Лавров;Министерство иностранных дел;RU;lavrov@mid.ru\r\n"
    "Мария;Захарова;Министерство иностранных дел;RU;zakharova@mid.ru\r\n"
)


def _csv(rows: list[list[str]], headers: list[str] = HEADERS) -> bytes:
    return write_csv(headers, rows).encode("utf-8")


def _import(db: Session, data: bytes, dry_run: bool = False, **options: Any) -> ImportReport:
    return run(
        db,
        data=data,
        filename="sheet.csv",
        options=ImportOptions.model_validate(options),
        dry_run=dry_run,
        actor=None,
    )


def _counts(db: Session) -> dict[str, int]:
    return {
        m.__name__: db.scalar(select(func.count()).select_from(m)) or 0
        for m in (Person, Organisation, ContactPoint, Position, Tag)
    }


@pytest.fixture
def existing(db: Session) -> Person:
    """A minister already in the directory, with a city-only address and no email."""
    org = make_organisation(db, "Ministry of Foreign Affairs of Tajikistan", country="TJ")
    person = make_person(db, given_name="Sirojiddin", family_name="Muhriddin")
    make_position(db, person, org, title="Minister")
    db.add(
        ContactPoint(
            person_id=person.id,
            kind=ContactKind.postal,
            preferred=True,
            city="Dushanbe",
            country_code="TJ",
        )
    )
    db.add(Tag(name="ccm"))
    db.flush()
    return person


def test_an_import_is_undone_whole(db: Session, existing: Person) -> None:
    before = _counts(db)
    version = existing.version
    report = _import(db, _csv(ROWS))
    assert report.batch_id is not None
    assert report.created.people == 1 and report.created.organisations == 2
    assert report.updated.people == 1
    db.expire_all()
    points = db.scalars(select(ContactPoint).where(ContactPoint.person_id == existing.id)).all()
    assert {(p.kind.value, p.preferred) for p in points} == {
        ("postal", False),
        ("postal", True),
        ("email", True),
    }
    batch = db.get(ImportBatch, report.batch_id)
    assert batch is not None and batch.status == ImportBatchStatus.done
    kinds = sorted({e["type"] for e in batch.changes["created"]})
    assert kinds == ["contact_point", "organisation", "person", "person_tag", "tag"]
    assert [e["type"] for e in batch.changes["updated"]] == ["contact_point", "person"]
    assert import_batches.changed_since(db, batch) == []

    import_batches.undo(db, batch_id=batch.id, actor=None)
    db.expire_all()
    assert _counts(db) == before
    points = db.scalars(select(ContactPoint).where(ContactPoint.person_id == existing.id)).all()
    assert [(p.kind.value, p.city, p.street_address, p.preferred) for p in points] == [
        ("postal", "Dushanbe", "", True)
    ]
    assert db.scalar(select(Tag).where(Tag.name == "ccm")) is not None  # it was there before
    assert db.get(Person, existing.id) is not None
    assert "mfa@mfa.tj" not in (db.get(Person, existing.id) or existing).search_text
    assert batch.status == ImportBatchStatus.undone and batch.undone_at is not None
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "contacts.import.undo"))
    assert entry is not None and entry.entity_id == str(batch.id)
    with pytest.raises(Conflict, match="undone already"):
        import_batches.undo(db, batch_id=batch.id, actor=None)
    assert (db.get(Person, existing.id) or existing).version > version


def test_undo_restores_the_values_an_import_filled_in(db: Session) -> None:
    person = make_person(db, given_name="Aziz", family_name="Karimov")
    headers = ["Given name", "Family name", "Honorific", "Notes"]
    report = _import(db, _csv([["Aziz", "Karimov", "H.E.", "met in Geneva"]], headers))
    db.expire_all()
    assert (person.honorific, person.notes) == ("H.E.", "met in Geneva")
    import_batches.undo(db, batch_id=report.batch_id or 0, actor=None)
    db.expire_all()
    assert (person.honorific, person.notes) == ("", "")


def test_undo_is_refused_after_an_edit_and_lists_what_changed(
    db: Session, existing: Person
) -> None:
    report = _import(db, _csv(ROWS))
    karimov = db.scalar(select(Person).where(Person.family_name == "Karimov"))
    assert karimov is not None
    contacts_service.update_person(
        db,
        person_id=karimov.id,
        data=PersonUpdate.model_validate(
            {"given_name": "Aziz", "family_name": "Karimov", "notes": "x", "version": 1}
        ),
        actor=None,
    )
    added = ContactPoint(
        organisation_id=db.scalar(
            select(Organisation.id).where(Organisation.name.like("Permanent Mission%"))
        ),
        kind=ContactKind.email,
        value="mission@example.org",
    )
    db.add(added)
    db.flush()
    before = _counts(db)
    with pytest.raises(Conflict) as caught:
        import_batches.undo(db, batch_id=report.batch_id or 0, actor=None)
    message = caught.value.detail
    assert "cannot be undone: 2 of its records were changed since" in message
    assert f"person #{karimov.id} Aziz Karimov was edited since" in message
    assert "Permanent Mission of Tajikistan in Geneva has new contact points since" in message
    assert _counts(db) == before


def test_reimport_after_a_merge_creates_nothing(db: Session) -> None:
    headers = ["Given name", "Family name", "Organisation", "Country", "Email"]
    rows = [
        ["Renée", "Lefèvre", "Ministère des Affaires étrangères", "FR", "renee@diplomatie.fr"],
        ["René", "Lefevre", "Ministère des Affaires étrangères", "FR", "rene@diplomatie.fr"],
        ["Jean", "Dupont", "Ministere des affaires etrangeres (France)", "FR", ""],
    ]
    first = _import(db, _csv(rows, headers))
    assert first.created.people == 3 and first.created.organisations == 2
    people = {p.given_name: p for p in db.scalars(select(Person))}
    orgs = {o.name: o for o in db.scalars(select(Organisation))}
    dedupe.merge(
        db,
        data=dedupe.MergeCommand(
            kind="person", keep_id=people["Renée"].id, drop_id=people["René"].id
        ),
        actor=None,
    )
    dedupe.merge(
        db,
        data=dedupe.MergeCommand(
            kind="organisation",
            keep_id=orgs["Ministère des Affaires étrangères"].id,
            drop_id=orgs["Ministere des affaires etrangeres (France)"].id,
        ),
        actor=None,
    )
    before = _counts(db)
    again = _import(db, _csv(rows, headers))
    assert again.created.model_dump() == dict.fromkeys(again.created.model_dump(), 0)
    assert _counts(db) == before


def test_mappings_are_remembered_per_header_row(client: TestClient, db: Session) -> None:
    headers = ["Surname?", "Forename?", "Mail?"]
    data = _csv([["Rahmon", "Emomali", "p@prezident.tj"]], headers)
    mapping = ["family_name", "given_name", "email"]
    first = _import(db, data, mapping=mapping)
    assert first.mapping_source == "given"
    # the same headers, spelt otherwise: the mapping comes back
    same = _csv([["Tokayev", "Kassym-Jomart", "k@akorda.kz"]], ["SURNAME ?", "forename?", "mail?"])
    second = _import(db, same, dry_run=True)
    assert (second.mapping_source, second.mapping) == ("remembered", mapping)
    other = _import(db, _csv([["A", "B"]], ["Surname?", "Forename?"]), dry_run=True)
    assert other.mapping_source == "guessed"
    # the web form is filled in with it
    token = login(client, make_user(db, Role.coordinator))
    url = _upload(client, token, same)
    page = client.get(url)
    assert 'id="remembered"' in page.text
    assert _selected(page.text) == {"col_0": "family_name", "col_1": "given_name", "col_2": "email"}


def _upload(client: TestClient, token: str, data: bytes, encoding: str = "auto") -> str:
    resp = client.post(
        "/contacts/import",
        data={"csrf_token": token, "encoding": encoding, "delimiter": "auto"},
        files={"file": ("contacts.csv", data, "text/csv")},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return str(resp.headers["location"])


def _selected(page: str) -> dict[str, str]:
    return dict(
        re.findall(r'<select name="(col_\d+)">.*?<option value="([a-z_0-9]*)" selected', page, re.S)
    )


def test_windows_1251_through_the_api(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    data = RUSSIAN.encode("cp1251")
    resp = client.post(
        "/api/v1/contacts/imports",
        headers=headers,
        files={"file": ("mid.csv", data, "text/csv")},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["encoding"], body["encoding_label"]) == ("cp1251", "Windows-1251 (Cyrillic)")
    assert body["mapping"] == ["given_name", "family_name", "organisation", "country", "email"]
    done = client.post(
        "/api/v1/contacts/imports",
        headers=headers,
        data={"dry_run": "false"},
        files={"file": ("mid.csv", data, "text/csv")},
    )
    assert done.status_code == 201, done.text
    assert db.scalar(select(Person).where(Person.family_name == "Лавров")) is not None
    # the same bytes in KOI8-R, and an encoding chosen by hand
    koi = client.post(
        "/api/v1/contacts/imports",
        headers=headers,
        files={"file": ("mid.csv", RUSSIAN.encode("koi8-r"), "text/csv")},
    )
    assert koi.json()["encoding"] == "koi8-r"
    forced = client.post(
        "/api/v1/contacts/imports",
        headers=headers,
        data={"encoding": "cp1252", "mapping": '{"1": "full_name"}'},
        files={"file": ("mid.csv", data, "text/csv")},
    )
    assert forced.status_code == 200 and forced.json()["encoding"] == "cp1252"
    unknown = client.post(
        "/api/v1/contacts/imports",
        headers=headers,
        data={"encoding": "ebcdic"},
        files={"file": ("mid.csv", data, "text/csv")},
    )
    assert unknown.status_code == 422 and "Unknown encoding" in unknown.json()["detail"]


def test_windows_1251_in_the_web_form(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.coordinator))
    url = _upload(client, token, RUSSIAN.encode("cp1251"))
    page = client.get(url)
    assert "Read as <strong>Windows-1251 (Cyrillic)</strong>" in page.text
    assert "Лавров" in page.text and "Министерство иностранных дел" in page.text
    # another encoding chosen by hand and read again
    form = {"csrf_token": token, "encoding": "cp1252", "delimiter": "auto", "reread": "1"}
    again = client.post(f"{url}/check", data=form)
    assert "Read as <strong>Windows-1252 (Excel, Western Europe)</strong>" in again.text
    assert "Лавров" not in again.text


def test_letters_lost_as_question_marks_are_warned_about(client: TestClient, db: Session) -> None:
    headers = ["Given name", "Family name", "Organisation", "Country"]
    rows = [
        ["??????", "???????", "MFA", "RU"],
        ["Jos?? Mar??a", "Garc??a", "MAEC", "ES"],
        ["What?", "Who", "Q & A?", "FR"],
        ["Jane", "Doe", "ICBL", "CH"],
    ]
    report = _import(db, _csv(rows, headers), dry_run=True)
    assert [w.row for w in report.warnings] == [2, 3]
    assert "Given name '??????'" in report.warnings[0].reasons[0]
    assert report.bad_rows == [] and report.created.people == 4
    token = login(client, make_user(db, Role.coordinator))
    url = _upload(client, token, _csv(rows, headers))
    page = client.get(url)
    assert 'id="garbled"' in page.text and "Row 3: Jos?? Mar??a, Garc??a" in page.text
    form = {"csrf_token": token, "encoding": "auto", "delimiter": "auto"}
    form.update(_selected(page.text))
    checked = client.post(f"{url}/check", data=form)
    assert 'id="warnings"' in checked.text and "Rows to look at" in checked.text


def test_api_history_and_undo(client: TestClient, db: Session, existing: Person) -> None:
    coordinator = make_user(db, Role.coordinator)
    headers = api_headers(db, coordinator)
    resp = client.post(
        "/api/v1/contacts/imports",
        headers=headers,
        data={"dry_run": "false"},
        files={"file": ("sheet.csv", _csv(ROWS), "text/csv")},
    )
    assert resp.status_code == 201, resp.text
    batch_id = resp.json()["batch_id"]
    listed = client.get("/api/v1/imports", headers=headers)
    assert listed.status_code == 200
    first = listed.json()["items"][0]
    assert (first["id"], first["filename"], first["status"]) == (batch_id, "sheet.csv", "done")
    assert first["counts"]["created"]["people"] == 1 and first["created_by_id"] == coordinator.id
    detail = client.get(f"/api/v1/imports/{batch_id}", headers=headers)
    assert detail.json()["changed_since"] == []
    campaigner = api_headers(db, make_user(db, Role.campaigner))
    assert client.post(f"/api/v1/imports/{batch_id}/undo", headers=campaigner).status_code == 403
    assert client.get("/api/v1/imports", headers=campaigner).status_code == 403
    karimov = db.scalar(select(Person).where(Person.family_name == "Karimov"))
    assert karimov is not None
    edit = client.put(
        f"/api/v1/people/{karimov.id}",
        headers=headers,
        json={"given_name": "Aziz", "family_name": "Karimov", "notes": "edited", "version": 1},
    )
    assert edit.status_code == 200, edit.text
    refused = client.post(f"/api/v1/imports/{batch_id}/undo", headers=headers)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["errors"] == [
        {
            "type": "person",
            "id": karimov.id,
            "message": f"person #{karimov.id} Aziz Karimov was edited since",
        }
    ]
    assert client.get(f"/api/v1/imports/{batch_id}", headers=headers).json()["changed_since"]
    edit = client.put(
        f"/api/v1/people/{karimov.id}",
        headers=headers,
        json={"given_name": "Aziz", "family_name": "Karimov", "version": 2},
    )
    # edited back is still edited: its version moved on
    assert client.post(f"/api/v1/imports/{batch_id}/undo", headers=headers).status_code == 409
    again = client.post(
        "/api/v1/contacts/imports",
        headers=headers,
        data={"dry_run": "false"},
        files={"file": ("other.csv", _csv([["Zarina", "Nazarova", "", "TJ", "", "", "", "", ""]]))},
    )
    other_id = again.json()["batch_id"]
    undone = client.post(f"/api/v1/imports/{other_id}/undo", headers=headers)
    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == "undone" and undone.json()["undone_by_id"] == coordinator.id
    assert db.scalar(select(Person).where(Person.family_name == "Nazarova")) is None
    assert client.post(f"/api/v1/imports/{other_id}/undo", headers=headers).status_code == 409
    assert client.post("/api/v1/imports/999999/undo", headers=headers).status_code == 404


def test_web_history_confirm_and_undo(client: TestClient, db: Session, existing: Person) -> None:
    coordinator = make_user(db, Role.coordinator)
    report = run(
        db,
        data=_csv(ROWS),
        filename="coalition <master>.csv",
        options=ImportOptions(),
        dry_run=False,
        actor=coordinator,
    )
    token = login(client, coordinator)
    history = client.get("/contacts/import/history")
    assert history.status_code == 200
    assert "coalition &lt;master&gt;.csv" in history.text and coordinator.email in history.text
    confirm = client.get(f"/contacts/import/history/{report.batch_id}/undo")
    assert confirm.status_code == 200 and "Undo this import" in confirm.text
    assert "people to delete" in confirm.text
    no_csrf = client.post(f"/contacts/import/history/{report.batch_id}/undo")
    assert no_csrf.status_code == 403
    done = client.post(
        f"/contacts/import/history/{report.batch_id}/undo",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert db.scalar(select(Person).where(Person.family_name == "Karimov")) is None
    page = client.get("/contacts/import/history")
    assert "Undone" in page.text
    # refused: the page says why and offers no button
    second = run(
        db,
        data=_csv(ROWS),
        filename="again.csv",
        options=ImportOptions(),
        dry_run=False,
        actor=coordinator,
    )
    karimov = db.scalar(select(Person).where(Person.family_name == "Karimov"))
    assert karimov is not None
    contacts_service.update_person(
        db,
        person_id=karimov.id,
        data=PersonUpdate.model_validate(
            {"given_name": "Aziz", "family_name": "Karimov", "notes": "x", "version": 1}
        ),
        actor=None,
    )
    refused = client.get(f"/contacts/import/history/{second.batch_id}/undo")
    assert 'id="changed-since"' in refused.text and "was edited since" in refused.text
    assert "Undo this import</button>" not in refused.text
    posted = client.post(
        f"/contacts/import/history/{second.batch_id}/undo", data={"csrf_token": token}
    )
    assert posted.status_code == 409 and "cannot be undone" in posted.text
    other = TestClient(client.app, base_url="http://testserver")
    login(other, make_user(db, Role.campaigner))
    assert other.get("/contacts/import/history").status_code == 403
