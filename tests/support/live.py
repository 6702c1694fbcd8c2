"""Real processes for end-to-end tests: the web server and the worker, on loopback, and the demo
site the browser tests share (one per test process, reset to the demo after each test)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Connection, Engine, Integer, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.config import PROJECT_ROOT
from app.db import make_engine
from app.models import Base, BatchStatus, MergeBatch
from tests.support import databases
from tests.support.ports import free_port
from tests.support.smtp import Mailbox, smtp_server
from tests.support.waiting import eventually


def live_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMARCHE_")}
    env.update(
        DEMARCHE_ENV="test",
        DEMARCHE_DATABASE_URL=database_url,
        DEMARCHE_DATA_DIR=str(data_dir),
        DEMARCHE_SECRET_KEY="live-test-secret-key-0123456789abcdef",
        **extra,
    )
    return env


def run_cli(
    env: dict[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        _succeeded(args, result.returncode, result.stdout, result.stderr)
    return result


def _succeeded(args: tuple[str, ...], returncode: int, stdout: str, stderr: str) -> None:
    """Fails with the ends of a command's output when it did not exit 0."""
    if returncode != 0:
        raise AssertionError(
            f"demarche {' '.join(args)} exited {returncode}:\n{stdout[-3000:]}\n{stderr[-3000:]}"
        )


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def invoke_cli(env: dict[str, str], *args: str, check: bool = True) -> CliResult:
    """`demarche ARGS` run in this process with the settings ``env`` gives (its database, data
    directory, key), then this process's own again: a command's own work takes a fraction of
    what starting a process for it does. For what a command does; run_cli starts the command
    as a process, for what only a process shows (its exit, its password hashing cost).

    Not inside a test holding the ``db`` fixture, whose sessions would join the command's."""
    from typer.testing import CliRunner

    import app.db
    from app import cli
    from app.config import get_settings

    def forget() -> None:
        get_settings.cache_clear()
        app.db.session_factory.cache_clear()
        app.db.get_engine.cache_clear()

    assert hasattr(app.db.session_factory, "cache_clear"), "invoke_cli inside a db test"
    ours = {k: None for k in os.environ if k.startswith("DEMARCHE_")}
    forget()
    try:
        result = CliRunner().invoke(
            cli.app, list(args), env={**ours, **env}, catch_exceptions=False
        )
    finally:
        if app.db.get_engine.cache_info().currsize:  # the command's engine
            app.db.get_engine().dispose()
        forget()
    out = CliResult(result.exit_code, result.stdout, result.stderr)
    if check:
        _succeeded(args, out.returncode, out.stdout, out.stderr)
    return out


def log_tail(log_path: Path) -> str:
    try:
        return log_path.read_text(errors="replace")[-3000:]
    except OSError:
        return ""


