"""Duplicates: candidate pairs found case-, accent- and transliteration-insensitively with a score
and a reason, "not a duplicate" remembered, and re-importing a file after merges creating
nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.contacts import duplicates
from app.contacts.dedupe import MergeCommand, merge
from app.contacts.imports.csvfile import write_csv
from app.contacts.imports.schemas import ImportOptions
from app.contacts.imports.service import run
from app.models import AuditEntry, ContactPoint, Organisation, Person, Position, Role
from tests.factories import (
    api_headers,
    login,
    make_organisation,
    make_person,
    make_position,
    make_user,
)


def _pairs(
    db: Session, kind: duplicates.Kind = "person"
) -> dict[tuple[int, int], duplicates.Candidate]:
    return {(c.a_id, c.b_id): c for c in duplicates.candidates(db, kind)}


def test_accented_and_plain_spellings_at_one_ministry_are_flagged(db: Session) -> None:
    mfa = make_organisation(db, "Ministerio de Relaciones Exteriores")
    a = make_person(db, given_name="José", family_name="Hernández")
    b = make_person(db, given_name="Jose", family_name="Hernandez")
    make_position(db, a, mfa, title="Director")
    make_position(db, b, mfa, title="Director General")
    found = _pairs(db)[(a.id, b.id)]
    assert found.score == 100
    assert found.reasons == [
        "same name ignoring accents",
        "same organisation (Ministerio de Relaciones Exteriores)",
    ]


def test_scripts_typos_and_emails(db: Session) -> None:
    mfa = make_organisation(db, "Ministry of Foreign Affairs of Uzbekistan")
    latin = make_person(db, given_name="Muhriddin", family_name="Karimov")
    typo = make_person(db, given_name="Mukhriddin", family_name="Karimov")
    cyrillic = make_person(db, given_name="", family_name="", native_name="Мухриддин Каримов")
    make_position(db, latin, mfa, title="Director")
    make_position(db, typo, mfa, title="Director")
    unrelated = make_person(db, given_name="Anna", family_name="Schmidt")
    mailbox = make_person(db, given_name="A.", family_name="Schmitt")
    db.add_all(
        [
            ContactPoint(
                person_id=unrelated.id, kind="email", value="a.schmidt@auswaertiges-amt.de"
            ),
            ContactPoint(person_id=mailbox.id, kind="email", value="A.Schmidt@auswaertiges-amt.de"),
        ]
    )
    db.flush()
    pairs = _pairs(db)
    assert (
        pairs[(latin.id, cyrillic.id)].reasons[0]
        == "same name in another script or transliteration"
    )
    alike = pairs[(latin.id, typo.id)]
    assert 85 <= alike.score < 100
    assert alike.reasons == [
        f"names {alike.score}% alike",
        "same organisation (Ministry of Foreign Affairs of Uzbekistan)",
    ]
    by_email = pairs[(unrelated.id, mailbox.id)]
    assert "same email (a.schmidt@auswaertiges-amt.de)" in by_email.reasons


def test_different_people_are_not_paired(db: Session) -> None:
    make_person(db, given_name="Maria", family_name="Garcia")
    make_person(db, given_name="Mario", family_name="Gomez")
    make_person(db, given_name="Ali", family_name="Khan")
    make_person(db, given_name="Alia", family_name="Khanum")
    assert _pairs(db) == {}


def test_organisations_pair_only_within_a_country(db: Session) -> None:
    uz = make_organisation(db, "Ministry of Foreign Affairs", country="UZB")
    kz = make_organisation(db, "Ministry of Foreign Affairs", country="KAZ")
    kz2 = make_organisation(db, "MINISTRY OF FOREIGN AFFAIRS", country="KAZ")
    pairs = _pairs(db, "organisation")
    assert (uz.id, kz.id) not in pairs and (uz.id, kz2.id) not in pairs
    assert pairs[(kz.id, kz2.id)].reasons == ["same name ignoring case", "same country"]


def test_names_differing_by_a_real_word_are_not_paired(db: Session) -> None:
    vienna = make_organisation(db, "Embassy of Tajikistan in Vienna", country="TJK")
    berlin = make_organisation(db, "Embassy of Tajikistan in Berlin", country="TJK")
    first = make_organisation(db, "Regional Office 12 of Tajikistan", country="TJK")
    second = make_organisation(db, "Regional Office 13 of Tajikistan", country="TJK")
    right = make_organisation(db, "Ministry of Foreign Affairs of Tajikistan", country="TJK")
    typo = make_organisation(db, "Ministry of Foriegn Affairs of Tajikistan", country="TJK")
    pairs = _pairs(db, "organisation")
    assert (vienna.id, berlin.id) not in pairs and (first.id, second.id) not in pairs
    assert pairs[(right.id, typo.id)].score >= 92


def test_not_a_duplicate_is_remembered(db: Session) -> None:
    a = make_person(db, given_name="Ahmed", family_name="Ali")
    b = make_person(db, given_name="Ahmed", family_name="Ali")
    assert (a.id, b.id) in _pairs(db)
    duplicates.dismiss(db, kind="person", a_id=b.id, b_id=a.id, actor=None)
    duplicates.dismiss(db, kind="person", a_id=a.id, b_id=b.id, actor=None)  # idempotent
    assert (a.id, b.id) not in _pairs(db)
    entries = db.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "duplicate.dismiss")
    )
    assert entries == 1


def test_page_and_api(client: TestClient, db: Session) -> None:
    mfa = make_organisation(db, "Ministerio de Relaciones Exteriores")
    a = make_person(db, given_name="José", family_name="Hernández")
    b = make_person(db, given_name="Jose", family_name="Hernandez")
    make_position(db, a, mfa, title="Director")
    make_position(db, b, mfa, title="Director")
    campaigner = make_user(db)
    coordinator = make_user(db, Role.coordinator)
    assert client.get("/api/v1/duplicates", headers=api_headers(db, campaigner)).status_code == 403
    headers = api_headers(db, coordinator)
    body = client.get("/api/v1/duplicates", params={"kind": "person"}, headers=headers).json()
    assert body["total"] == 1 and body["items"][0]["a_id"] == a.id
    assert body["items"][0]["reasons"][0] == "same name ignoring accents"
    assert (
        client.get("/api/v1/duplicates", params={"per_page": 500}, headers=headers).status_code
        == 422
    )
    bad = client.post(
        "/api/v1/duplicates/dismiss",
        json={"kind": "person", "a_id": a.id, "b_id": 999999},
        headers=headers,
    )
    assert bad.status_code == 404
    token = login(client, coordinator)
    home = client.get("/contacts")
    assert "/contacts/duplicates" in home.text
    page = client.get("/contacts/duplicates")
    assert "José Hernández" in page.text and "same name ignoring accents" in page.text
    assert f"keep_id={a.id}&amp;drop_id={b.id}" in page.text and "Not a duplicate" in page.text
    resp = client.post(
        "/contacts/duplicates/dismiss",
        data={"csrf_token": token, "kind": "person", "a_id": str(a.id), "b_id": str(b.id)},
        follow_redirects=True,
    )
    assert resp.status_code == 200 and "No likely duplicates" in resp.text
    assert client.get("/api/v1/duplicates", headers=headers).json()["total"] == 0


# --- re-importing after merges ---------------------------------------------------------

HEADERS = ["First name", "Last name", "Organisation", "Title", "Country"]


def _import(db: Session, rows: list[list[str]]) -> None:
    run(
        db,
        data=write_csv(HEADERS, rows, ",").encode(),
        filename="master.csv",
        options=ImportOptions.model_validate({}),
        dry_run=False,
        actor=None,
    )


def _counts(db: Session) -> tuple[int, int, int]:
    return (
        db.scalar(select(func.count()).select_from(Person)) or 0,
        db.scalar(select(func.count()).select_from(Organisation)) or 0,
        db.scalar(select(func.count()).select_from(Position)) or 0,
    )


def test_reimporting_after_merges_creates_nothing(db: Session) -> None:
    rows = [
        ["Muhriddin", "Karimov", "Ministry of Foreign Affairs of Uzbekistan", "Director", "UZ"],
        ["Mukhriddin", "Karimov", "MFA Uzbekistan", "Director of Department", "UZ"],
    ]
    _import(db, rows)
    people = db.scalars(
        select(Person).where(Person.family_name == "Karimov").order_by(Person.id)
    ).all()
    orgs = db.scalars(select(Organisation).order_by(Organisation.id)).all()
    assert [p.given_name for p in people] == ["Muhriddin", "Mukhriddin"]
    kept_org = next(o for o in orgs if o.name.startswith("Ministry"))
    dropped_org = next(o for o in orgs if o.name == "MFA Uzbekistan")
    merge(
        db,
        data=MergeCommand(kind="organisation", keep_id=kept_org.id, drop_id=dropped_org.id),
        actor=None,
    )
    merge(
        db, data=MergeCommand(kind="person", keep_id=people[0].id, drop_id=people[1].id), actor=None
    )
    before = _counts(db)
    _import(db, rows)
    assert _counts(db) == before
    _import(db, [["MUKHRIDDIN", "KARIMOV", "mfa uzbekistan", "Director of Department", "UZ"]])
    assert _counts(db) == before


def test_the_page_scans_again_only_when_the_directory_changed(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    ministry = make_organisation(db, "Ministerio de Relaciones Exteriores", country="MEX")
    make_position(db, make_person(db, given_name="José", family_name="Hernández"), ministry)
    make_position(db, make_person(db, given_name="Jose", family_name="Hernandez"), ministry)
    scans = 0
    real = duplicates.candidates

    def counted(session: Session, kind: duplicates.Kind) -> list[duplicates.Candidate]:
        nonlocal scans
        scans += 1
        return real(session, kind)

    monkeypatch.setattr(duplicates, "candidates", counted)
    first = duplicates.candidate_page(db, "person")
    assert duplicates.candidate_page(db, "person", page=1).total == first.total >= 1
    assert scans == 1
    make_person(db, given_name="Josė", family_name="Hernandes")
    changed = duplicates.candidate_page(db, "person")
    assert scans == 2 and changed.total > first.total
