"""In a browser: a campaign for CCM non-parties in Central Asia, its countdown and its feed."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from playwright.sync_api import Page

from tests.support.browser import screenshot, sign_in


@pytest.mark.browser
def test_campaign_for_central_asian_non_parties(page: Page, artifacts: Path) -> None:
    sign_in(page, "coordinator@demarche.example", "demarche-demo")
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
    screenshot(page, artifacts / "campaign-dashboard.png")

    with page.expect_download() as info:
        page.click("text=Download .ics")
    ics = Path(info.value.path()).read_bytes()
    calendar = Calendar.from_ical(ics)
    events = {str(e["SUMMARY"]): e for e in calendar.events}
    assert events["Letters to the ministries"].start == due
    assert "Entry into force of the CCM" in events

    page.goto("/")
    assert "Letters to the ministries" in page.inner_text("main")  # dashboard panel
