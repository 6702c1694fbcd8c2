"""In a browser: import an Excel (Windows-1252, semicolon) file, then merge two duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.support.browser import screenshot, sign_in

CSV = (
    "Prénom;Nom;Organisation;Pays;Courriel;Téléphone\r\n"
    "Renée;Lefèvre;Ministère des Affaires étrangères;FRA;renee.lefevre@diplomatie.gouv.fr;"
    "+33 1 43 17 53 53\r\n"
    "René;Lefèvre;Ministère des Affaires étrangères;FRA;rene.lefevre@diplomatie.gouv.fr;\r\n"
)


@pytest.mark.browser
def test_import_an_excel_file_then_merge(page: Page, tmp_path: Path, artifacts: Path) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, "coordinator@demarche.example", "demarche-demo")
    page.click("nav.mainnav >> text=Import")
    source = tmp_path / "contacts.csv"
    source.write_bytes(CSV.encode("cp1252"))
    page.set_input_files("input[name=file]", str(source))
    page.click("text=Upload and map columns")
    page.wait_for_selector("h1:has-text('Map the columns')")
    assert page.locator("text=Ministère des Affaires étrangères").count() >= 1
    assert page.locator("select[name=col_0]").input_value() == "given_name"
    assert page.locator("select[name=col_4]").input_value() == "email"
    page.click("text=Check the file (dry run)")
    page.wait_for_selector("h1:has-text('Dry run')")
    assert "Every row is valid" in page.inner_text("main")
    page.click("button:has-text('Import')")
    page.wait_for_selector("h1:has-text('Imported')")
    assert "2\npeople created" in page.inner_text(".stats")
    screenshot(page, artifacts / "contacts-import-result.png")

    page.goto("/contacts/merge?kind=person&q=lefevre")
    page.wait_for_selector("text=Renée Lefèvre")
    rows = page.locator("table tbody tr")
    rows.nth(0).locator("input[name=keep_id]").check()
    rows.nth(1).locator("input[name=drop_id]").check()
    page.click("text=Compare the two")
    page.wait_for_selector("h1:has-text('Merge')")
    page.click("button:has-text('Merge and delete')")
    page.wait_for_selector(".flash")
    assert "Merged into" in page.inner_text("#flashes")
    page.goto("/contacts/merge?kind=person&q=lefevre")
    assert page.locator("table tbody tr").count() == 1
