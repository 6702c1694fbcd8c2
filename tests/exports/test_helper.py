"""A helper renders every other batch of a CSV or vCard export: on a SQLite file a helper
process (``app.exports.batches``), on PostgreSQL a second connection in a thread. The file
comes out as this process alone would write it, a helper that breaks is replaced by this
process, and a dropped download leaves no helper behind.

A helper has its own connection, so it cannot see a test's transaction: these tests use a
database of their own (a SQLite file, or a new PostgreSQL database in the PostgreSQL pass) with
committed data."""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

import app.db
from app import reference
from app.exports import flat, formats, service
from app.exports.batches import Plan, Spec
from app.exports.gate import Tally
from app.exports.schemas import ExportRequest
from app.platform.migrations import upgrade
from tests.exports.conftest import build_directory, build_tricky, email
from tests.factories import make_person
from tests.support import databases

pytestmark = pytest.mark.database  # its own databases, made in the test


@dataclass
class OwnDatabase:
    url: str
    engine: Engine
    maker: sessionmaker[Session]


@pytest.fixture(scope="module")
def own_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnDatabase]:
    """The export test directory and a dozen more people, committed to a database of the
    suite's kind."""
    url = databases.create_database(tmp_path_factory.mktemp("helper"), "exports_helper")
    upgrade(url)  # as deployed: migrations make the schema (and PostgreSQL's extensions)
    engine = app.db.make_engine(url)
    maker = sessionmaker(bind=engine, expire_on_commit=False)
    with maker() as session:
        reference.load(session)
        directory = build_directory(session)
        build_tricky(session, directory)
        for n in range(12):
            person = make_person(
                session, given_name=f"Extra {n}", no_email=n % 5 == 0, tags=[directory.tag]
            )
            email(session, person, f"extra{n}@example.org")
        session.commit()
    yield OwnDatabase(url, engine, maker)
    engine.dispose()
    databases.drop_database(url)


@pytest.fixture
def own(own_database: OwnDatabase, monkeypatch: pytest.MonkeyPatch) -> OwnDatabase:
    """The app's sessions on that database, in batches of three people, so that a small
    directory makes many batches."""
    monkeypatch.setattr(app.db, "session_factory", lambda: own_database.maker)
    monkeypatch.setattr(flat, "BATCH", 3)
    return own_database


HELPER = flat._HelperProcess if databases.BACKEND == "sqlite" else flat._HelperConnection


@pytest.fixture
def helpers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every helper started, as it was started."""
    started: list[Any] = []
    start = HELPER.start

    def recording(*args: Any) -> Any:
        helper = start(*args)
        if helper is not None:
            started.append(helper)
        return helper

    monkeypatch.setattr(HELPER, "start", staticmethod(recording))
    return started


def _export(req: ExportRequest) -> tuple[bytes, Tally]:
    """The export as ``service.stream`` makes it: a reading session outside a transaction."""
    tally = Tally()
    with service.reading_session() as session:
        selection = service.select_contacts(session, req)
        data = b"".join(service.text_rows(session, req, selection, tally))
    return data, tally


def _general(req: ExportRequest) -> tuple[bytes, Tally]:
    """The same export the general way (``rows.iter_rows`` and ``formats``), no fast lane."""
    tally = Tally()
    with service.reading_session() as session:
        selection = service.select_contacts(session, req)
        rows = service.export_rows(session, req, selection, tally)
        if req.format == "csv":
            chunks = formats.csv_chunks(rows, req.columns, delimiter=req.delimiter)
        else:
            chunks = formats.vcard_chunks(rows)
        data = b"".join(chunks)
    return data, tally


def _counts(tally: Tally) -> tuple[object, ...]:
    return (
        tally.exported,
        tally.processed,
        tally.excluded,
        [(e.id, e.name, e.reason) for e in tally.sample],
    )


def _finished(helper: Any) -> bool:
    """Did the helper render all its batches and end?"""
    if isinstance(helper, flat._HelperProcess):
        return (helper.remaining, helper.process.returncode) == (0, 0)
    return helper.ahead.pending is None and helper.connection.closed


@pytest.mark.parametrize(
    ("fmt", "include_do_not_contact", "delimiter"),
    [("csv", False, ","), ("csv", True, ";"), ("vcard", False, ","), ("vcard", True, ",")],
)
def test_a_helper_renders_what_this_process_renders(
    own: OwnDatabase,
    helpers: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
    include_do_not_contact: bool,
    delimiter: str,
) -> None:
    req = ExportRequest(
        source="search",
        filters={"kind": "person"},
        format=fmt,
        include_do_not_contact=include_do_not_contact,
        delimiter=delimiter,
    )
    with_helper, helped = _export(req)
    assert len(helpers) == 1 and _finished(helpers[0])
    general, general_tally = _general(req)
    assert with_helper == general
    assert _counts(helped) == _counts(general_tally)
    assert helped.processed > 6 * flat.BATCH  # many batches, half of them the helper's
    if not include_do_not_contact:
        assert helped.excluded["do not email"] >= 3

    monkeypatch.setattr(flat, "_shared_file", lambda connection: None)
    monkeypatch.setattr(flat, "_shared_engine", lambda connection: None)
    alone, alone_tally = _export(req)
    assert len(helpers) == 1  # no helper this time
    assert alone == with_helper
    assert _counts(alone_tally) == _counts(helped)


def _break(helper: Any, own: OwnDatabase) -> None:
    """The helper process killed, or the helper connection's server process ended."""
    if isinstance(helper, flat._HelperProcess):
        helper.process.kill()
        return
    pid = helper.connection.connection.dbapi_connection.info.backend_pid
    with own.engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        connection.commit()


