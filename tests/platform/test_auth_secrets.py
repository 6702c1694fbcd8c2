"""The session key: generated once per install (0600, shared by every process) when none is set,
required and strong in production; a cookie signed with the old published key opens nothing."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy.orm import Session

import app.main
from app.auth.secret_key import load_or_create, session_secret
from app.config import FORMER_DEFAULT_SECRET_KEY, PROJECT_ROOT, Settings
from app.models import Role, User
from tests.factories import make_user
from tests.support import databases
from tests.support.live import free_port, live_env, run_cli

ROOT = Path(__file__).parents[2]


def test_a_key_is_generated_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    settings = Settings(env="development", secret_key="", data_dir=tmp_path / "data")
    first = session_secret(settings)
    path = settings.secret_key_path
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert session_secret(settings) == first
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temporary left


def test_a_configured_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    key = "5f2c8a1e9b7d4c3a6e0f1b2d8c7a9e4f3b6d2a1c"
    assert session_secret(Settings(secret_key=key, data_dir=tmp_path)) == key
    assert not (tmp_path / "secret_key").exists()


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    code = (
        "import sys; from app.auth.secret_key import load_or_create; "
        "from pathlib import Path; print(load_or_create(Path(sys.argv[1])))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(path)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    keys = {proc.communicate(timeout=120)[0].strip() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert keys == {path.read_text().strip()}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_key_file_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    key = load_or_create(path)
    path.chmod(0o644)
    assert load_or_create(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_damaged_key_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.write_text("short")
    path.chmod(0o600)
    with pytest.raises(RuntimeError, match="delete it"):
        load_or_create(path)


def _forged_cookie(key: str, user: User) -> str:
    now = int(time.time())
    data = {"uid": user.id, "sv": user.session_version, "since": now, "seen": now}
    payload = base64.b64encode(json.dumps(data).encode())
    return TimestampSigner(key).sign(payload).decode()


def test_a_cookie_signed_with_the_published_development_key_is_refused(
    tmp_path: Path, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server started without DEMARCHE_SECRET_KEY signs with its generated key: the cookie an
    outsider signs with the old published key opens nothing, one signed with the install's key
    (which only the install can read) opens the settings."""
    settings = Settings(env="development", secret_key="", data_dir=tmp_path / "data")
    monkeypatch.setattr(app.main, "get_settings", lambda: settings)
    web = app.main.create_app()
    admin = make_user(db, Role.admin)

    forged = TestClient(web, base_url="http://testserver")
    forged.cookies.set("demarche_session", _forged_cookie(FORMER_DEFAULT_SECRET_KEY, admin))
    resp = forged.get("/settings", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")

    genuine = TestClient(web, base_url="http://testserver")
    genuine.cookies.set("demarche_session", _forged_cookie(session_secret(settings), admin))
    assert genuine.get("/settings", follow_redirects=False).status_code == 200


def test_production_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    env = live_env("sqlite:///" + str(tmp_path / "db.sqlite3"), tmp_path / "data")
    env["DEMARCHE_ENV"] = "production"
    env.pop("DEMARCHE_SECRET_KEY")
    for key in (None, FORMER_DEFAULT_SECRET_KEY, "too-short-a-key"):
        if key is not None:
            env["DEMARCHE_SECRET_KEY"] = key
        result = run_cli(env, "serve", "--port", str(free_port()), check=False)
        assert result.returncode == 1, result.stdout
        assert "Demarche cannot start" in result.stderr
        assert "DEMARCHE_SECRET_KEY" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "secret_key").exists()


@pytest.mark.database
def test_production_starts_with_a_strong_key(tmp_path: Path) -> None:
    url = databases.create_database(tmp_path, "prodkey")
    try:
        env = live_env(url, tmp_path / "data")
        env.update(
            DEMARCHE_ENV="production",
            DEMARCHE_SECRET_KEY="3e9a0c7b5d1f8e2a4c6b0d9f7e5a3c1b8d6f4e2a",
        )
        assert "up to date" in run_cli(env, "migrate").stdout
    finally:
        databases.drop_database(url)


def test_the_image_runs_as_production_and_compose_passes_the_key() -> None:
    import yaml

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "DEMARCHE_ENV=production" in dockerfile
    env = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"][
        "environment"
    ]
    assert env["DEMARCHE_ENV"] == "production"
    assert env["DEMARCHE_SECRET_KEY"].startswith("${DEMARCHE_SECRET_KEY:?")
