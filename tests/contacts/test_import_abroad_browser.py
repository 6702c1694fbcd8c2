"""In a browser: import a coalition's sheet of embassies and missions, merge two spellings of one
ambassador, import the sheet again, undo the merge, import it a third time: nothing is created
twice, and the embassy is addressed in Washington throughout. Then undo the first import."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from app.contacts.imports.csvfile import write_csv
from tests.support.browser import browser_page, screenshot, sign_in
from tests.support.databases import drop_database
from tests.support.live import invoke_cli, live_env, live_server, migrated_database

EMAIL, PASSWORD = "coordinator@coalition.example", "embassy-sheet-password-1"
HEADERS = ["Title", "Name", "Organisation", "Organisation type", "Country", "Host country"]
HEADERS += ["Host city", "Address", "City", "Postal code", "State/Province", "Phone", "Email"]
ROWS = [
    ["H.E.", "Masood Khan", "Embassy of Pakistan in Washington", "embassy", "Pakistan"]
    + ["United States", "Washington", "3517 International Court NW", "Washington", "20008"]
    + ["DC", "(202) 243-6500", "ambassador@embassyofpakistanusa.org"],
    # the same ambassador spelt otherwise, with another address: two records until merged
    ["H.E.", "Masud Khan", "Embassy of Pakistan in Washington", "embassy", "Pakistan"]
    + ["United States", "Washington", "3517 International Court NW", "Washington", "20008"]
    + ["DC", "(202) 243-6501", "masud.khan@embassyofpakistanusa.org"],
    ["S.E. M.", "Gennady Gatilov", "Permanent Mission of the Russian Federation in Geneva"]
    + ["permanent_mission", "Russian Federation", "Switzerland", "Geneva"]
    + ["Avenue de la Paix 15", "Genève", "1202", "", "022 733 18 70"]
    + ["mission.russian@vtxnet.ch"],
    ["Excmo. Sr.", "Kairat Umarov", "Permanent Mission of Kazakhstan to the United Nations"]
    + ["permanent_mission", "KZ", "US", "New York", "305 East 47th Street, 3rd Floor"]
    + ["New York", "10017", "NY", "212-230-1900", "kazakhstan@un.int"],
]


@pytest.fixture
def live(tmp_path: Path, artifacts: Path) -> Iterator[str]:
    """A server of its own on an empty directory, not the shared demo site: the test counts
    what the sheet creates, the Khans there are and the imports in the history, which the
    demo's contacts and imports would change."""
    url = migrated_database(tmp_path, "import_abroad_browser")
    env = live_env(url, tmp_path / "data")
    try:
        invoke_cli(env, "user", "add", EMAIL, "--role", "coordinator", "--password", PASSWORD)
        with live_server(env, artifacts / "contacts-import-abroad-server.log") as base:
            yield base
    finally:
        drop_database(url)


def _import(page: Page, source: Path) -> dict[str, int]:
    """Upload, keep the proposed mapping, check, import; the result page's figures."""
    page.goto("/contacts/import")
    page.set_input_files("input[name=file]", str(source))
    page.click("text=Upload and map columns")
    page.wait_for_selector("h1:has-text('Map the columns')")
    page.click("text=Check the file (dry run)")
    page.wait_for_selector("h1:has-text('Dry run')")
    assert "Every row is valid" in page.inner_text("main")
    planned = _stats(page)
    page.click("button:has-text('Import')")
    page.wait_for_selector("h1:has-text('Imported')")
    done = _stats(page)
    assert done["people created"] == planned["people to create"]
    assert done["organisations created"] == planned["organisations to create"]
    return done


def _stats(page: Page) -> dict[str, int]:
    text = page.inner_text(".stats")
    return {label: int(n) for n, label in re.findall(r"(\d+)\n([^\n]+)", text)}


def _people(page: Page, query: str) -> list[str]:
    page.goto(f"/contacts/merge?kind=person&q={query}")
    page.wait_for_selector("h1")
    return [t.strip() for t in page.locator("table tbody tr td:nth-child(3)").all_inner_texts()]


@pytest.mark.browser
def test_import_merge_undo_and_import_again(live: str, tmp_path: Path, artifacts: Path) -> None:
    source = tmp_path / "coalition.csv"
    source.write_text(write_csv(HEADERS, ROWS), encoding="utf-8")
    with browser_page(live) as page:
        page.on("dialog", lambda dialog: dialog.accept())
        sign_in(page, EMAIL, PASSWORD)
        first = _import(page, source)
        assert first["people created"] == 4 and first["organisations created"] == 3
        screenshot(page, artifacts / "contacts-import-abroad-result.png")

        # the embassy is Pakistan's, in Washington; its ambassador is written to there
        page.click("text=Masood Khan")
        page.wait_for_selector("address.address-block")
        block = page.inner_text("address.address-block")
        assert "WASHINGTON, DC 20008" in block and block.strip().endswith("UNITED STATES")
        assert "PAKISTAN" not in block
        assert "+12022436500" in page.inner_text("main")
        page.click("main >> text=Embassy of Pakistan in Washington")
        assert "in Washington, United States" in page.inner_text("main")

        # merge the two spellings (the existing merge flow)
        page.goto("/contacts/merge?kind=person&q=khan")
        page.wait_for_selector("text=Masud Khan")
        rows = page.locator("table tbody tr")
        for i in range(rows.count()):
            name = rows.nth(i).inner_text()
            radio = "keep_id" if "Masood" in name else "drop_id"
            rows.nth(i).locator(f"input[name={radio}]").check()
        page.click("text=Compare the two")
        page.wait_for_selector("h1:has-text('Merge')")
        page.click("button:has-text('Merge and delete')")
        page.wait_for_selector(".flash")
        assert "Merged into" in page.inner_text("#flashes")
        assert len(_people(page, "khan")) == 1

        # the sheet again: the merged-away spelling is known, nothing is created
        second = _import(page, source)
        assert second["people created"] == 0 and second["organisations created"] == 0
        assert len(_people(page, "khan")) == 1

        # undo the merge from the kept record's page, then the sheet a third time
        page.goto("/contacts/merge?kind=person&q=masood")
        page.click("table tbody >> text=Masood Khan")
        page.click("button:has-text('Undo this merge')")
        page.wait_for_selector(".flash")
        assert len(_people(page, "khan")) == 2
        third = _import(page, source)
        assert third["people created"] == 0 and third["organisations created"] == 0
        assert len(_people(page, "khan")) == 2

        # the history lists the three imports; the last one, which wrote nothing, undoes cleanly
        page.goto("/contacts/import/history")
        assert page.locator("#import-batches tbody tr").count() == 3
        page.locator("#import-batches tbody tr").first.locator("text=Undo…").click()
        page.wait_for_selector("h1:has-text('Undo the import')")
        page.click("button:has-text('Undo this import')")
        page.wait_for_selector(".flash")
        assert "was undone" in page.inner_text("#flashes")
        # the first import's records were merged and edited since: its undo says so
        page.locator("#import-batches tbody tr").last.locator("text=Undo…").click()
        page.wait_for_selector("#changed-since")
        assert "changed since" in page.inner_text("main")
        assert page.locator("button:has-text('Undo this import')").count() == 0
        screenshot(page, artifacts / "contacts-import-undo-refused.png")
