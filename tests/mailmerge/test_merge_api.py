"""Mail merge API: roles, problem+json errors, progress, cancel, letters and their PDFs."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.mailmerge import service
from app.mailmerge.schemas import MergeCreate
from app.models import Role
from tests.factories import api_headers, make_person, make_user
from tests.mailmerge.conftest import pdf_text


def _body(world: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "template_id": world["template"].id,
        "source": {"kind": "segment", "segment_id": world["segment"].id},
        "treaty": "CCM",
        "letter_date": "2010-03-25",
        **extra,
    }


def test_a_campaigner_drafts_a_merge_but_cannot_approve_its_letters(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    headers = api_headers(db, make_user(db))
    resp = client.post("/api/v1/merges", json=_body(world), headers=headers)
    assert resp.status_code == 201, resp.text
    letters = client.get(f"/api/v1/letters?batch_id={resp.json()['id']}", headers=headers)
    letter_id = letters.json()["items"][0]["id"]
    refused = client.post(f"/api/v1/letters/{letter_id}/approve", headers=headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_merge_progress_cancel_and_letters(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    created = client.post("/api/v1/merges", json=_body(world), headers=headers)
    assert created.status_code == 201, created.text
    merge = created.json()
    assert (merge["status"], merge["total"], merge["percent"]) == ("queued", 6, 0)
    progress = client.get(f"/api/v1/merges/{merge['id']}", headers=headers).json()
    assert progress["rendered"] == 0 and progress["combined_pdf_url"] is None
    assert (
        client.get(f"/api/v1/merges/{merge['id']}/combined.pdf", headers=headers).status_code == 404
    )

    letters = client.get(f"/api/v1/letters?batch_id={merge['id']}", headers=headers).json()
    assert letters["total"] == 6
    found = client.get("/api/v1/letters?q=rahmon", headers=headers).json()
    assert [x["reference"] for x in found["items"]] == ["CMC/2010/TJK/0001"]
    letter = found["items"][0]
    one = client.get(f"/api/v1/letters/{letter['id']}", headers=headers).json()
    assert one["template_version_id"] and one["language"] == "ru" and one["status"] == "draft"

    cancelled = client.post(f"/api/v1/merges/{merge['id']}/cancel", headers=headers)
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/merges/{merge['id']}/cancel", headers=headers)
    assert again.status_code == 409


def test_letter_pdf_rendered_on_demand(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    headers = api_headers(db, make_user(db))
    batch = service.create_merge(
        db,
        data=MergeCreate.model_validate(_body(world)),
        actor=None,
    )
    letter = service.list_letters(db, batch_id=batch.id, q="rahmon")[0][0]
    resp = client.get(f"/api/v1/letters/{letter.id}/pdf", headers=headers)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/pdf"
    assert "CMC-2010-TJK-0001_h-e-emomali-rahmon.pdf" in resp.headers["content-disposition"]
    reader, text = pdf_text(resp.content)
    assert len(reader.pages) == 1 and "CMC/2010/TJK/0001" in text and "Э.Ш. Рахмону" in text


def test_preview_lists_excluded_recipients(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    quiet = make_person(db, family_name="Nopost", no_post=True)
    body = _body(world, source={"kind": "contacts", "person_ids": [quiet.id]})
    resp = client.post("/api/v1/merges/preview", json=body, headers=api_headers(db, make_user(db)))
    assert resp.status_code == 200
    data = resp.json()
    assert data["letters"] == [] and data["excluded"][0]["reason"] == "flagged “no post”"


def test_bad_input_is_a_clear_422(client: TestClient, db: Session, world: dict[str, Any]) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    bad = client.post(
        "/api/v1/merges", json=_body(world, reference_pattern="{year}"), headers=headers
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "reference_pattern"
    missing = client.post("/api/v1/merges", json=_body(world, template_id=999999), headers=headers)
    assert missing.status_code == 422 and "template" in missing.json()["detail"]
    assert client.get("/api/v1/merges/999999", headers=headers).status_code == 404
    assert client.get("/api/v1/letters/999999/pdf", headers=headers).status_code == 404


def test_downloads_after_rendering(
    client: TestClient, db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    headers = api_headers(db, make_user(db))
    batch = service.create_merge(db, data=MergeCreate.model_validate(_body(world)), actor=None)
    service.run_batch(batch.id, pool=pool)
    merge = client.get(f"/api/v1/merges/{batch.id}", headers=headers).json()
    assert (merge["status"], merge["percent"], merge["failures"]) == ("done", 100, [])
    pdf = client.get(merge["combined_pdf_url"], headers=headers)
    assert "attachment" in pdf.headers["content-disposition"]
    assert len(pdf_text(pdf.content)[0].pages) == 6
    archive = client.get(merge["zip_url"], headers=headers)
    assert archive.headers["content-type"] == "application/zip"
    assert client.get(merge["zip_url"]).status_code == 401
