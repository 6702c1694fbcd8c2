"""Test databases: SQLite files or PostgreSQL databases created for this run, then dropped."""

from __future__ import annotations

import os
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support import dbuse

BACKEND = os.environ.get("DEMARCHE_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "DEMARCHE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def check_postgres() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - reported to the user verbatim
        return str(exc).splitlines()[0]


def create_database(tmp_dir: Path, label: str) -> str:
    """A new empty database; returns its URL."""
    dbuse.forbid("a new test database")
    if BACKEND == "sqlite":
        return f"sqlite:///{tmp_dir / f'{_suffix(label)}.sqlite3'}"
    url = _new_name(label)
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{make_url(url).database}"'))
    engine.dispose()
    return url


def _suffix(label: str) -> str:
    return f"{label}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def _new_name(label: str) -> str:
    """The URL of a PostgreSQL database not created yet."""
    name = f"demarche_test_{_suffix(label)}"
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def copy_database(source_url: str, tmp_dir: Path, label: str) -> str:
    """A new database holding what ``source_url``'s holds (nobody may be connected to it)."""
    dbuse.forbid("a copy of a test database")
    url = create_database(tmp_dir, label) if BACKEND == "sqlite" else _new_name(label)
    if BACKEND == "sqlite":
        # SQLite's backup reads through the write-ahead log, which a file copy would miss.
        with (
            closing(sqlite3.connect(_sqlite_path(source_url))) as source,
            closing(sqlite3.connect(_sqlite_path(url))) as target,
        ):
            source.backup(target)
        return url
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(
            text(
                f'CREATE DATABASE "{make_url(url).database}" '
                f'TEMPLATE "{make_url(source_url).database}"'
            )
        )
    engine.dispose()
    return url


def _sqlite_path(url: str) -> Path:
    return Path(str(make_url(url).database))


def drop_database(url: str) -> None:
    if BACKEND == "sqlite":
        return
    name = make_url(url).database
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    engine.dispose()
