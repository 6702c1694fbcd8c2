"""/api/v1/cosigners: everyone signed in reads, admins change; bad input is a 4xx problem."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.models import Role
from app.settings_admin import images
from tests.cosigners.conftest import HI, HRW, gif, png
from tests.factories import api_headers, make_user


def test_admin_manages_cosigners_and_a_campaigner_reads_them(
    client: TestClient, db: Session
) -> None:
    admin = api_headers(db, make_user(db, Role.admin))
    reader = api_headers(db, make_user(db, Role.campaigner))
    assert client.get("/api/v1/cosigners", headers=reader).json() == {
        "total": 0,
        "page": 1,
        "items": [],
    }

    created = client.post("/api/v1/cosigners", json=HI, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["translations"]["ru"]["name"] == "Хандикап Интернэшнл"
    assert body["version"] == 1 and body["has_logo"] is False
    cid = body["id"]
    assert client.post("/api/v1/cosigners", json=HRW, headers=admin).status_code == 201

    listed = client.get("/api/v1/cosigners", params={"per_page": 1}, headers=reader).json()
    assert listed["total"] == 2 and [c["name"] for c in listed["items"]] == [HI["name"]]

    changed = client.put(
        f"/api/v1/cosigners/{cid}",
        json={**HI, "signatory_title": "Head of Advocacy", "version": 1},
        headers=admin,
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = client.put(f"/api/v1/cosigners/{cid}", json={**HI, "version": 1}, headers=admin)
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "application/problem+json"

    assert client.get(f"/api/v1/cosigners/{cid}", headers=reader).json()["signatory_title"] == (
        "Head of Advocacy"
    )
    assert client.post("/api/v1/cosigners", json=HRW, headers=reader).status_code == 403
    assert client.delete(f"/api/v1/cosigners/{cid}", headers=reader).status_code == 403
    assert client.delete(f"/api/v1/cosigners/{cid}", headers=admin).status_code == 204
    missing = client.get(f"/api/v1/cosigners/{cid}", headers=reader)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_bad_input_is_a_422_problem_and_nothing_is_written(client: TestClient, db: Session) -> None:
    admin = api_headers(db, make_user(db, Role.admin))
    for bad in (
        {**HI, "name": " "},
        {**HI, "translations": {"de": {"name": "Handicap International"}}},
        {**HI, "translations": {"ru": {"motto": "x"}}},
        {**HI, "translations": {"ru": {"name": "x" * 201}}},
    ):
        resp = client.post("/api/v1/cosigners", json=bad, headers=admin)
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
    assert client.post("/api/v1/cosigners", json=HI, headers=admin).status_code == 201
    taken = client.post("/api/v1/cosigners", json=HI, headers=admin)
    assert taken.status_code == 409 and "already exists" in taken.json()["detail"]
    assert client.get("/api/v1/cosigners", headers=admin).json()["total"] == 1
    assert client.get("/api/v1/cosigners/0", headers=admin).status_code == 422


def test_logo_upload_accepts_png_and_refuses_gif_with_the_shared_message(
    client: TestClient, db: Session
) -> None:
    admin = api_headers(db, make_user(db, Role.admin))
    cid = client.post("/api/v1/cosigners", json=HI, headers=admin).json()["id"]
    url = f"/api/v1/cosigners/{cid}/logo"

    refused = client.put(url, headers=admin, files={"file": ("logo.gif", gif(), "image/gif")})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert "This file is a GIF image" in refused.json()["detail"]
    assert list(images.directory().glob("cosigner-*")) == []
    assert audit_service.list_entries(db, action="cosigner.logo.upload")[0] == []

    ok = client.put(url, headers=admin, files={"file": ("logo.png", png(), "image/png")})
    assert ok.status_code == 200, ok.text
    assert ok.json() == {
        "kind": "logo",
        "content_type": "image/png",
        "width": 200,
        "height": 200,
        "bytes": len(png()),
    }
    assert client.get(f"/api/v1/cosigners/{cid}", headers=admin).json()["has_logo"] is True
    assert len(list(images.directory().glob(f"cosigner-{cid}-*"))) == 1

    assert client.delete(url, headers=admin).status_code == 204
    assert list(images.directory().glob("cosigner-*")) == []
    again = client.delete(url, headers=admin)
    assert again.status_code == 404 and "no logo" in again.json()["detail"]
