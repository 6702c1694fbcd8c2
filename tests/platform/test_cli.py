"""The `demarche` command against a fresh database: as a real process, or in this process for
what a command does to the database (tests.support.live.invoke_cli)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest
from sqlalchemy import Table, func, select

import app.models  # noqa: F401
from app.db import make_engine
from app.models.base import Base
from tests.support import databases
from tests.support.live import invoke_cli, live_env, live_server, migrated_database, run_cli

pytestmark = pytest.mark.live


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    url = migrated_database(tmp_path, "cli")
    data_dir = tmp_path / "data"
    environment = live_env(url, data_dir)
    yield environment
    databases.drop_database(url)


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        counts = {
            t.name: conn.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }
    engine.dispose()
    return counts


def test_token_create_gives_a_token_the_api_accepts(env: dict[str, str], tmp_path: Path) -> None:
    run_cli(
        env, "user", "add", "ops@example.org", "--role", "admin", "--password", "long-password-1"
    )
    out = run_cli(env, "token", "create", "ops@example.org").stdout
    token = out.strip().splitlines()[-1]
    with live_server(env, tmp_path / "server.log") as base:
        ok = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        anonymous = httpx.get(f"{base}/api/v1/me")
    assert ok.status_code == 200 and ok.json()["role"] == "admin"
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"


def test_user_add_refuses_a_duplicate_with_a_clear_message(env: dict[str, str]) -> None:
    invoke_cli(env, "user", "add", "dup@example.org", "--password", "long-password-1")
    again = invoke_cli(
        env, "user", "add", "dup@example.org", "--password", "long-password-1", check=False
    )
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_token_create_for_unknown_user_fails_cleanly(env: dict[str, str]) -> None:
    result = invoke_cli(env, "token", "create", "nobody@example.org", check=False)
    assert result.returncode == 1
    assert "No user" in result.stderr


def test_demo_is_idempotent(env: dict[str, str]) -> None:
    run_cli(env, "demo")
    first = _counts(env["DEMARCHE_DATABASE_URL"])
    run_cli(env, "demo")
    second = _counts(env["DEMARCHE_DATABASE_URL"])
    first.pop("audit_log"), second.pop("audit_log")
    assert first == second
    assert first["users"] >= 3 and first["countries"] > 190


def test_demo_refuses_production(env: dict[str, str]) -> None:
    key = "0f3c9a7e51d2b8466ea1c0d9f27b3e58a4c61d0e9b2f7a35c8e4d1b6092fa7e3"
    production = {**env, "DEMARCHE_ENV": "production", "DEMARCHE_SECRET_KEY": key}
    result = run_cli(production, "demo", check=False)
    assert result.returncode == 2
    assert "not in production" in result.stdout
    assert _counts(env["DEMARCHE_DATABASE_URL"])["users"] == 0


def test_backup_and_restore_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    run_cli(env, "demo")
    files = Path(env["DEMARCHE_DATA_DIR"]) / "files"
    files.mkdir(parents=True, exist_ok=True)
    (files / "scan.pdf").write_bytes(b"%PDF-1.4 reply scan")
    before = _counts(env["DEMARCHE_DATABASE_URL"])
    archive = tmp_path / "backup.zip"
    invoke_cli(env, "backup", str(archive))

    invoke_cli(env, "user", "add", "later@example.org", "--password", "long-password-1")
    (files / "scan.pdf").write_bytes(b"overwritten")
    invoke_cli(env, "restore", str(archive), "--yes")

    assert _counts(env["DEMARCHE_DATABASE_URL"]) == before
    assert (files / "scan.pdf").read_bytes() == b"%PDF-1.4 reply scan"
    # The restored database keeps working: new rows get fresh ids.
    invoke_cli(env, "user", "add", "after@example.org", "--password", "long-password-1")


def test_restore_refuses_a_file_that_is_not_a_backup(env: dict[str, str], tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.zip"
    bogus.write_text("not a zip")
    result = invoke_cli(env, "restore", str(bogus), "--yes", check=False)
    assert result.returncode == 1
    assert "not a Demarche backup" in result.stderr


def test_restore_puts_parent_organisations_before_their_children() -> None:
    from app.models import Organisation
    from app.platform.backup import _parents_first

    table = cast(Table, Organisation.__table__)
    rows: list[dict[str, int | None]] = [
        {"id": 3, "parent_id": 2},
        {"id": 4, "parent_id": None},
        {"id": 2, "parent_id": 1},
        {"id": 1, "parent_id": None},
    ]
    ordered = [r["id"] for r in _parents_first(table, iter(rows))]
    assert sorted(ordered) == [1, 2, 3, 4]
    assert ordered.index(1) < ordered.index(2) < ordered.index(3)
