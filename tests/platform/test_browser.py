"""The demo user signs in through a real browser and reaches the dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.demo import DEMO_LOGIN
from tests.support import databases
from tests.support.browser import browser_page, sign_in
from tests.support.live import live_env, live_server, run_cli

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("browser")
    url = databases.create_database(tmp, "browser")
    env = live_env(url, tmp / "data")
    run_cli(env, "migrate")
    run_cli(env, "demo")
    with live_server(env, tmp / "server.log") as base:
        yield base
    databases.drop_database(url)


def test_demo_login_reaches_dashboard(demo_server: str, artifacts: Path) -> None:
    with browser_page(demo_server) as page:
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in(page, DEMO_LOGIN, "demarche-demo")
        assert page.locator("h1").first.inner_text() == "Dashboard"
        assert page.locator(".usermenu").inner_text().startswith("Camille Coordinator")
        page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
        assert errors == []  # no CSP violations or script errors


def test_wrong_password_shows_message_in_browser(demo_server: str, artifacts: Path) -> None:
    with browser_page(demo_server) as page:
        page.goto("/login")
        page.fill("input[name=email]", DEMO_LOGIN)
        page.fill("input[name=password]", "wrong-password")
        page.click("button[type=submit]")
        assert "do not match" in page.locator("#login-error").inner_text()
        page.screenshot(path=str(artifacts / "login-error.png"))