@contextmanager
def process(
    args: list[str], env: dict[str, str], log_path: Path, *, own_group: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """``args`` running until the block ends (then SIGTERM, SIGKILL after 10 s). ``own_group``:
    the process leads a process group of its own, so what it started can be found by group."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            args,
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0 if own_group else None,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def serve_args(port: int) -> list[str]:
    return [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]


def wait_until_up(base: str, log_path: Path, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Until ``base``/healthz answers (whatever it says: a test may start a server whose
    database is down); fails at once with the log if the server exited."""

    def up() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited: {log_tail(log_path)}")
        try:
            httpx.get(base + "/healthz", timeout=2)
        except httpx.HTTPError:
            return False
        return True

    # generous: a loaded machine (a whole suite on every core) starts Python slowly
    eventually(up, timeout=120, interval=0.2, what=lambda: f"the server: {log_tail(log_path)}")


@contextmanager
def live_server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`demarche serve` on a free loopback port; yields its base URL once it answers."""
    port = free_port()
    with process(serve_args(port), env, log_path) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, log_path, proc)
        yield base


@contextmanager
def live_worker(
    env: dict[str, str], log_path: Path, *, own_group: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """`demarche worker` with one job at a time (the worker under test of the live tests)."""
    args = [sys.executable, "-m", "app.cli", "worker", "--workers", "1"]
    with process(args, env, log_path, own_group=own_group) as proc:
        yield proc


_MIGRATED: dict[str, Path] = {}  # this process's migrated database (its URL → its folder)


def migrated_database(tmp_dir: Path, label: str) -> str:
    """A new database as `demarche migrate` leaves it (the schema and the reference data): a
    copy of one migrated once per test process, as copying takes a fraction of migrating."""
    if not _MIGRATED:
        root = Path(tempfile.mkdtemp(prefix="demarche-migrated-"))
        url = databases.create_database(root, "migrated")
        _MIGRATED[url] = root
        run_cli(live_env(url, root / "data"), "migrate")
    return databases.copy_database(next(iter(_MIGRATED)), tmp_dir, label)


def drop_migrated_database() -> None:
    """At the end of the test process (xdist's workers end without running atexit)."""
    for url, root in _MIGRATED.items():
        databases.drop_database(url)
        shutil.rmtree(root, ignore_errors=True)
    _MIGRATED.clear()


# ----------------------------------------------------------------------------- the demo site


class Snapshot:
    """Every row of every table, read once; ``restore`` puts the database back to them (ids and
    sequences too) while the server and worker keep running, so a test that changes the demo
    leaves the next one the demo as it was."""

    def __init__(self, engine: Engine) -> None:
        self.tables = Base.metadata.sorted_tables
        with engine.connect() as conn:
            self.rows = {
                table.name: [dict(row._mapping) for row in conn.execute(select(table))]
                for table in self.tables
            }

    def restore(self, engine: Engine) -> None:
        postgres = engine.dialect.name == "postgresql"
        with engine.begin() as conn:
            # no foreign key is checked until every table is whole again
            if postgres:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                names = ", ".join(f'"{t.name}"' for t in self.tables)
                conn.execute(text(f"TRUNCATE {names}"))
            else:
                conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
                for table in reversed(self.tables):
                    conn.execute(table.delete())
            for table in self.tables:
                if self.rows[table.name]:
                    conn.execute(insert(table), self.rows[table.name])
            if postgres:
                self._reset_sequences(conn)

    def _reset_sequences(self, conn: Connection) -> None:
        """Each id sequence after the largest id restored (none without a row)."""
        for table in self.tables:
            columns = list(table.primary_key.columns)
            if len(columns) == 1 and isinstance(columns[0].type, Integer):
                column = columns[0]
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence(:t, :c), "
                        f'coalesce(max("{column.name}"), 1), max("{column.name}") IS NOT NULL) '
                        f'FROM "{table.name}"'
                    ),
                    {"t": table.name, "c": column.name},
                )


@dataclass
class DemoSite:
    """`demarche serve` and `demarche worker` on the demo data, mail going to ``mailbox``."""

    base: str
    env: dict[str, str]
    data: Path
    logs: Path
    mailbox: Mailbox
    engine: Engine
    snapshot: Snapshot

    def session(self) -> Session:
        """A session on the site's database (committed rows are seen by the server)."""
        return sessionmaker(bind=self.engine, expire_on_commit=False)()

    def reset(self) -> None:
        """The demo as loaded, an empty mailbox."""
        self.snapshot.restore(self.engine)
        with self.mailbox.lock:
            self.mailbox.messages.clear()
            self.mailbox.envelopes.clear()
            self.mailbox.scripted.clear()


def _demo_jobs_done(engine: Engine) -> bool:
    busy = (BatchStatus.queued, BatchStatus.running)
    with Session(engine) as session:
        return not session.scalars(select(MergeBatch.id).where(MergeBatch.status.in_(busy))).all()


@contextmanager
def demo_site(tmp: Path, logs: Path) -> Iterator[DemoSite]:
    """A migrated database with the demo loaded, the worker and the server started on it, the
    demo's merge rendered and the whole of it kept for ``reset``."""
    url = migrated_database(tmp, "demo_site")
    engine = make_engine(url)
    try:
        with ExitStack() as stack:
            smtp_url, mailbox = stack.enter_context(smtp_server())
            env = live_env(url, tmp / "data", DEMARCHE_SMTP_URL=smtp_url)
            run_cli(env, "demo")
            # one site per xdist worker, each with logs of its own
            name = f"demo-site-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
            worker_log = logs / f"{name}-worker.log"
            stack.enter_context(live_worker(env, worker_log))
            base = stack.enter_context(live_server(env, logs / f"{name}-server.log"))
            # The demo queues its merge: rendered before the snapshot, so every test starts
            # from the same finished demo and no job of it runs during a test.
            eventually(
                lambda: _demo_jobs_done(engine),
                timeout=300,
                interval=0.5,
                what=lambda: f"the demo merge: {log_tail(worker_log)}",
            )
            snapshot = Snapshot(engine)
            yield DemoSite(base, env, tmp / "data", logs, mailbox, engine, snapshot)
    finally:
        engine.dispose()
        databases.drop_database(url)
