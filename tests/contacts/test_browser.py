"""In a browser: search for Rahmon, open his page, edit a phone number, see it on the timeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.support.browser import screenshot, sign_in


@pytest.mark.browser
def test_search_open_edit_phone_and_see_it_on_the_timeline(page: Page, artifacts: Path) -> None:
    sign_in(page, "campaigner@demarche.example", "demarche-demo")
    page.click("nav.mainnav >> text=Contacts")
    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if r.headers.get("hx-request") else None)
    page.fill("input[name=q]", "Rahmon")
    # search-as-you-type: the results block is swapped in without submitting the form
    result = page.locator("#contact-results table.contacts >> text=H.E. Emomali Rahmon")
    result.wait_for()
    assert page.locator("#contact-results tbody tr").count() == 1
    screenshot(page, artifacts / "contacts-directory.png")
    result.click()
    page.wait_for_selector("h1:has-text('H.E. Emomali Rahmon')")
    # leaving the search box for the result did not search again: that second search's
    # history entry could cancel the click's navigation
    assert [url for url in searches if "/contacts?" in url] == [searches[0]], searches
    assert "80 Rudaki Avenue" in page.inner_text("address.address-block")
    assert "Not a signatory" in page.inner_text("ul.treaty-status")

    page.click("summary:has-text('Add a contact point')")
    page.select_option("select[name=kind]", "phone")
    page.fill("input[name=value]", "+992 37 221 1234")
    page.fill("input[name=label]", "Protocol office")
    page.click("button:has-text('Add contact point')")
    page.wait_for_selector(".contact-points >> text=+992372211234")

    page.click(".contact-points li.point-phone >> text=Edit")
    page.wait_for_selector("h1:has-text('Edit phone')")
    page.fill("input[name=value]", "12")
    page.click("button:has-text('Save')")
    page.wait_for_selector("small.error:has-text('phone number')")  # inline message
    page.fill("input[name=value]", "+992 37 221 9999")
    page.click("button:has-text('Save')")
    page.wait_for_selector("h1:has-text('H.E. Emomali Rahmon')")
    timeline = page.inner_text("ul.timeline")
    assert "Changed phone +992372211234 → +992372219999" in timeline
    screenshot(page, artifacts / "contact-person.png")

    page.click("nav.mainnav >> text=Contacts")
    page.click(".page-head >> text=Segments")
    page.click("text=Central Asia: not party to the CCM")
    page.wait_for_selector("h1:has-text('segment Central Asia')")
    # the segment holds more than a page; his name in Russian narrows it to him
    page.fill("input[name=q]", "Рахмон")
    page.locator("#contact-results tbody tr >> text=H.E. Emomali Rahmon").wait_for()
    assert page.locator("#contact-results tbody tr").count() == 1
