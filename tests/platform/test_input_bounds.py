"""Inputs that used to end in a 500 or in a wrong value: each now gets a clear 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.campaigns import service as campaigns_service
from app.campaigns.schemas import CampaignCreate
from app.config import get_settings
from app.models import Role
from app.replies import service as replies_service
from app.replies.schemas import ReplyCreate
from tests.factories import api_headers, make_person, make_user


def _problem(resp: httpx.Response, status: int) -> dict[str, object]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = resp.json()
    assert body["status"] == status and body["detail"]
    return body


def test_dates_are_iso_strings_in_a_sane_range(client: TestClient, db: Session) -> None:
    coordinator = make_user(db, Role.coordinator)
    headers = api_headers(db, coordinator)
    campaign = campaigns_service.create(
        db,
        data=CampaignCreate(name="Bounds", treaty="CCM"),
        owner=coordinator,
        actor=coordinator,
    )
    url = f"/api/v1/campaigns/{campaign.id}/milestones"
    for bad in (0, 1262304000, "1/5/2010", "9999-12-31", "0001-01-01", "2010-02-30"):
        body = _problem(
            client.post(url, json={"title": "T", "due_date": bad}, headers=headers), 422
        )
        assert "date" in str(body["detail"]).lower() or body.get("errors")
    ok = client.post(url, json={"title": "T", "due_date": "2010-08-01"}, headers=headers)
    assert ok.status_code in (200, 201), ok.text
    treaties = client.get("/api/v1/countries/TJK/treaties?on=9999-12-31", headers=headers)
    _problem(treaties, 422)
    assert client.get("/api/v1/countries/TJK/treaties?on=2010-08-01", headers=headers).is_success


def test_reply_sender_with_an_invalid_email_is_a_422(client: TestClient, db: Session) -> None:
    coordinator = make_user(db, Role.coordinator)
    reply = replies_service.create(
        db, data=ReplyCreate(received_on=date(2010, 5, 1), sender_name="X"), actor=coordinator
    )
    resp = client.post(
        f"/api/v1/replies/{reply.id}/contact",
        json={"kind": "person", "name": "Ana Pérez", "email": "not an address"},
        headers=api_headers(db, coordinator),
    )
    _problem(resp, 422)
    assert replies_service.get(db, reply.id).sender_person_id is None


@pytest.mark.parametrize("name", ["МИД", "ÉTÉ", "Ministère"])
def test_a_duplicate_tag_in_any_script_is_a_conflict(
    client: TestClient, db: Session, name: str
) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    assert client.post("/api/v1/tags", json={"name": name}, headers=headers).status_code == 201
    _problem(client.post("/api/v1/tags", json={"name": name}, headers=headers), 409)
    _problem(client.post("/api/v1/tags", json={"name": name.lower()}, headers=headers), 409)
    # the filter by such a tag finds its people on both databases
    person = make_person(db, tags=[name])
    found = client.get(f"/api/v1/people?tag={name.lower()}", headers=headers)
    assert found.is_success and person.id in {p["id"] for p in found.json()["items"]}


def test_a_chunked_body_over_the_cap_is_a_413(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.campaigner))
    cap = get_settings().max_request_bytes

    def body() -> Iterator[bytes]:
        block = b"x" * (1024 * 1024)
        for _ in range(cap // len(block) + 2):
            yield block

    resp = client.post(
        "/api/v1/replies/import-email",
        content=body(),
        headers={**headers, "content-type": "multipart/form-data; boundary=b"},
    )
    _problem(resp, 413)


@pytest.mark.parametrize("name", ["«ÄÏÊ» Coalición", "Коалиция"])
def test_a_duplicate_cosigner_name_in_any_script_is_a_conflict(
    client: TestClient, db: Session, name: str
) -> None:
    headers = api_headers(db, make_user(db, Role.admin))
    created = client.post("/api/v1/cosigners", json={"name": name}, headers=headers)
    assert created.status_code == 201, created.text
    _problem(client.post("/api/v1/cosigners", json={"name": name}, headers=headers), 409)
    _problem(client.post("/api/v1/cosigners", json={"name": name.lower()}, headers=headers), 409)
    found = client.get("/api/v1/cosigners", params={"q": name.lower()[:4]}, headers=headers)
    assert found.is_success and name in {c["name"] for c in found.json()["items"]}
