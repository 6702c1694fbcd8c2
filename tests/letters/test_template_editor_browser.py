"""In Chromium: the Arabic variant's code reads left to right with line numbers; a merge field
clicked in the sidebar lands at the cursor; the saved version is compared with the one before
it and the earlier text restored as a new version."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.support.browser import screenshot, sign_in

pytestmark = pytest.mark.browser

FIELD = "{{ recipient.salutation }}"


def test_coordinator_inserts_a_field_saves_compares_and_restores(
    page: Page, artifacts: Path
) -> None:
    sign_in(page, "coordinator@demarche.example", "demarche-demo")
    page.goto("/templates")
    page.click("text=Appeal to a head of state to join a treaty")
    page.locator("tr", has_text="العربية").get_by_role("link", name="Edit").click()

    body = page.locator("textarea[name=body]")
    expect(body).to_have_attribute("dir", "ltr")
    original = body.input_value()
    gutter = page.locator(".code-editor .line-gutter")
    expect(gutter).to_be_visible()
    lines = original.count("\n") + 1
    assert gutter.text_content() == "\n".join(str(n) for n in range(1, lines + 1))

    cursor = original.index("\n") + 1  # the start of the second line
    body.evaluate("(el, at) => { el.focus(); el.setSelectionRange(at, at); }", cursor)
    page.locator(".merge-fields button[data-insert]", has_text=FIELD).click()
    expected = original[:cursor] + FIELD + original[cursor:]
    expect(body).to_have_value(expected)
    assert body.evaluate("el => el.selectionStart") == cursor + len(FIELD)
    screenshot(page, artifacts / "letters-editor-arabic.png")

    page.fill("input[name=note]", "salutation repeated")
    page.click("text=Save as a new version")
    expect(page.locator(".flashes")).to_contain_text("Saved as version 2 (ar)")
    history = page.locator("table.version-history")
    expect(history).to_contain_text("salutation repeated")
    expect(history.locator("tr", has_text="v1")).to_contain_text("Demarche library")

    history.locator("tr", has_text="v2").get_by_role("link", name="Compare with previous").click()
    expect(page.locator("tr.diff-add")).to_have_count(1)
    expect(page.locator("tr.diff-add")).to_contain_text(FIELD + "<p>")
    expect(page.locator("tr.diff-del")).to_have_count(1)  # the line the field went into
    expect(page.locator("tr.diff-del")).not_to_contain_text(FIELD)
    screenshot(page, artifacts / "letters-version-diff.png")

    prompts: list[str] = []

    def accept(dialog: Dialog) -> None:
        prompts.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_role("button", name="Restore version 1").click()
    expect(page.locator(".flashes")).to_contain_text("Restored version 1 as version 3 (ar)")
    assert prompts and "nothing is deleted" in prompts[0]
    expect(page.locator("table.version-history tbody tr")).to_have_count(3)
    page.locator("tr", has_text="العربية").get_by_role("link", name="Edit").click()
    expect(page.locator("textarea[name=body]")).to_have_value(original)
