"""On a SQLite file, a helper process renders every other batch of a CSV or vCard export
(``app.exports.batches``): the file comes out as this process alone would write it, a helper
that stops is replaced by this process, and a dropped download leaves no helper behind.

These tests use a SQLite file of their own with committed data (the helper has its own
connection, so it cannot see a test's transaction), whichever database the suite runs on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import app.db
from app import reference
from app.exports import flat, formats, service
from app.exports.batches import Plan, Spec
from app.exports.gate import Tally
from app.exports.schemas import ExportRequest
from app.models.base import Base
from tests.exports.conftest import Directory, build_directory, build_tricky, email
from tests.factories import make_person


@dataclass
class FileDirectory:
    engine: Engine
    path: Path
    directory: Directory


@pytest.fixture
def on_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileDirectory]:
    """The export test directory, committed to a SQLite file that the app's sessions use, with
    batches of three people, so that a small directory makes many batches."""
    path = tmp_path / "exports.sqlite3"
    engine = app.db.make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    maker = sessionmaker(bind=engine, expire_on_commit=False)
    monkeypatch.setattr(app.db, "session_factory", lambda: maker)
    with app.db.transaction() as session:
        reference.load(session)
        directory = build_directory(session)
        build_tricky(session, directory)
        for n in range(12):
            person = make_person(
                session, given_name=f"Extra {n}", no_email=n % 5 == 0, tags=[directory.tag]
            )
            email(session, person, f"extra{n}@example.org")
    monkeypatch.setattr(flat, "BATCH", 3)
    yield FileDirectory(engine, path, directory)
    engine.dispose()


@pytest.fixture
def helpers(monkeypatch: pytest.MonkeyPatch) -> list[flat._Helper]:
    """Every helper started, as it was started."""
    started: list[flat._Helper] = []
    start = flat._Helper.start

    def recording(database: str, spec: Spec, plans: list[Plan]) -> flat._Helper | None:
        helper = start(database, spec, plans)
        if helper is not None:
            started.append(helper)
        return helper

    monkeypatch.setattr(flat._Helper, "start", staticmethod(recording))
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


@pytest.mark.parametrize(
    ("fmt", "include_do_not_contact", "delimiter"),
    [("csv", False, ","), ("csv", True, ";"), ("vcard", False, ","), ("vcard", True, ",")],
)
def test_a_helper_renders_what_this_process_renders(
    on_file: FileDirectory,
    helpers: list[flat._Helper],
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
    assert len(helpers) == 1  # one helper for the export, and it finished its batches
    assert (helpers[0].remaining, helpers[0].process.returncode) == (0, 0)
    general, general_tally = _general(req)
    assert with_helper == general
    assert _counts(helped) == _counts(general_tally)
    assert helped.processed > 6 * flat.BATCH  # many batches, half of them the helper's
    if not include_do_not_contact:
        assert helped.excluded["do not email"] >= 3

    monkeypatch.setattr(flat, "_shared_file", lambda connection: None)
    alone, alone_tally = _export(req)
    assert len(helpers) == 1  # no helper this time
    assert alone == with_helper
    assert _counts(alone_tally) == _counts(helped)


def test_a_helper_that_stops_is_replaced_by_this_process(
    on_file: FileDirectory,
    helpers: list[flat._Helper],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    req = ExportRequest(source="search", filters={"kind": "person"}, format="csv")
    expected, expected_tally = _general(req)
    start = flat._Helper.start

    def killed(database: str, spec: Spec, plans: list[Plan]) -> flat._Helper | None:
        helper = start(database, spec, plans)
        assert helper is not None
        helper.process.kill()
        return helper

    monkeypatch.setattr(flat._Helper, "start", staticmethod(killed))
    with caplog.at_level(logging.WARNING, logger="app.exports.flat"):
        data, tally = _export(req)
    assert data == expected
    assert _counts(tally) == _counts(expected_tally)
    assert "export helper stopped" in caplog.text


def test_a_helper_says_why_it_stopped(on_file: FileDirectory, tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "missing.sqlite3"
    helper = flat._Helper.start(str(missing), Spec("csv", 1, [None] * 8), [Plan("SELECT 1", [])])
    assert helper is not None
    with pytest.raises(flat.HelperError, match="unable to open database file"):
        helper.next()
    helper.close()
    assert not missing.parent.exists()  # it only reads: nothing was created


def test_a_dropped_download_leaves_no_helper_behind(
    on_file: FileDirectory, helpers: list[flat._Helper]
) -> None:
    req = ExportRequest(source="search", filters={"kind": "person"}, format="csv")
    with service.reading_session() as session:
        selection = service.select_contacts(session, req)
        chunks = service.text_rows(session, req, selection, Tally())
        assert next(chunks).startswith(b"Name,")
        assert b"@example.org" in next(chunks)
        chunks.close()
    assert len(helpers) == 1
    assert helpers[0].process.returncode is not None  # stopped and reaped


def test_a_connection_in_a_transaction_keeps_its_batches(on_file: FileDirectory) -> None:
    """A helper would not see what a transaction sees (its own changes, its snapshot)."""
    with on_file.engine.connect() as connection, connection.begin():
        connection.exec_driver_sql("SELECT 1")
        assert flat._shared_file(connection) is None
    with service.reading_session() as session:
        assert flat._shared_file(session.connection()) == str(on_file.path)
    memory = app.db.make_engine("sqlite://")
    with memory.connect() as connection:
        assert flat._shared_file(connection) is None
    memory.dispose()


def test_the_tests_own_connection_is_never_shared(db: Session) -> None:
    assert flat._shared_file(db.connection()) is None
