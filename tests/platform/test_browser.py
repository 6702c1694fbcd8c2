"""The demo user signs in through a real browser and reaches the dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from app.demo import DEMO_LOGIN
from tests.support.browser import screenshot, sign_in

pytestmark = pytest.mark.browser


def test_demo_login_reaches_dashboard(page: Page, artifacts: Path) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, DEMO_LOGIN, "demarche-demo")
    assert page.locator("h1").first.inner_text() == "Dashboard"
    assert page.locator(".usermenu").inner_text().startswith("Camille Coordinator")
    screenshot(page, artifacts / "dashboard.png")
    assert errors == []  # no CSP violations or script errors


def test_wrong_password_shows_message_in_browser(page: Page, artifacts: Path) -> None:
    page.goto("/login")
    page.fill("input[name=email]", DEMO_LOGIN)
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert "do not match" in page.locator("#login-error").inner_text()
    screenshot(page, artifacts / "login-error.png", full_page=False)