def test_a_helper_that_breaks_is_replaced_by_this_process(
    own: OwnDatabase,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    req = ExportRequest(source="search", filters={"kind": "person"}, format="csv")
    expected, expected_tally = _general(req)
    start = HELPER.start
    broken: list[Any] = []

    def breaking(*args: Any) -> Any:
        helper = start(*args)
        assert helper is not None
        _break(helper, own)
        broken.append(helper)
        return helper

    monkeypatch.setattr(HELPER, "start", staticmethod(breaking))
    with caplog.at_level(logging.WARNING, logger="app.exports.flat"):
        data, tally = _export(req)
    assert broken
    assert data == expected
    assert _counts(tally) == _counts(expected_tally)
    assert "export helper stopped" in caplog.text


def test_a_helper_process_says_why_it_stopped(tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "missing.sqlite3"
    helper = flat._HelperProcess.start(
        str(missing), Spec("csv", 1, [None] * 8), [Plan("SELECT 1", [])]
    )
    assert helper is not None
    with pytest.raises(flat.HelperError, match="unable to open database file"):
        helper.next()
    helper.close()
    assert not missing.parent.exists()  # it only reads: nothing was created


def test_a_dropped_download_leaves_no_helper_behind(own: OwnDatabase, helpers: list[Any]) -> None:
    req = ExportRequest(source="search", filters={"kind": "person"}, format="csv")
    with service.reading_session() as session:
        selection = service.select_contacts(session, req)
        chunks = service.text_rows(session, req, selection, Tally())
        assert isinstance(chunks, Generator)  # closed early below, as a dropped download is
        assert next(chunks).startswith(b"Name,")
        assert b"@example.org" in next(chunks)
        chunks.close()
    assert len(helpers) == 1
    helper = helpers[0]
    if isinstance(helper, flat._HelperProcess):
        assert helper.process.returncode is not None  # stopped and reaped
    else:
        assert helper.connection.closed and helper.ahead.pool._shutdown


def test_only_a_connection_outside_a_transaction_gets_a_helper(own: OwnDatabase) -> None:
    """A helper would not see what a transaction sees (its own changes, its snapshot)."""

    def shared(connection: Any) -> object:
        return flat._shared_file(connection) or flat._shared_engine(connection)

    with own.engine.connect() as connection, connection.begin():
        connection.execute(text("SELECT 1"))
        assert shared(connection) is None
    with service.reading_session() as session:
        assert shared(session.connection()) is not None


def test_the_tests_own_connection_and_memory_get_no_helper(db: Session) -> None:
    assert flat._shared_file(db.connection()) is None
    assert flat._shared_engine(db.connection()) is None
    memory = app.db.make_engine("sqlite://")
    with memory.connect() as connection:
        assert flat._shared_file(connection) is None
    memory.dispose()


def test_a_helper_connection_is_not_taken_from_a_busy_pool(own: OwnDatabase) -> None:
    """With every connection of the pool's size in use, the export reads alone rather than
    wait for one or take one from the overflow that requests need."""
    engine = create_engine(own.url, pool_size=1, max_overflow=5)
    spec, plans = Spec("csv", 1, [None] * 8), list[Plan]()
    with engine.connect():
        assert flat._HelperConnection.start(engine, spec, plans) is None
    helper = flat._HelperConnection.start(engine, spec, plans)
    assert helper is not None
    helper.close()
    engine.dispose()
