"""A letter cannot reach the network or the file system beyond the letterhead assets."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.letters.context import sample_context
from app.letters.fetcher import BlockedResource
from app.letters.render import LetterJob, fetcher, render_pdf
from tests.letters.conftest import CanaryServer

CANARY = "CANARY-FILE-SECRET-7f3a"


def _attempts(server: str, canary: Path) -> str:
    file_url = canary.as_uri()
    return f"""
<link rel="attachment" href="{file_url}" title="stolen">
<link rel="attachment" href="{server}/attachment">
<link rel="stylesheet" href="{server}/style.css">
<link rel="stylesheet" href="{file_url}">
<style>
@import url("{server}/import.css");
@import url("{file_url}");
@font-face {{ font-family: Leak; src: url("{server}/font.woff"); }}
@font-face {{ font-family: Leak2; src: url("{file_url}"); }}
.x {{ font-family: Leak, Leak2; background: url("{server}/background.png"); }}
</style>
<p class="x">{{{{ recipient.name }}}}</p>
<img src="{server}/image.png" alt="">
<img src="{file_url}" alt="">
<img src="{server}/redirect-to-landed" alt="">
<img src="../manifest.json" alt="">
<img src="../../app/config.py" alt="">
<img src="file:///etc/passwd" alt="">
<div style="background-image: url('{server}/inline-style.png')">styled</div>
<svg width="20" height="20" xmlns="http://www.w3.org/2000/svg"
     xmlns:xlink="http://www.w3.org/1999/xlink">
  <image href="{server}/svg-image.png" width="10" height="10"/>
  <image xlink:href="{file_url}" width="10" height="10"/>
</svg>
<object data="{server}/object.svg"></object>
<embed src="{server}/embed.svg">
<iframe src="{file_url}"></iframe>
<a href="{server}/link">a link is not fetched</a>
"""


def test_fetch_attempts_reach_nothing(tmp_path: Path, canary_server: CanaryServer) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text(CANARY)
    job = LetterJob(
        body=_attempts(canary_server.url, canary),
        subject="Fetch test",
        context=sample_context("en"),
    )
    rendered = render_pdf(job)
    assert canary_server.requests == []
    reader = PdfReader(io.BytesIO(rendered.pdf))
    assert reader.attachments == {}
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Emomali Rahmon" in text
    assert CANARY not in text and "CANARY-HTTP-SECRET" not in text
    assert CANARY.encode() not in rendered.pdf
    assert b"root:x:0" not in rendered.pdf


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/",
        "https://example.org/logo.png",
        "ftp://example.org/x",
        "file://remotehost/etc/passwd",
        "gopher://127.0.0.1/",
    ],
)
def test_fetcher_refuses_everything_but_data_and_assets(url: str) -> None:
    with pytest.raises(BlockedResource):
        fetcher().fetch(url)


def test_fetcher_refuses_traversal_out_of_the_assets_folder() -> None:
    base = fetcher().base_url
    for url in (
        base + "../manifest.json",
        base + "%2e%2e/manifest.json",
        base + "../layouts/a4.html",
    ):
        with pytest.raises(BlockedResource):
            fetcher().fetch(url)


def test_fetcher_refuses_symlinks_leaving_the_assets_folder(tmp_path: Path) -> None:
    from app.letters.fetcher import LetterheadFetcher

    assets = tmp_path / "assets"
    assets.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text(CANARY)
    (assets / "logo.png").symlink_to(secret)
    with pytest.raises(BlockedResource):
        LetterheadFetcher(assets).fetch((assets / "logo.png").as_uri())


def test_fetcher_serves_letterhead_assets_and_data_urls() -> None:
    logo = fetcher().fetch(fetcher().base_url + "logo.svg")
    assert logo.content_type == "image/svg+xml" and b"<svg" in logo.read()
    payload = base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode()
    data = fetcher().fetch(f"data:image/svg+xml;base64,{payload}")
    assert data.read().startswith(b"<svg")


def test_loopback_redirect_is_not_followed(canary_server: CanaryServer) -> None:
    job = LetterJob(
        body=f'<img src="{canary_server.url}/redirect">', subject="x", context=sample_context()
    )
    render_pdf(job)
    assert canary_server.requests == []
