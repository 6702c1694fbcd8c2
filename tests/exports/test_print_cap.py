"""Labels and envelopes are typeset a chunk of pages at a time, under a stated page cap."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from app.exports import service as exports_service
from app.models import User
from tests.exports.conftest import Directory, postal
from tests.factories import api_headers, make_person


def test_print_exports_are_typeset_in_chunks_and_capped(
    client: TestClient,
    db: Session,
    directory: Directory,
    coordinator: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(7):
        person = make_person(db, given_name=f"Env{i}", family_name="Test", tags=[directory.tag])
        postal(db, person=person, street=f"{i} Rue", city="Genève", code="CH", postcode="1202")
    headers = api_headers(db, coordinator)
    body = {"source": "segment", "segment_id": directory.segment.id, "format": "envelopes"}
    monkeypatch.setattr(exports_service, "PAGES_PER_CHUNK", 2)
    resp = client.post("/api/v1/exports", json=body, headers=headers)
    assert resp.status_code == 200, resp.text
    reader = PdfReader(io.BytesIO(resp.content))
    texts = [page.extract_text() for page in reader.pages]
    assert len(texts) == 13  # 6 from the directory and 7 added, one envelope each
    assert sum("Env" in t for t in texts) == 7
    monkeypatch.setattr(exports_service, "MAX_PDF_PAGES", 5)
    refused = client.post("/api/v1/exports", json=body, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "5 pages" in refused.json()["detail"]
