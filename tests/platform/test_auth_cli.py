"""`demarche user deactivate/activate/password` and `demarche token list/revoke`, run as real
processes against a fresh database, checked against a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.support import databases
from tests.support.live import invoke_cli, live_env, live_server, migrated_database, run_cli

pytestmark = pytest.mark.live

EMAIL = "ops@example.org"
PASSWORD = "long-password-1"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    url = migrated_database(tmp_path, "authcli")
    environment = live_env(url, tmp_path / "data")
    invoke_cli(environment, "user", "add", EMAIL, "--role", "admin", "--password", PASSWORD)
    yield environment
    databases.drop_database(url)


def _token(env: dict[str, str], name: str) -> str:
    return invoke_cli(env, "token", "create", EMAIL, "--name", name).stdout.strip().splitlines()[-1]


def _listed(env: dict[str, str]) -> dict[str, tuple[int, str]]:
    """name → (id, state) from `demarche token list`."""
    rows = invoke_cli(env, "token", "list", EMAIL).stdout.strip().splitlines()[1:]
    out = {}
    for row in rows:
        token_id, state, _day, _time, *used, name = row.split()
        out[name] = (int(token_id), state)
    return out


def test_token_list_and_revoke(env: dict[str, str], tmp_path: Path) -> None:
    assert "has no API tokens" in invoke_cli(env, "token", "list", EMAIL).stdout
    keep, drop = _token(env, "keep"), _token(env, "drop")
    listed = _listed(env)
    assert listed["keep"][1] == listed["drop"][1] == "active"
    assert keep not in invoke_cli(env, "token", "list", EMAIL).stdout  # never shown again

    out = invoke_cli(env, "token", "revoke", str(listed["drop"][0])).stdout
    assert "revoked" in out
    assert _listed(env)["drop"][1] == "revoked"
    with live_server(env, tmp_path / "server.log") as base:
        assert (
            httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {keep}"}).status_code
            == 200
        )
        assert (
            httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {drop}"}).status_code
            == 401
        )

    missing = invoke_cli(env, "token", "revoke", "999999", check=False)
    assert missing.returncode == 1 and "There is no API token 999999" in missing.stderr
    unknown = invoke_cli(env, "token", "list", "nobody@example.org", check=False)
    assert unknown.returncode == 1 and "No user" in unknown.stderr


def test_user_deactivate_stops_tokens_and_activate_lets_them_sign_in(
    env: dict[str, str], tmp_path: Path
) -> None:
    token = _token(env, "script")
    assert "deactivated" in invoke_cli(env, "user", "deactivate", EMAIL).stdout
    assert _listed(env)["script"][1] == "revoked"
    with live_server(env, tmp_path / "server.log") as base:
        me = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
        with httpx.Client(base_url=base) as browser:
            page = browser.get("/login")
            csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            refused = browser.post(
                "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf}
            )
            assert refused.status_code == 401
            assert "sign in again" in invoke_cli(env, "user", "activate", EMAIL).stdout
            signed_in = browser.post(
                "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf}
            )
            assert signed_in.status_code == 303


def test_user_password_sets_a_new_password_and_refuses_a_weak_one(env: dict[str, str]) -> None:
    weak = invoke_cli(env, "user", "password", EMAIL, "--password", "1234567890", check=False)
    assert weak.returncode == 1 and "at least 12 characters" in weak.stderr
    common = invoke_cli(env, "user", "password", EMAIL, "--password", "password1234", check=False)
    assert common.returncode == 1 and "common" in common.stderr
    # as a process: the hash it stores is the shipped cost, not this process's
    out = run_cli(env, "user", "password", EMAIL, "--password", "violet-otter-harbour-42").stdout
    assert "changed" in out
    # Stored at the shipped cost (the test process itself hashes at the lowest; see conftest).
    engine = create_engine(env["DEMARCHE_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            stored = conn.scalar(
                text("SELECT password_hash FROM users WHERE email = :e"), {"e": EMAIL}
            )
    finally:
        engine.dispose()
    assert str(stored).startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    short = invoke_cli(
        env, "user", "add", "new@example.org", "--password", "new@example.org", check=False
    )
    assert short.returncode == 1 and "email address" in short.stderr
