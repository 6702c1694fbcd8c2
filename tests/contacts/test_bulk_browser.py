"""In a browser: tick directory rows, tag them, see the tag in the directory, undo it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.support.browser import screenshot, sign_in


def _rows(page: Page) -> list[str]:
    return [
        t.strip()
        for t in page.locator("#contact-results tbody tr td:nth-child(2) a").all_inner_texts()
    ]


@pytest.mark.browser
def test_tick_rows_tag_them_and_undo(page: Page, artifacts: Path) -> None:
    sign_in(page, "campaigner@demarche.example", "demarche-demo")
    page.click("nav.mainnav >> text=Contacts")
    page.wait_for_selector("#bulk-form tbody tr")
    everyone = page.locator("#bulk-form").get_attribute("data-total")
    assert everyone and int(everyone) > 2

    # the script shows the page checkbox: it ticks every row, then offers all that match
    page.check("input.bulk-page")
    assert (
        page.locator("input[name=selected]:checked").count()
        == page.locator("input[name=selected]").count()
    )
    offer = page.locator("button.bulk-offer")
    assert offer.is_visible() and f"Select all {int(everyone):,}" in offer.inner_text()
    page.uncheck("input.bulk-page")
    assert page.locator("input[name=selected]:checked").count() == 0

    names = _rows(page)[:2]
    boxes = page.locator("input[name=selected]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    assert page.inner_text(".bulk-picked") == "2 ticked"
    page.select_option("#bulk-form select[name=action]", "add_tag")
    page.fill("#bulk-form input[name=tag]", "wave-one")
    page.click("#bulk-form button:has-text('Continue')")

    page.wait_for_selector("h1:has-text('Add a tag')")
    assert "2 contacts ticked" in " ".join(page.inner_text("p.bulk-count").split())
    screenshot(page, artifacts / "contacts-bulk-confirm.png")
    page.click("button:has-text('Add a tag: 2 contacts')")
    page.wait_for_selector("p.bulk-summary")
    assert page.inner_text("p.bulk-summary").startswith("Tagged wave-one:")
    screenshot(page, artifacts / "contacts-bulk-result.png")

    page.goto("/contacts?tag=wave-one")
    page.wait_for_selector("#contact-results tbody tr")
    assert sorted(_rows(page)) == sorted(names)

    page.go_back()
    page.wait_for_selector("p.bulk-summary")
    page.click("button:has-text('Undo')")
    page.wait_for_selector(".bulk-undone")
    assert page.locator("button:has-text('Undo')").count() == 0
    page.goto("/contacts?tag=wave-one")
    page.wait_for_selector("#contact-results p.empty")
    assert page.locator("#contact-results tbody tr").count() == 0
