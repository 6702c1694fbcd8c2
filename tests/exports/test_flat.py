"""The fast lane for people in CSV and vCard exports (``app.exports.flat``) writes exactly what the
general path writes: the same position, organisation, language and contact point for each
person, the same cells neutralised, the same people left out and counted."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Generator

import pytest
import vobject
from sqlalchemy.orm import Session

from app.exports import flat, formats, service
from app.exports.schemas import COLUMNS, ExportRequest
from tests.exports.conftest import Directory

FLAT_COLUMNS = [c for c in COLUMNS if c in flat.COLUMNS]


def _both(session: Session, req: ExportRequest, selection: service.Selection) -> tuple[str, str]:
    columns = req.columns if req.format == "csv" else []
    assert flat.handles(columns, merge_same_address=req.merge_same_address)
    fast_tally, slow_tally = service.Tally(), service.Tally()
    fast = b"".join(service.text_rows(session, req, selection, fast_tally)).decode()
    rows = service.export_rows(session, req, selection, slow_tally)
    slow = b"".join(
        formats.csv_chunks(rows, req.columns) if req.format == "csv" else formats.vcard_chunks(rows)
    ).decode()
    assert (fast_tally.exported, fast_tally.processed, fast_tally.excluded) == (
        slow_tally.exported,
        slow_tally.processed,
        slow_tally.excluded,
    )
    assert [(e.id, e.name, e.reason) for e in fast_tally.sample] == [
        (e.id, e.name, e.reason) for e in slow_tally.sample
    ]
    return fast, slow


@pytest.mark.parametrize("include_do_not_contact", [False, True])
def test_fast_lane_writes_what_the_general_path_writes(
    db: Session, directory: Directory, tricky: list[int], include_do_not_contact: bool
) -> None:
    req = ExportRequest(
        source="segment",
        segment_id=directory.segment.id,
        format="csv",
        columns=FLAT_COLUMNS,
        include_do_not_contact=include_do_not_contact,
    )
    selection = service.select_contacts(db, req)
    assert set(tricky) <= set(selection.person_ids)
    fast, slow = _both(db, req, selection)
    assert fast == slow
    rows = {r["Id"]: r for r in csv.DictReader(io.StringIO(fast)) if r["Kind"] == "person"}
    if not include_do_not_contact:  # the embassy says "do not email"
        assert str(tricky[1]) not in rows
        return
    holder, latest, former, choosy = (rows.get(str(i)) for i in tricky)
    # the office holder's position wins over a later one; then the latest started
    assert holder is not None and holder["Title"] == "Ambassador-at-large"
    assert latest is not None and latest["Title"] == "First Secretary"
    assert latest["City"] == "Berlin"  # the embassy's address
    assert latest["Phone"].startswith("'+49")  # a formula trigger, neutralised
    assert latest["Email"] == "'-embassy@example.org"
    assert former is not None and former["Title"] == "" and former["Organisation"] == ""
    assert choosy is not None
    assert (choosy["Email"], choosy["Phone"]) == ("preferred@example.org", "")
    assert latest["Do not email"] == "yes"  # the embassy's flag


@pytest.mark.parametrize("pick", ["sparse", "gap"])
def test_fast_lane_reads_any_run_of_ids(
    db: Session, directory: Directory, tricky: list[int], pick: str
) -> None:
    """Ids far apart go as a list, a dense run as a range whose other people are dropped;
    the order asked for is kept."""
    people = sorted(
        [directory.minister.id, directory.russian.id, directory.arabic.id, directory.formula.id]
        + tricky
    )
    ids = [people[-1], people[0]] if pick == "sparse" else people[::2]
    req = ExportRequest(source="search", format="csv", columns=["id", "display_name", "email"])
    selection = service.Selection("picked", ids, [])
    fast, slow = _both(db, req, selection)
    assert fast == slow
    assert [int(r[0]) for r in list(csv.reader(io.StringIO(fast)))[1:]] == ids


def test_columns_the_fast_lane_does_not_serve_go_the_general_way(
    db: Session, directory: Directory
) -> None:
    assert not flat.handles(["display_name", "salutation"], merge_same_address=False)
    assert not flat.handles(["display_name"], merge_same_address=True)
    req = ExportRequest(
        source="segment",
        segment_id=directory.segment.id,
        format="csv",
        columns=["display_name", "salutation", "address_block"],
    )
    text = b"".join(
        service.text_rows(db, req, service.select_contacts(db, req), service.Tally())
    ).decode()
    assert "Dear Minister" in text or "Excellency" in text


@pytest.mark.parametrize("include_do_not_contact", [False, True])
def test_fast_lane_cards_are_the_general_paths_cards(
    db: Session, directory: Directory, tricky: list[int], include_do_not_contact: bool
) -> None:
    req = ExportRequest(
        source="segment",
        segment_id=directory.segment.id,
        format="vcard",
        include_do_not_contact=include_do_not_contact,
    )
    fast, slow = _both(db, req, service.select_contacts(db, req))
    assert fast == slow
    cards = list(vobject.readComponents(fast))
    assert len(cards) == fast.count("BEGIN:VCARD") > len(tricky)
    by_uid = {c.uid.value: c for c in cards}
    choosy = by_uid[f"urn:demarche:person:{tricky[3]}"]
    assert choosy.email.value == "preferred@example.org"
    if include_do_not_contact:
        latest = by_uid[f"urn:demarche:person:{tricky[1]}"]
        assert latest.adr.value.city == "Berlin" and latest.title.value == "First Secretary"


@pytest.mark.parametrize(
    "value",
    [*formats.FORMULA_TRIGGERS, *(t + "cmd|' /C calc'!A0" for t in formats.FORMULA_TRIGGERS)]
    + ["", "a", "0-1", "'quoted", ",", "5", "Ставка", "مرحبا", "[x]", "*", "?", "%"],
)
def test_the_database_guards_cells_as_neutralise_does(db: Session, value: str) -> None:
    connection = db.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    guarded = flat._guarded(f"CAST({mark} AS TEXT)", connection.dialect.name)
    cursor = connection.connection.cursor()
    cursor.execute(f"SELECT {guarded}", [value, value, value])
    row = cursor.fetchone()
    assert row is not None and row[0] == formats.neutralise(value)


def test_a_stream_closed_early_leaves_no_reader_behind(
    db: Session, directory: Directory, tricky: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next batch is read in a thread; a download dropped after its first chunk waits for
    that read, closes the cursor and stops the thread, and the connection serves the next
    query."""
    monkeypatch.setattr(flat, "BATCH", 2)
    monkeypatch.setattr(formats, "CHUNK", 1)
    req = ExportRequest(source="segment", segment_id=directory.segment.id, format="csv")
    selection = service.select_contacts(db, req)
    assert len(selection.person_ids) > 4
    whole = b"".join(service.text_rows(db, req, selection, service.Tally()))
    gate = service.Gate(req, service.Tally(), None)
    chunks = flat.csv_chunks(db, selection.person_ids, req.columns, delimiter=",", gate=gate)
    assert isinstance(chunks, Generator)  # closed early below, as a dropped download is
    first = next(chunks)
    assert first.count(b"\r\n") >= 1
    chunks.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("export-reader")]
    assert b"".join(service.text_rows(db, req, selection, service.Tally())) == whole
