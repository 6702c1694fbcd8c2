"""Headless Chromium (Debian's, never a downloaded one) driven by Playwright: the one place that
names the executable and its launch options."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from tests.support.databases import BACKEND
from tests.support.waiting import eventually

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def browser_page(base_url: str, **context: Any) -> Iterator[Page]:
    """A page of a new browser whose relative URLs go to ``base_url``; ``context``: more
    options of the browser context (accept_downloads=True, say)."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        options: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}, **context}
        ctx = browser.new_context(base_url=base_url, **options)
        page = ctx.new_page()
        try:
            yield page
        finally:
            ctx.close()
            browser.close()


def sign_in(page: Page, email: str, password: str) -> None:
    """Through the sign-in form."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def reload_until(page: Page, text: str, selector: str, timeout: float = 60) -> None:
    """Reloads the page until ``selector`` shows ``text`` (what a background job did, on a page
    that does not refresh itself)."""

    def shown() -> bool:
        if text in page.inner_text(selector):
            return True
        page.reload()
        return False

    eventually(shown, timeout, interval=1, what=lambda: page.inner_text(selector))


def screenshot(page: Page, path: Path, *, full_page: bool = True) -> None:
    """A picture of the page for people to look at (tests/artifacts), taken in the SQLite pass:
    the PostgreSQL pass draws the same pages, and a full-page picture costs the browser a
    fraction of a second each."""
    if BACKEND == "postgresql":
        return
    page.screenshot(path=str(path), full_page=full_page)
