"""In a browser: a coordinator approves the demo draft, sends it by email to a loopback SMTP
server, sees it sent, logs the answer with a position, and sees the tracker and its map follow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.demo import DEMO_LOGIN
from tests.support.browser import browser_page, sign_in
from tests.support.databases import create_database, drop_database
from tests.support.live import live_env, live_server, live_worker, run_cli
from tests.support.smtp import Mailbox, smtp_server


@pytest.fixture
def live(tmp_path: Path, artifacts: Path) -> Iterator[tuple[str, Mailbox]]:
    url = create_database(tmp_path, "correspondence_browser")
    try:
        with smtp_server() as (smtp_url, box):
            env = live_env(url, tmp_path / "data", DEMARCHE_SMTP_URL=smtp_url)
            run_cli(env, "migrate")
            run_cli(env, "demo")
            with (
                live_server(env, artifacts / "correspondence-server.log") as base,
                live_worker(env, artifacts / "correspondence-worker.log"),
            ):
                yield base, box
    finally:
        drop_database(url)


@pytest.mark.browser
def test_approve_and_send_a_letter_by_email(live: tuple[str, Mailbox], artifacts: Path) -> None:
    base, box = live
    with browser_page(base) as page:
        page.on("dialog", lambda dialog: dialog.accept())
        sign_in(page, DEMO_LOGIN, "demarche-demo")
        page.click("nav.mainnav >> text=Correspondence")
        page.click("table.letters >> text=/PAK\\/0002/")
        page.wait_for_selector("h1:has-text('PAK/0002')")
        page.click(".letter-actions >> button:has-text('Approve')")
        page.wait_for_selector(".flash:has-text('Letter approved.')")
        page.click(".letter-actions >> button:has-text('Send by email')")
        page.wait_for_selector(".flash:has-text('Sending by email to n.baig@embassy-pk.example')")
        _wait_for_sent(page)
        reference = page.inner_text("h1").split()[-1]
        page.screenshot(path=str(artifacts / "correspondence-sent.png"), full_page=True)
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
        page.screenshot(path=str(artifacts / "correspondence-follow-up.png"), full_page=True)

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
        page.screenshot(path=str(artifacts / "correspondence-tracker.png"), full_page=True)

    assert len(box.messages) == 1
    msg = box.messages[0]
    assert msg["To"] == "n.baig@embassy-pk.example"
    assert str(msg["Reply-To"]).startswith("replies+CMC-")
    assert {p.get_content_type() for p in msg.walk()} >= {
        "text/plain",
        "text/html",
        "application/pdf",
    }


def _wait_for_sent(page: Page, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while "Status: sent" not in page.inner_text(".letter-actions h2"):
        if time.monotonic() > deadline:
            raise AssertionError(page.inner_text(".letter-actions"))
        time.sleep(1)
        page.reload()
