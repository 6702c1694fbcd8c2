"""In a browser: log the reply to a sent letter with its position; the tracker and map follow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.support.databases import create_database, drop_database
from tests.support.live import live_env, live_server, run_cli

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture
def live(tmp_path: Path, artifacts: Path) -> Iterator[str]:
    url = create_database(tmp_path, "replies_browser")
    env = live_env(url, tmp_path / "data")
    try:
        run_cli(env, "migrate")
        run_cli(env, "demo")
        with live_server(env, artifacts / "replies-server.log") as base:
            yield base
    finally:
        drop_database(url)


@pytest.fixture
def page(live: str) -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        context = browser.new_context(base_url=live, accept_downloads=True)
        yield context.new_page()
        context.close()
        browser.close()


@pytest.mark.browser
def test_log_a_reply_and_see_the_tracker_and_map_update(page: Page, artifacts: Path) -> None:
    page.goto("/login")
    page.fill("input[name=email]", "coordinator@demarche.example")
    page.fill("input[name=password]", "demarche-demo")
    page.click("button[type=submit]")
    page.click("nav.mainnav >> text=Campaigns")
    page.click("text=CCM signature drive 2009")
    page.click("text=Reply tracker")
    expect(page.locator('[data-count="replied"]')).to_have_text("5")
    expect(page.locator('tr[data-iso3="KAZ"]')).to_have_attribute("data-category", "overdue")
    assert page.locator('.tracker-map path[data-iso2="KZ"]').get_attribute("data-category") == (
        "overdue"
    )
    # the Pakistan reply of the demo: forwarded by the embassy, opposes the CCM
    expect(page.locator('tr[data-iso3="PAK"] .badge.stance-opposes')).to_have_text("Opposes")

    page.click('tr[data-iso3="KAZ"] >> text=log reply')
    page.wait_for_selector("h1:has-text('Log a reply')")
    suggestions = page.locator("#suggestions")
    expect(suggestions).to_contain_text("CMC/2009/KAZ/0001")
    page.fill("input[name=sender_name]", "Embassy of Kazakhstan")
    page.fill(
        "textarea[name=full_text]",
        "With reference to your letter dated 30 January 2009, the Government of Kazakhstan "
        "will consider accession to the Convention on Cluster Munitions.",
    )
    expect(suggestions).to_contain_text("Cites our letter of 30 January 2009.")
    checkbox = page.locator("#suggestions input[name=letter_ids]").first
    expect(checkbox).to_be_checked()
    page.select_option("select[name=stance_CCM]", "will_consider")
    page.fill("textarea[name=quote_CCM]", "will consider accession")
    page.fill("input[name=sender_reference]", "No. 12-3/456")
    page.click("button:has-text('Log the reply')")
    page.wait_for_selector("text=Reply logged.")
    expect(page.locator("body")).to_contain_text("CMC/2009/KAZ/0001")
    expect(page.locator("body")).to_contain_text("Will consider")

    page.click("nav.mainnav >> text=Campaigns")
    page.click("text=CCM signature drive 2009")
    page.click("text=Reply tracker")
    expect(page.locator('[data-count="replied"]')).to_have_text("6")
    expect(page.locator('tr[data-iso3="KAZ"]')).to_have_attribute("data-category", "replied")
    assert page.locator('.tracker-map path[data-iso2="KZ"]').get_attribute("data-category") == (
        "replied"
    )
    page.screenshot(path=str(artifacts / "reply-tracker.png"), full_page=True)
    page.click(".tracker-map >> xpath=.. >> text=Position")
    assert page.locator('.tracker-map path[data-iso2="KZ"]').get_attribute("data-category") == (
        "will_consider"
    )
    assert page.locator('.tracker-map path[data-iso2="PK"]').get_attribute("data-category") == (
        "opposes"
    )
    # filter the table without reloading the page (htmx)
    page.select_option("select[name=status]", "waiting")
    expect(page.locator('tr[data-iso3="KAZ"]')).to_have_count(0)
    page.screenshot(path=str(artifacts / "reply-tracker-positions.png"), full_page=True)
