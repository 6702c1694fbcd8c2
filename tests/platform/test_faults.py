"""Faults: the database restarted under a running server, an unwritable or full data directory.

The database fault runs against a PostgreSQL server of its own (initdb in a temporary
directory, on a free port), so stopping it disturbs nothing else on the machine.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from app.models import Campaign, Role
from tests.factories import api_headers, make_user
from tests.support import databases
from tests.support.live import free_port, invoke_cli, live_env, live_server, run_cli

PG_BIN = next(
    (p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), Path("/nonexist")
)


class OwnPostgres:
    """A throw-away PostgreSQL cluster owned by the `postgres` system user."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w",
            "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


@pytest.fixture
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnPostgres]:
    if databases.BACKEND != "postgresql":
        pytest.skip("the database-restart fault runs in the PostgreSQL pass")
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL server binaries not found under {PG_BIN}")
    server = OwnPostgres(Path(f"/tmp/demarche-faults-{os.getpid()}-{time.monotonic_ns()}"))
    server.init()
    server.start()
    yield server
    with contextlib.suppress(subprocess.CalledProcessError):
        server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.mark.live
def test_postgres_restart_fails_requests_cleanly_and_the_server_recovers(
    own_postgres: OwnPostgres, tmp_path: Path
) -> None:
    env = live_env(own_postgres.url, tmp_path / "data")
    run_cli(env, "migrate")
    invoke_cli(
        env,
        "user",
        "add",
        "coord@example.org",
        "--role",
        "coordinator",
        "--password",
        "harbour-otter-violet",
    )
    token = invoke_cli(env, "token", "create", "coord@example.org").stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}

    def count_campaigns() -> int:
        engine = create_engine(own_postgres.url)
        with engine.connect() as conn:
            n = conn.scalar(select(func.count()).select_from(Campaign.__table__)) or 0
        engine.dispose()
        return n

    with live_server(env, tmp_path / "server.log") as base, httpx.Client(base_url=base) as http:
        ok = http.post("/api/v1/campaigns", json={"name": "Before"}, headers=headers)
        assert ok.status_code == 201, ok.text

        own_postgres.stop()
        started = time.monotonic()
        refused = http.post("/api/v1/campaigns", json={"name": "During"}, headers=headers)
        listing = http.get("/api/v1/campaigns", headers=headers)
        page = http.get("/login")
        assert time.monotonic() - started < 20, "requests hung while the database was down"
        for resp in (refused, listing):
            assert resp.status_code == 503, resp.text
            assert resp.headers["content-type"] == "application/problem+json"
            assert "nothing was saved" in resp.json()["detail"]
            assert resp.headers["retry-after"]
        assert page.status_code in {200, 503}

        own_postgres.start()
        # The same server process, no restart: the pool reconnects on the next request.
        after = http.post("/api/v1/campaigns", json={"name": "After"}, headers=headers)
        assert after.status_code == 201, after.text
        names = [c["name"] for c in http.get("/api/v1/campaigns", headers=headers).json()["items"]]
        assert sorted(names) == ["After", "Before"]
        assert http.get("/healthz").json()["database"]["ok"] is True
    assert count_campaigns() == 2  # nothing half-written from the refused request


def test_unwritable_data_directory_is_a_clear_507(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (ENOSPC) while saving: a clear message and nothing written to the database."""
    from app.campaigns import service as campaigns_service

    user = make_user(db, Role.coordinator)
    headers = api_headers(db, user)
    before = db.scalar(select(func.count()).select_from(Campaign.__table__))
    original = campaigns_service.create

    def full_disk(*args: Any, **kwargs: Any) -> NoReturn:
        original(*args, **kwargs)  # the row is flushed, then the file write fails
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(campaigns_service, "create", full_disk)
    resp = client.post("/api/v1/campaigns", json={"name": "Disk full"}, headers=headers)
    assert resp.status_code == 507
    assert resp.headers["content-type"] == "application/problem+json"
    assert "No space left on device" in resp.json()["detail"]
    assert "nothing was saved" in resp.json()["detail"]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Campaign.__table__)) == before
    assert db.execute(text("SELECT 1")).scalar() == 1


@pytest.mark.live
def test_server_refuses_to_start_on_an_unusable_data_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory should be")
    url = databases.create_database(tmp_path, "faults")
    try:
        env = live_env(url, blocker / "data")
        result = run_cli(env, "migrate", check=False)
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "data directory" in output.lower()
        assert "Traceback" not in output
    finally:
        databases.drop_database(url)
