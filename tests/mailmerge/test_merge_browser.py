"""In a browser: draft a merge for a segment, watch its progress, open a letter's PDF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.mailmerge.conftest import pdf_text
from tests.support.databases import create_database, drop_database
from tests.support.live import live_env, live_server, live_worker, run_cli

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
    url = create_database(tmp_path, "merge_browser")
    env = live_env(url, tmp_path / "data")
    try:
        run_cli(env, "migrate")
        run_cli(env, "demo")
        with (
            live_worker(env, artifacts / "merge-worker.log"),
            live_server(env, artifacts / "merge-server.log") as base,
        ):
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
def test_merge_for_a_segment_with_live_progress(page: Page, artifacts: Path) -> None:
    page.goto("/login")
    page.fill("input[name=email]", "coordinator@demarche.example")
    page.fill("input[name=password]", "demarche-demo")
    page.click("button[type=submit]")
    page.click("nav.mainnav >> text=Mail merge")
    page.click("text=New merge")
    page.select_option(
        "select[name=template_id]", label="Appeal to a head of state to join a treaty"
    )
    page.select_option("select[name=segment_id]", label="Heads of state — Central Asia initiative")
    page.select_option("select[name=treaty]", "CCM")
    page.fill("input[name=letter_date]", "2010-04-01")
    page.fill("input[name=name]", "Second appeal")
    preview = page.locator("#merge-preview table.recipients")
    expect(preview).to_contain_text("Emomali Rahmon", timeout=20_000)
    expect(page.locator(".recipient-count")).to_have_text("6")
    page.screenshot(path=str(artifacts / "merge-new.png"), full_page=True)
    page.click("text=Draft the letters")
    page.wait_for_selector("h1:has-text('Second appeal')")
    # htmx polls the progress panel until the worker has rendered every letter.
    expect(page.locator(".merge-status")).to_have_text("done", timeout=180_000)
    expect(page.locator(".merge-counts")).to_contain_text("6 of 6 rendered")
    assert page.locator("text=Combined PDF (print)").count() == 1
    page.screenshot(path=str(artifacts / "merge-done.png"), full_page=True)

    page.click("text=CMC/2010/TJK/0002")
    page.wait_for_selector("h1:has-text('Letter CMC/2010/TJK/0002')")
    preview = page.frame_locator("iframe.letter-preview")
    expect(preview.locator("p.reference-line")).to_contain_text("CMC/2010/TJK/0002", timeout=60_000)
    page.screenshot(path=str(artifacts / "merge-letter.png"), full_page=True)
    href = page.locator("a.letter-pdf").get_attribute("href")
    assert href
    resp = page.request.get(href)
    assert resp.ok and resp.headers["content-type"] == "application/pdf"
    reader, text = pdf_text(resp.body())
    assert len(reader.pages) == 1
    assert "господину Э.Ш. Рахмону" in text and "CMC/2010/TJK/0002" in text
