"""In a browser: a campaign for CCM non-parties in Central Asia, its countdown and its feed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from playwright.sync_api import Page, sync_playwright

from tests.support.databases import create_database, drop_database
from tests.support.live import live_env, live_server, run_cli

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live(tmp_path: Path, artifacts: Path) -> Iterator[str]:
    url = create_database(tmp_path, "campaigns_browser")
    env = live_env(url, tmp_path / "data")
    try:
        run_cli(env, "migrate")
        run_cli(env, "demo")
        with live_server(env, artifacts / "campaigns-server.log") as base:
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
def test_campaign_for_central_asian_non_parties(page: Page, artifacts: Path) -> None:
    page.goto("/login")
    page.fill("input[name=email]", "coordinator@demarche.example")
    page.fill("input[name=password]", "demarche-demo")
    page.click("button[type=submit]")
    page.click("nav.mainnav >> text=Campaigns")
    page.click("text=New campaign")
    page.fill("input[name=name]", "CCM outreach in Central Asia")
    page.select_option("select[name=treaty]", "CCM")
    page.select_option("select[name=status]", "active")
    page.select_option("select[name=filter_sub_region]", "Central Asia")
    page.check("input[name=filter_statuses][value=non_signatory]")
    page.check("input[name=filter_statuses][value=signatory]")
    page.click("text=Create campaign")
    page.wait_for_selector("h1:has-text('CCM outreach in Central Asia')")
    targets = page.locator("table.targets")
    assert targets.locator("text=Tajikistan").count() == 1
    assert targets.locator("text=Kazakhstan").count() == 1

    due = date.today() + timedelta(days=20)
    page.fill("input[name=title]", "Letters to the ministries")
    page.fill("input[name=due_date]", due.isoformat())
    page.click("text=Add milestone")
    page.wait_for_selector(".flash")
    next_list = page.locator("ul.milestones")
    assert "in 20 days" in next_list.inner_text()
    page.screenshot(path=str(artifacts / "campaign-dashboard.png"), full_page=True)

    with page.expect_download() as info:
        page.click("text=Download .ics")
    ics = Path(info.value.path()).read_bytes()
    calendar = Calendar.from_ical(ics)
    events = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert events["Letters to the ministries"]["DTSTART"].dt == due
    assert "Entry into force of the CCM" in events

    page.goto("/")
    assert "Letters to the ministries" in page.inner_text("main")  # dashboard panel
