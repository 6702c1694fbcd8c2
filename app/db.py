"""Engine, sessions and the one-transaction-per-request dependency."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import Engine, String, create_engine, event
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.functions import GenericFunction

from app.config import get_settings


class fold(GenericFunction[str]):  # noqa: N801 - used like func.lower
    """Lower case in every script, on both databases: ``fold(Tag.name) == name.lower()``.

    SQLite's own lower() only knows ASCII ("МИД" and "ÉTÉ" would never match their lower-case
    forms, as they do on PostgreSQL), so there it calls Python's case mapping. Plain lower() is
    kept for sorting, where SQLite's built-in runs in C with no call into Python for each row.
    """

    type = String()
    name = "fold"
    inherit_cache = True


@compiles(fold)
def _fold_default(element: fold, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(fold, "sqlite")
def _fold_sqlite(element: fold, compiler: Any, **kw: Any) -> str:
    return f"unicode_lower({compiler.process(element.clauses, **kw)})"


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (savepoints work).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()
    dbapi_connection.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front, so concurrent writers (web and worker processes)
    # wait on busy_timeout instead of failing with "database is locked" on lock upgrade.
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No JIT: PostgreSQL would compile each run of a costly plan (a batch of an export, say)
    # to machine code first, hundreds of milliseconds that a web request never wins back.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        connect_args={"options": "-c jit=off"},
    )


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.database_url)


@lru_cache
def session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@contextmanager
def transaction() -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back if it raises."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_session() -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    with transaction() as session:
        yield session


# scope="function": the commit happens before the response leaves, so a client never sees
# success for a write that then fails to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
