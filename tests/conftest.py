"""Test set-up: one migrated database per run (SQLite or PostgreSQL, from DEMARCHE_TEST_DB),
each test inside a transaction that is rolled back."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="demarche-tests-"))
os.environ.update(
    DEMARCHE_ENV="test",
    DEMARCHE_DATA_DIR=str(_TMP / "data"),
    DEMARCHE_SECRET_KEY="test-secret-key-0123456789abcdef0123456789",
    # The test client's host name (live servers are reached on 127.0.0.1, always trusted).
    DEMARCHE_TRUSTED_HOSTS="testserver",
)
os.environ.pop("DEMARCHE_REDIS_URL", None)

from tests.support import databases  # noqa: E402

if databases.BACKEND not in {"sqlite", "postgresql"}:
    raise pytest.UsageError("DEMARCHE_TEST_DB must be sqlite or postgresql")
if databases.BACKEND == "postgresql" and (why := databases.check_postgres()):
    # Never skip silently: a PostgreSQL run without PostgreSQL is a failure.
    raise pytest.UsageError(f"PostgreSQL test run, but PostgreSQL is unreachable: {why}")

os.environ["DEMARCHE_DATABASE_URL"] = databases.create_database(_TMP, "main")

from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from playwright.sync_api import Page  # noqa: E402
from pwdlib import PasswordHash  # noqa: E402
from pwdlib.hashers.argon2 import Argon2Hasher  # noqa: E402
from sqlalchemy import Connection, Engine  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

import app.db  # noqa: E402
from app import hooks, reference  # noqa: E402
from app.auth import service as auth_service  # noqa: E402
from app.config import get_settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.platform.migrations import upgrade  # noqa: E402
from tests.support import dbuse  # noqa: E402
from tests.support.browser import browser_page  # noqa: E402
from tests.support.live import DemoSite, demo_site, drop_migrated_database  # noqa: E402

ARTIFACTS = Path(__file__).parent / "artifacts"

# Argon2 at the shipped cost spends a tenth of a second of CPU on every user a test makes and on
# every sign-in, a good part of the whole suite. In this process passwords are hashed with the
# same algorithm at its lowest cost; the servers and workers the live tests start use the shipped
# cost, and test_auth_cli checks the hash a real `demarche user add` stores.
auth_service._hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))

dbuse.install()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass leaves out the tests that use no database, and those marked
    ``one_database``: the SQLite pass ran them (``tests/support/dbuse.py``)."""
    if databases.BACKEND != "postgresql" or dbuse.RUN_ALL:
        return
    keep = [item for item in items if dbuse.runs_on_postgresql(item)]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in set(keep)])
        items[:] = keep


def _database_free(item: pytest.Item) -> Iterator[None]:
    """Runs a hook of a test that uses no database with database access forbidden; fails the
    test if it touched one anyway (even where the code under test caught the error)."""
    if dbuse.uses_database(item):
        return (yield)
    with dbuse.database_free(item.nodeid) as used:
        result = yield
    if used:
        raise dbuse.DatabaseUseForbidden(
            f"{item.nodeid} used a database ({used[0]}) without asking for a database fixture: "
            "mark it @pytest.mark.database so that the PostgreSQL pass runs it too"
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    return (yield from _database_free(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    return (yield from _database_free(item))


def pytest_sessionfinish() -> None:
    """The main database goes at the end even when no test used it (it exists from import)."""
    app.db.get_engine().dispose()
    databases.drop_database(get_settings().database_url)
    drop_migrated_database()


def pytest_report_header() -> str:
    return f"demarche test database: {databases.BACKEND} ({get_settings().database_url})"


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    hooks.install()  # as every entry point does; tests open sessions without the app too
    upgrade()
    with app.db.transaction() as session:
        reference.load(session)
    engine = app.db.get_engine()
    yield engine
    engine.dispose()
    databases.drop_database(get_settings().database_url)


@pytest.fixture(scope="session")
def tmp_root() -> Path:
    return _TMP


@pytest.fixture
def connection(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Connection]:
    """One connection and outer transaction per test; every session in the app joins it."""
    conn = engine.connect()
    outer = conn.begin()
    maker = sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    monkeypatch.setattr(app.db, "session_factory", lambda: maker)
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    session = app.db.session_factory()()
    yield session
    session.close()


@pytest.fixture(scope="session")
def web_app(engine: Engine) -> FastAPI:
    return create_app()


@pytest.fixture
def client(web_app: FastAPI, connection: Connection) -> Iterator[TestClient]:
    with TestClient(web_app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def demo_site_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """The demo site of this test process: started by the first test that asks for it."""
    ARTIFACTS.mkdir(exist_ok=True)
    with demo_site(tmp_path_factory.mktemp("demo-site"), ARTIFACTS) as site:
        yield site


@pytest.fixture
def site(demo_site_once: DemoSite) -> Iterator[DemoSite]:
    """A real server and worker on the demo data, shared by the browser tests; whatever a test
    changes is put back afterwards (the database and the mailbox), so none sees another's."""
    yield demo_site_once
    demo_site_once.reset()


@pytest.fixture
def page(site: DemoSite) -> Iterator[Page]:
    """A Chromium page on the demo site, downloads accepted."""
    with browser_page(site.base, accept_downloads=True) as page:
        yield page
