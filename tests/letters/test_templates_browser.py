"""In Chromium: browse the library, edit a variant (refused, then saved), open the PDF preview."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.databases import create_database, drop_database
from tests.support.live import live_env, live_server, run_cli

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def test_coordinator_edits_a_template_and_previews_it(tmp_path: Path, artifacts: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url = create_database(tmp_path, "browser_letters")
    env = live_env(url, tmp_path / "data")
    try:
        run_cli(env, "migrate")
        run_cli(env, "demo")
        with live_server(env, tmp_path / "server.log") as base, sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
            )
            page = browser.new_page()
            page.goto(base + "/login")
            page.fill("input[name=email]", "coordinator@demarche.example")
            page.fill("input[name=password]", "demarche-demo")
            page.click("button[type=submit]")
            page.click("nav.mainnav >> text=Templates")
            expect(page.locator("h1")).to_have_text("Letter templates")
            page.click("text=Appeal to a head of state to join a treaty")
            page.screenshot(path=str(artifacts / "letters-template-detail.png"), full_page=True)
            page.locator("tr", has_text="Français").locator("text=Edit").click()
            expect(page.locator(".merge-fields")).to_contain_text("milestone.days_left")
            body = page.locator("textarea[name=body]")
            original = body.input_value()
            body.fill(original + "\n<p>{{ recipient.favourite_colour }}</p>")
            page.click("text=Save as a new version")
            expect(page.locator(".field.has-error")).to_contain_text(
                "Unknown merge field 'recipient.favourite_colour'"
            )
            page.screenshot(path=str(artifacts / "letters-editor-error.png"), full_page=True)
            body.fill(original + "\n<p>Dans {{ milestone.days_left }} jours.</p>")
            page.fill("input[name=note]", "countdown repeated")
            page.click("text=Save as a new version")
            expect(page.locator(".flashes")).to_contain_text("Saved as version 2 (fr)")
            expect(page.locator("table").nth(1)).to_contain_text("countdown repeated")
            link = page.locator("tr", has_text="Français").locator("a", has_text="PDF")
            pdf = page.request.get(str(link.get_attribute("href")))
            assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
            assert pdf.body().startswith(b"%PDF")
            browser.close()
    finally:
        drop_database(url)
