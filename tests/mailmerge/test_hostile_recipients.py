"""Hostile text in the directory reaches letters and labels as text: markup in a contact's name,
title or address is printed as typed, never laid out as HTML, and fetches nothing."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.contacts import service as contacts_service
from app.contacts.schemas import ContactPointCreate
from app.mailmerge import rendering, service
from app.mailmerge.schemas import MergeCreate
from app.models import BatchStatus, Letter, Role
from tests.factories import api_headers, make_organisation, make_person, make_position, make_user
from tests.letters.conftest import CanaryServer
from tests.mailmerge.conftest import pdf_text


def _payload(server: CanaryServer) -> str:
    return f'<script>alert("xss")</script><img src="{server.url}/name.png" onerror=alert(2)>'


def _hostile_person(db: Session, payload: str) -> int:
    ministry = make_organisation(db, f"Ministry {payload}", country="TJK")
    person = make_person(db, given_name="Ann", family_name=f"Lee {payload}")
    make_position(db, person=person, organisation=ministry, title=f"Minister {payload}")
    contacts_service.create_contact_point(
        db,
        data=ContactPointCreate(
            kind="postal",
            person_id=person.id,
            street_address=f"1 Rudaki Avenue {payload}",
            city="Dushanbe",
            country_code="TJ",
        ),
        actor=None,
    )
    return person.id


def test_markup_in_a_recipient_is_printed_in_the_letter(
    db: Session,
    world: dict[str, Any],
    pool: ProcessPoolExecutor,
    canary_server: CanaryServer,
) -> None:
    payload = _payload(canary_server)
    person_id = _hostile_person(db, payload)
    batch = service.create_merge(
        db,
        data=MergeCreate.model_validate(
            {
                "template_id": world["template"].id,
                "source": {"kind": "contacts", "person_ids": [person_id]},
                "treaty": "CCM",
                "channel": "post",
            }
        ),
        actor=None,
    )
    assert service.run_batch(batch.id, pool=pool) == BatchStatus.done
    db.expire_all()
    letter = db.scalars(select(Letter).where(Letter.batch_id == batch.id)).one()
    assert letter.pdf_path and not letter.render_error
    _, text = pdf_text((rendering.files_root() / letter.pdf_path).read_bytes())
    # printed as typed: a script or an image element would leave no such text on the page
    assert '<script>alert("xss")</script>' in text
    assert "onerror=alert(2)>" in text
    assert canary_server.requests == []


def test_markup_in_an_address_is_printed_on_the_label(
    client: TestClient, db: Session, canary_server: CanaryServer
) -> None:
    payload = _payload(canary_server)
    _hostile_person(db, payload)
    resp = client.post(
        "/api/v1/exports",
        json={"source": "search", "filters": {"q": "Lee"}, "format": "labels"},
        headers=api_headers(db, make_user(db, Role.coordinator)),
    )
    assert resp.status_code == 200, resp.text
    _, text = pdf_text(resp.content)
    assert '<script>alert("xss")</script>' in text
    assert "1 Rudaki Avenue" in text
    assert canary_server.requests == []
