"""In a browser: a coordinator exports a saved segment as address labels."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from playwright.sync_api import Page
from pypdf import PdfReader

from app.exports.demo import DEMO_SEGMENT
from tests.support.browser import screenshot, sign_in


@pytest.mark.browser
def test_export_a_segment_as_labels(page: Page, artifacts: Path) -> None:
    sign_in(page, "coordinator@demarche.example", "demarche-demo")
    page.click("nav.mainnav >> text=Exports")
    page.wait_for_selector("h1:has-text('Exports')")
    page.check("input[name=source][value=segment]")
    page.select_option("select[name=segment_id]", label=DEMO_SEGMENT)
    page.select_option("select[name=format]", "labels")
    page.select_option("select[name=label_preset]", "L7160")
    page.click("text=Preview: who is in, who is left out")
    preview = page.locator("#preview")
    preview.wait_for()
    exported = int(preview.locator("strong").first.inner_text())
    assert exported > 0
    screenshot(page, artifacts / "exports-preview.png")

    with page.expect_download() as info:
        page.click("button:has-text('Export')>>nth=-1")
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    data = Path(download.path()).read_bytes()
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == math.ceil(exported / 21)
    text = "\n".join(p.extract_text() or "" for p in reader.pages)
    assert "Rahmon" in text
    assert "Tajikistan" in text or "TAJIKISTAN" in text
    assert "?" not in text
