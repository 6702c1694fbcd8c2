"""The position register: entries from replies and statements, current position, history."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.countries import service as countries_service
from app.models import LetterStatus, PositionStance, Role
from app.replies import positions, service
from app.replies.schemas import PositionCreate
from app.treaties import service as treaties_service
from tests.factories import api_headers, login, make_user
from tests.replies.helpers import log_reply, make_letter


def test_reply_with_position_becomes_evidence(db: Session) -> None:
    letter = make_letter(db, iso3="PAK")
    reply_id = log_reply(
        db,
        letter_ids=[letter.id],
        positions=[{"treaty": "CCM", "stance": "opposes", "quote": "prefers the CCW"}],
    )
    db.refresh(letter)
    assert letter.status is LetterStatus.replied
    ccm = treaties_service.get_by_short_name(db, "CCM")
    pak = countries_service.get_by_code(db, "PAK")
    current = positions.current(db, treaty_id=ccm.id)[pak.id]
    assert (current.stance, current.reply_id, current.quote) == (
        PositionStance.opposes,
        reply_id,
        "prefers the CCW",
    )
    assert current.stated_on == date(2009, 3, 1)


def test_position_needs_a_state(db: Session) -> None:
    import pytest

    from app.errors import InvalidInput

    with pytest.raises(InvalidInput, match="state"):
        log_reply(db, positions=[{"treaty": "CCM", "stance": "supports"}])


def test_history_and_current_position(db: Session) -> None:
    actor = make_user(db, Role.coordinator)
    for stance, on in [("opposes", date(2009, 2, 16)), ("will_consider", date(2012, 5, 1))]:
        positions.create(
            db,
            data=PositionCreate(
                country="PAK",
                treaty="CCM",
                stance=stance,
                stated_on=on,
                source="Statement",
            ),
            actor=actor,
        )
    pak = countries_service.get_by_code(db, "PAK")
    history = positions.history(db, country_id=pak.id)
    assert [e.stance.value for e in history] == ["will_consider", "opposes"]
    ccm = treaties_service.get_by_short_name(db, "CCM")
    assert positions.current(db, treaty_id=ccm.id)[pak.id].stance is PositionStance.will_consider
    changes = positions.recent_changes(db)
    assert [(e.stance, before) for e, before in changes] == [
        (PositionStance.will_consider, PositionStance.opposes),
        (PositionStance.opposes, None),
    ]


def test_manual_entries_in_the_web_ui(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.coordinator))
    missing = client.post(
        "/positions",
        data={
            "csrf_token": token,
            "country": "KAZ",
            "treaty": "CCM",
            "stance": "supports",
            "stated_on": "2024-01-01",
        },
    )
    assert missing.status_code == 422 and "evidence" in missing.text
    resp = client.post(
        "/positions",
        data={
            "csrf_token": token,
            "country": "KAZ",
            "treaty": "CCM",
            "stance": "will_consider",
            "stated_on": "2024-01-01",
            "quote": "<script>alert('x')</script>",
            "source": "Statement at the 12th Meeting of States Parties",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/positions/KAZ"
    page = client.get("/positions/KAZ")
    assert "Statement at the 12th Meeting" in page.text
    assert "<script>alert('x')</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    entry = positions.history(db, country_id=countries_service.get_by_code(db, "KAZ").id)[0]
    resp = client.post(
        f"/positions/entries/{entry.id}",
        data={
            "csrf_token": token,
            "stance": "supports",
            "stated_on": "2024-02-01",
            "source": "Press release",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303
    assert positions.get(db, entry.id).stance is PositionStance.supports
    register = client.get("/positions?treaty=CCM")
    assert (
        "Kazakhstan" in register.text and 'data-iso2="KZ" data-category="supports"' in register.text
    )
    resp = client.post(
        f"/positions/entries/{entry.id}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert resp.status_code == 303


def test_campaigners_read_but_do_not_edit(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.campaigner))
    assert client.get("/positions/PAK").status_code == 200
    resp = client.post(
        "/positions",
        data={
            "csrf_token": token,
            "country": "KAZ",
            "treaty": "CCM",
            "stance": "supports",
            "stated_on": "2024-01-01",
            "source": "x",
        },
    )
    assert resp.status_code == 403


def test_positions_api(client: TestClient, db: Session) -> None:
    coordinator = api_headers(db, make_user(db, Role.coordinator))
    body = {
        "country": "PAK",
        "treaty": "CCM",
        "stance": "opposes",
        "stated_on": "2009-02-16",
        "source": "MFA",
    }
    created = client.post("/api/v1/position-register", json=body, headers=coordinator)
    assert created.status_code == 201, created.text
    entry_id = created.json()["id"]
    listed = client.get(
        "/api/v1/position-register?country=PAK&current=true", headers=coordinator
    ).json()
    assert [e["stance"] for e in listed] == ["opposes"]
    bad = client.post(
        "/api/v1/position-register", json={**body, "treaty": "XYZ"}, headers=coordinator
    )
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )
    upd = client.put(
        f"/api/v1/position-register/{entry_id}",
        json={"stance": "will_consider", "stated_on": "2010-01-01", "source": "MFA"},
        headers=coordinator,
    )
    assert upd.status_code == 200 and upd.json()["stance"] == "will_consider"
    campaigner = api_headers(db, make_user(db, Role.campaigner))
    assert (
        client.post("/api/v1/position-register", json=body, headers=campaigner).status_code == 403
    )
    assert (
        client.delete(f"/api/v1/position-register/{entry_id}", headers=coordinator).status_code
        == 204
    )
    assert (
        client.get(f"/api/v1/position-register/{entry_id}", headers=coordinator).status_code == 404
    )


def test_deleting_a_reply_reopens_its_letter_and_drops_its_positions(db: Session) -> None:
    letter = make_letter(db, iso3="AFG")
    reply_id = log_reply(
        db, letter_ids=[letter.id], positions=[{"treaty": "CCM", "stance": "supports"}]
    )
    actor = make_user(db, Role.coordinator)
    service.delete(db, reply_id=reply_id, actor=actor)
    db.refresh(letter)
    assert letter.status is LetterStatus.sent
    assert positions.for_reply(db, reply_id) == []


def test_state_of_a_sender_person_comes_from_their_position(db: Session) -> None:
    from tests.factories import make_organisation, make_person, make_position

    mfa = make_organisation(db, "MFA (person test)", type="ministry", country="THA")
    person = make_person(db)
    make_position(db, person, mfa)
    reply_id = log_reply(
        db, sender_person_id=person.id, positions=[{"treaty": "CCM", "stance": "will_consider"}]
    )
    entry = positions.for_reply(db, reply_id)[0]
    assert entry.iso3 == "THA"
