"""In a browser: a coordinator approves the demo draft, sends it by email to a loopback SMTP
server, sees it sent, logs the answer with a position, and sees the tracker and its map follow."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.demo import DEMO_LOGIN
from tests.support.browser import reload_until, screenshot, sign_in
from tests.support.live import DemoSite


@pytest.mark.browser
def test_approve_and_send_a_letter_by_email(page: Page, site: DemoSite, artifacts: Path) -> None:
    box = site.mailbox
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, DEMO_LOGIN, "demarche-demo")
    page.click("nav.mainnav >> text=Correspondence")
    page.click("table.letters >> text=/PAK\\/0002/")
    page.wait_for_selector("h1:has-text('PAK/0002')")
    page.click(".letter-actions >> button:has-text('Approve')")
    page.wait_for_selector(".flash:has-text('Letter approved.')")
    page.click(".letter-actions >> button:has-text('Send by email')")
    page.wait_for_selector(".flash:has-text('Sending by email to n.baig@embassy-pk.example')")
    reload_until(page, "Status: sent", ".letter-actions h2")
    reference = page.inner_text("h1").split()[-1]
    screenshot(page, artifacts / "correspondence-sent.png")
    assert "Message-ID" in page.inner_text("dl.facts")

    # The letter to Kazakhstan's foreign minister, sent by post 45 days ago, is overdue.
    page.click("text=All letters")
    page.click("nav.tabs >> text=Overdue replies")
    kaz = f"CMC/{(date.today() - timedelta(days=45)).year}/KAZ/0001"
    row = page.locator("table.letters tr", has_text=kaz)
    assert "post" in row.inner_text()
    row.locator("button:has-text('Follow up')").click()
    page.wait_for_selector(f".flash:has-text('Follow-up {kaz}/R1 drafted')")
    assert "have not yet received a reply" in page.inner_text(".letter-text")
    screenshot(page, artifacts / "correspondence-follow-up.png")

    # The Embassy answers the email just sent; log it with its position and watch the
    # campaign's tracker and map follow.
    page.click("nav.mainnav >> text=Campaigns")
    page.click("text=Universalise the CCM in Central Asia")
    page.click("text=Reply tracker")
    replied = int(page.inner_text('[data-count="replied"]'))
    page.click('tr[data-iso3="PAK"] >> text=log reply')
    page.wait_for_selector("h1:has-text('Log a reply')")
    page.fill("input[name=sender_name]", "Embassy of Pakistan in the United States")
    page.fill(
        "textarea[name=full_text]",
        f"Thank you for your letter {reference}. Pakistan supports the humanitarian aims "
        "of the Convention on Cluster Munitions and will meet you.",
    )
    expect(page.locator("#suggestions")).to_contain_text(reference)
    expect(page.locator("#suggestions input[name=letter_ids]").first).to_be_checked()
    page.select_option("select[name=stance_CCM]", "supports")
    page.fill("textarea[name=quote_CCM]", "supports the humanitarian aims")
    page.click("button:has-text('Log the reply')")
    page.wait_for_selector("text=Reply logged.")
    page.click("nav.mainnav >> text=Campaigns")
    page.click("text=Universalise the CCM in Central Asia")
    page.click("text=Reply tracker")
    expect(page.locator('[data-count="replied"]')).to_have_text(str(replied + 1))
    assert page.locator('.tracker-map path[data-iso2="PK"]').get_attribute("data-category") == (
        "replied"
    )
    page.click(".tracker-map >> xpath=.. >> text=Position")
    assert page.locator('.tracker-map path[data-iso2="PK"]').get_attribute("data-category") == (
        "supports"
    )
    screenshot(page, artifacts / "correspondence-tracker.png")

    assert len(box.messages) == 1
    msg = box.messages[0]
    assert msg["To"] == "n.baig@embassy-pk.example"
    assert str(msg["Reply-To"]).startswith("replies+CMC-")
    assert {p.get_content_type() for p in msg.walk()} >= {
        "text/plain",
        "text/html",
        "application/pdf",
    }
