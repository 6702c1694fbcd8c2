"""In a browser: draft a merge for a segment, watch its progress, open a letter's PDF."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.mailmerge.conftest import pdf_text
from tests.support.browser import screenshot, sign_in


@pytest.mark.browser
def test_merge_for_a_segment_with_live_progress(page: Page, artifacts: Path) -> None:
    sign_in(page, "coordinator@demarche.example", "demarche-demo")
    page.click("nav.mainnav >> text=Mail merge")
    page.click("text=New merge")
    page.select_option(
        "select[name=template_id]", label="Appeal to a head of state to join a treaty"
    )
    page.select_option("select[name=segment_id]", label="Heads of state — Central Asia initiative")
    page.select_option("select[name=treaty]", "CCM")
    page.fill("input[name=letter_date]", "2010-04-01")
    page.fill("input[name=name]", "Second appeal")
    preview = page.locator("#merge-preview table.recipients")
    expect(preview).to_contain_text("Emomali Rahmon", timeout=20_000)
    expect(page.locator(".recipient-count")).to_have_text("6")
    screenshot(page, artifacts / "merge-new.png")
    page.click("text=Draft the letters")
    page.wait_for_selector("h1:has-text('Second appeal')")
    # htmx polls the progress panel until the worker has rendered every letter.
    expect(page.locator(".merge-status")).to_have_text("done", timeout=180_000)
    expect(page.locator(".merge-counts")).to_contain_text("6 of 6 rendered")
    assert page.locator("text=Combined PDF (print)").count() == 1
    screenshot(page, artifacts / "merge-done.png")

    page.click("text=CMC/2010/TJK/0002")
    page.wait_for_selector("h1:has-text('Letter CMC/2010/TJK/0002')")
    letter_frame = page.frame_locator("iframe.letter-preview")
    expect(letter_frame.locator("p.reference-line")).to_contain_text(
        "CMC/2010/TJK/0002", timeout=60_000
    )
    screenshot(page, artifacts / "merge-letter.png")
    href = page.locator("a.letter-pdf").get_attribute("href")
    assert href
    resp = page.request.get(href)
    assert resp.ok and resp.headers["content-type"] == "application/pdf"
    reader, text = pdf_text(resp.body())
    assert len(reader.pages) == 1
    assert "господину Э.Ш. Рахмону" in text and "CMC/2010/TJK/0002" in text
