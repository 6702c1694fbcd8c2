"""Which tests use a database, and a check that the others really use none.

A test that uses no database (language rules, typesetting, OCR, parsing, templates) gives the
same result whichever database the run is on, so `make test` runs it once, in the SQLite pass;
the PostgreSQL pass runs every test that uses a database (``DEMARCHE_TEST_ALL=1`` runs them all
there too). A test uses a database when it asks for a fixture that opens one
(``DATABASE_FIXTURES``, directly or through fixtures built on them) or is marked ``live`` or
``database``. A test marked ``one_database`` uses one only to hold what it is about, and runs in
the SQLite pass alone.

Every other test runs with database access forbidden: a SQLAlchemy connection taken from any
pool, or a test database created or copied, fails it with a message saying to mark it. So a test
cannot stay out of the PostgreSQL pass while touching a database.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

DATABASE_FIXTURES = frozenset({"engine", "connection", "db", "web_app", "demo_site_once"})
MARKERS = ("live", "browser", "database")
RUN_ALL = os.environ.get("DEMARCHE_TEST_ALL", "") not in ("", "0")


class DatabaseUseForbidden(AssertionError):
    pass


_lock = threading.Lock()
_current: str | None = None  # the database-free test running now
_used: list[str] = []  # what it touched


def uses_database(item: pytest.Item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    return bool(DATABASE_FIXTURES & names) or any(item.get_closest_marker(m) for m in MARKERS)


def runs_on_postgresql(item: pytest.Item) -> bool:
    """Whether the PostgreSQL pass runs the test: it uses a database, and not only to hold what
    it is about (``one_database``: the runaway templates, whose bounds are the renderer's)."""
    return RUN_ALL or (uses_database(item) and not item.get_closest_marker("one_database"))


def forbid(what: str) -> None:
    """Called where a database is opened: fails a database-free test."""
    with _lock:
        if _current is None:
            return
        _used.append(what)
        nodeid = _current
    raise DatabaseUseForbidden(
        f"{nodeid} uses a database ({what}) but asks for no database fixture: mark it "
        "@pytest.mark.database so that the PostgreSQL pass runs it too"
    )


@contextmanager
def database_free(nodeid: str) -> Iterator[list[str]]:
    """While a database-free test runs: what it touched (empty when it kept to itself)."""
    global _current
    with _lock:
        _current = nodeid
        _used.clear()
    try:
        yield _used
    finally:
        with _lock:
            _current = None


def _on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    forbid("a database connection")


def install() -> None:
    """Watch every SQLAlchemy pool of this process (the app's engines and the tests' own)."""
    if not event.contains(Pool, "checkout", _on_checkout):
        event.listen(Pool, "checkout", _on_checkout)
