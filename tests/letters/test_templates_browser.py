"""In Chromium: browse the library, edit a variant (refused, then saved), open the PDF preview."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import screenshot, sign_in

pytestmark = pytest.mark.browser


def test_coordinator_edits_a_template_and_previews_it(page: Page, artifacts: Path) -> None:
    sign_in(page, "coordinator@demarche.example", "demarche-demo")
    page.click("nav.mainnav >> text=Templates")
    expect(page.locator("h1")).to_have_text("Letter templates")
    page.click("text=Appeal to a head of state to join a treaty")
    screenshot(page, artifacts / "letters-template-detail.png")
    page.locator("tr", has_text="Français").locator("text=Edit").click()
    expect(page.locator(".merge-fields")).to_contain_text("milestone.days_left")
    body = page.locator("textarea[name=body]")
    original = body.input_value()
    body.fill(original + "\n<p>{{ recipient.favourite_colour }}</p>")
    page.click("text=Save as a new version")
    expect(page.locator(".field.has-error")).to_contain_text(
        "Unknown merge field 'recipient.favourite_colour'"
    )
    screenshot(page, artifacts / "letters-editor-error.png")
    body.fill(original + "\n<p>Dans {{ milestone.days_left }} jours.</p>")
    page.fill("input[name=note]", "countdown repeated")
    page.click("text=Save as a new version")
    expect(page.locator(".flashes")).to_contain_text("Saved as version 2 (fr)")
    expect(page.locator("table").nth(1)).to_contain_text("countdown repeated")
    link = page.locator("tr", has_text="Français").locator("a", has_text="PDF")
    pdf = page.request.get(str(link.get_attribute("href")))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
