"""Scans and images only, sniffed from their bytes; downloads only, for signed-in users."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import get_settings
from app.errors import InvalidInput, PayloadTooLarge
from app.models import Role
from app.replies import service
from tests.factories import api_headers, login, make_user
from tests.replies.helpers import log_reply

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_types_are_sniffed_not_trusted(db: Session) -> None:
    reply_id = log_reply(db)
    html = b"<html><script>alert(1)</script></html>"
    with pytest.raises(InvalidInput, match="only PDF scans and images"):
        service.add_attachment(db, reply_id=reply_id, filename="scan.pdf", content=html, actor=None)
    with pytest.raises(InvalidInput):
        service.add_attachment(
            db, reply_id=reply_id, filename="x.svg", content=b"<svg/>", actor=None
        )
    with pytest.raises(InvalidInput, match="empty"):
        service.add_attachment(db, reply_id=reply_id, filename="x.pdf", content=b"", actor=None)
    a = service.add_attachment(
        db, reply_id=reply_id, filename="../../etc/<evil>.html", content=PNG, actor=None
    )
    assert a.content_type == "image/png"
    assert a.filename == "evil_.png"
    stored = get_settings().files_dir / a.storage_path
    assert stored.read_bytes() == PNG
    assert "evil" not in a.storage_path and len(stored.stem) == 32


def test_size_cap(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    reply_id = log_reply(db)
    monkeypatch.setattr(service, "MAX_ATTACHMENT_BYTES", 100)
    with pytest.raises(PayloadTooLarge):
        service.add_attachment(
            db, reply_id=reply_id, filename="big.pdf", content=PDF * 10, actor=None
        )


def test_downloads_only_for_signed_in_users_as_attachments(client: TestClient, db: Session) -> None:
    reply_id = log_reply(db)
    a = service.add_attachment(
        db, reply_id=reply_id, filename="Reply scan.pdf", content=PDF, actor=None
    )
    url = f"/replies/attachments/{a.id}"
    anonymous = client.get(url, follow_redirects=False)
    assert anonymous.status_code in {302, 303, 401}
    assert PDF not in anonymous.content
    assert client.get(f"/api/v1/replies/attachments/{a.id}").status_code == 401

    user = make_user(db, Role.campaigner)
    login(client, user)
    resp = client.get(url)
    assert resp.status_code == 200 and resp.content == PDF
    assert resp.headers["content-disposition"].startswith("attachment;")
    assert (
        "Reply%20scan.pdf" in resp.headers["content-disposition"]
        or "Reply scan.pdf" in resp.headers["content-disposition"]
    )
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["content-type"] == "application/pdf"
    api = client.get(f"/api/v1/replies/attachments/{a.id}", headers=api_headers(db, user))
    assert api.status_code == 200 and api.headers["content-disposition"].startswith("attachment;")
    assert client.get("/replies/attachments/999999").status_code == 404


def test_web_upload_refuses_disguised_files(client: TestClient, db: Session) -> None:
    reply_id = log_reply(db)
    token = login(client, make_user(db, Role.campaigner))
    bad = client.post(
        f"/replies/{reply_id}/attachments",
        data={"csrf_token": token},
        files={"attachments": ("letter.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
    )
    assert bad.status_code == 422 and "only PDF scans and images" in bad.text
    ok = client.post(
        f"/replies/{reply_id}/attachments",
        data={"csrf_token": token},
        files={"attachments": ("letter.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert "letter.pdf" in client.get(f"/replies/{reply_id}").text
    no_csrf = client.post(
        f"/replies/{reply_id}/attachments",
        files={"attachments": ("letter.pdf", PDF, "application/pdf")},
    )
    assert no_csrf.status_code == 403
