"""The organisation's own logo and signature: uploaded in Settings (PNG or JPEG, checked from
their bytes), shown in letters' PDFs and HTML previews, refused with a clear message otherwise."""

from __future__ import annotations

import base64
import io
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.letters import service as letters_service
from app.letters.context import sample_context
from app.letters.fetcher import BlockedResource
from app.letters.render import LetterJob, fetcher, render_html, render_pdf
from app.models import Role
from app.settings_admin import images
from tests.factories import api_headers, login, make_user


@pytest.fixture(autouse=True)
def _no_uploads() -> Iterator[None]:
    """Uploads are files shared by the whole run: none before a test, none after it."""
    shutil.rmtree(images.directory(), ignore_errors=True)
    yield
    shutil.rmtree(images.directory(), ignore_errors=True)


def png(size: tuple[int, int] = (300, 100), color: tuple[int, int, int] = (31, 78, 121)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def jpeg(size: tuple[int, int] = (240, 80)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 20, 60)).save(out, "JPEG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    return out.getvalue()


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_bomb(side: int = 50_000) -> bytes:
    """A real decompression bomb: a few hundred kB that unpack to side² one-bit pixels."""
    row = b"\x00" * (1 + side // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>'


def _images_in(pdf: bytes) -> int:
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    resources = page["/Resources"].get_object()
    assert isinstance(resources, DictionaryObject)
    xobjects = resources.get("/XObject")
    if xobjects is None:
        return 0
    found = xobjects.get_object().values()
    return sum(1 for x in found if x.get_object()["/Subtype"] == "/Image")


def _letter_pdf() -> bytes:
    job = LetterJob(body="<p>Excellency,</p>", subject="CCM", context=sample_context("en"))
    return render_pdf(job).pdf


def _upload(
    client: TestClient, headers: dict[str, str], kind: str, data: bytes, name: str
) -> httpx.Response:
    return client.put(
        f"/api/v1/organisation/images/{kind}",
        headers=headers,
        files={"file": (name, data, "application/octet-stream")},
    )


# ----------------------------------------------------------------------------- accepted


def test_uploaded_png_logo_and_jpeg_signature_are_in_the_pdf(
    client: TestClient, db: Session
) -> None:
    headers = api_headers(db, make_user(db, Role.admin))
    assert _images_in(_letter_pdf()) == 0  # the built-in logo is a drawing, not an image

    resp = _upload(client, headers, "logo", png(), "logo.png")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "kind": "logo",
        "content_type": "image/png",
        "width": 300,
        "height": 100,
        "bytes": len(png()),
    }
    assert _images_in(_letter_pdf()) == 1

    resp = _upload(client, headers, "signature", jpeg(), "signature.jpg")
    assert resp.status_code == 200 and resp.json()["content_type"] == "image/jpeg"
    assert _images_in(_letter_pdf()) == 2
    listed = client.get("/api/v1/organisation/images", headers=headers).json()
    assert listed["logo"]["width"] == 300 and listed["signature"]["height"] == 80

    actions = {
        e.action for e in audit_service.list_entries(db, entity_type="organisation_profile")[0]
    }
    assert {"profile.logo.upload", "profile.signature.upload"} <= actions


def test_html_preview_carries_the_uploaded_images_as_data_urls() -> None:
    images.save("logo", png())
    images.save("signature", jpeg())
    html = render_html(LetterJob(body="<p>x</p>", subject="CCM", context=sample_context("ru")))
    assert f'src="data:image/png;base64,{base64.b64encode(png()).decode()}"' in html
    assert f'src="data:image/jpeg;base64,{base64.b64encode(jpeg()).decode()}"' in html
    assert "file:" not in html and "logo.svg" not in html
    # The signature stands above the signatory's name.
    assert html.index('class="signature"') < html.index("Томас Нэш")


def test_web_previews_show_the_uploaded_logo(client: TestClient, db: Session) -> None:
    images.save("logo", png())
    appeal = letters_service.get_by_slug(db, "appeal-head-of-state")
    assert appeal is not None
    login(client, make_user(db))
    page = client.get(f"/templates/{appeal.id}/preview/en.html")
    assert page.status_code == 200
    assert base64.b64encode(png()).decode() in page.text
    pdf = client.get(f"/templates/{appeal.id}/preview/en.pdf")
    assert pdf.status_code == 200 and _images_in(pdf.content) == 1


def test_without_uploads_letters_keep_the_built_in_logo_and_signing_space() -> None:
    html = render_html(LetterJob(body="<p>x</p>", subject="CCM", context=sample_context("en")))
    assert 'src="data:image/svg+xml;base64,' in html
    assert '<div class="space"></div>' in html and 'class="signature"' not in html


# ----------------------------------------------------------------------------- refused


REFUSED = [
    ("logo.svg", SVG, "SVG images are not accepted"),
    ("logo.gif", gif(), "This file is a GIF image"),
    ("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x13garbage" * 200, "cannot be read as one"),
    ("logo.png", png()[: len(png()) // 2], "cannot be read as one"),
    ("logo.jpg", jpeg()[: len(jpeg()) // 2], "starts like a JPEG image but cannot be read"),
    ("logo.txt", b"hello", "not a PNG or JPEG image"),
    ("logo.png", b"", "The file is empty"),
    ("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * images.MAX_BYTES, "larger than the limit"),
    ("bomb.png", png_bomb(), "more pixels than letters take"),
    ("big.png", png((5000, 20)), "5,000×20 pixels; the limit is 4,000×4,000"),
]


@pytest.mark.parametrize(
    ("name", "data", "message"), REFUSED, ids=[r[0] + r[2][:12] for r in REFUSED]
)
def test_api_refuses_what_is_not_a_small_png_or_jpeg(
    client: TestClient, db: Session, name: str, data: bytes, message: str
) -> None:
    headers = api_headers(db, make_user(db, Role.admin))
    resp = _upload(client, headers, "logo", data, name)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert message in resp.json()["detail"]
    assert not images.path_of("logo").exists()
    assert [p.name for p in images.directory().glob("*")] == []
    entries = audit_service.list_entries(db, action="profile.logo.upload")[0]
    assert entries == []


def test_bomb_is_small_on_disk_but_huge_in_pixels() -> None:
    bomb = png_bomb()
    assert len(bomb) < images.MAX_BYTES  # refused for its pixels, not its size


def test_web_form_shows_the_refusal_inline_and_stores_nothing(
    client: TestClient, db: Session
) -> None:
    token = login(client, make_user(db, Role.admin))
    resp = client.post(
        "/settings/images/signature",
        data={"csrf_token": token},
        files={"file": ("sig.svg", SVG, "image/svg+xml")},
        follow_redirects=False,
    )
    assert resp.status_code == 422
    assert "SVG images are not accepted" in resp.text and 'role="alert"' in resp.text
    assert not images.path_of("signature").exists()


def test_web_upload_then_removal_with_confirmation(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.admin))
    resp = client.post(
        "/settings/images/logo",
        data={"csrf_token": token},
        files={"file": ("logo.jpg", jpeg(), "image/jpeg")},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    assert images.path_of("logo").read_bytes() == jpeg()
    page = client.get("/settings").text
    assert base64.b64encode(jpeg()).decode() in page
    assert 'data-confirm="Remove the letterhead logo image?' in page
    resp = client.post(
        "/settings/images/logo/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert resp.status_code == 303 and not images.path_of("logo").exists()
    assert "built-in envelope icon" in client.get("/settings").text
    removed = audit_service.list_entries(db, action="profile.logo.remove")[0]
    assert len(removed) == 1
    again = client.post(
        "/settings/images/logo/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert again.status_code == 404


def test_api_removal(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.admin))
    assert _upload(client, headers, "signature", png(), "s.png").status_code == 200
    assert (
        client.delete("/api/v1/organisation/images/signature", headers=headers).status_code == 204
    )
    assert not images.path_of("signature").exists()
    assert client.get("/api/v1/organisation/images", headers=headers).json() == {
        "logo": None,
        "signature": None,
    }
    gone = client.delete("/api/v1/organisation/images/signature", headers=headers)
    assert gone.status_code == 404
    unknown = _upload(client, headers, "watermark", png(), "w.png")
    assert unknown.status_code == 404


@pytest.mark.parametrize("role", [Role.campaigner, Role.coordinator])
def test_only_admins_upload_or_remove(client: TestClient, db: Session, role: Role) -> None:
    user = make_user(db, role)
    headers = api_headers(db, user)
    assert _upload(client, headers, "logo", png(), "logo.png").status_code == 403
    assert client.delete("/api/v1/organisation/images/logo", headers=headers).status_code == 403
    token = login(client, user)
    web = client.post(
        "/settings/images/logo",
        data={"csrf_token": token},
        files={"file": ("logo.png", png(), "image/png")},
        follow_redirects=False,
    )
    assert web.status_code == 403
    delete = client.post(
        "/settings/images/logo/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert delete.status_code == 403
    assert not images.path_of("logo").exists()


# ----------------------------------------------------------------------------- fetcher


def test_fetcher_serves_the_uploads_and_nothing_else_beside_them(tmp_path: Path) -> None:
    images.save("logo", png())
    uploads = images.directory()
    served = fetcher().fetch(images.path_of("logo").as_uri())
    assert served.content_type == "image/png" and served.read() == png()
    (uploads / "notes.txt").write_text("secret")
    (uploads / ".logo-x.upload").write_bytes(png())
    outside = tmp_path / "secret.png"
    outside.write_bytes(png())
    (uploads / "signature").symlink_to(outside)
    for path in (uploads / "notes.txt", uploads / ".logo-x.upload", uploads / "signature"):
        with pytest.raises(BlockedResource):
            fetcher().fetch(path.as_uri())
    (uploads / "signature").unlink()
    (uploads / "signature").write_bytes(SVG)  # planted, not uploaded: not a PNG or JPEG
    with pytest.raises(BlockedResource):
        fetcher().fetch((uploads / "signature").as_uri())
    assert images.stored("signature") is None
