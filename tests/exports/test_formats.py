"""Every format read back by the tools people use: csv, openpyxl, vobject, pypdf."""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime

import vobject
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.cell import Cell
from pypdf import PdfReader
from sqlalchemy.orm import Session

from app.contacts import recipients as contacts_recipients
from app.exports import service
from app.exports.formats import FORMULA_TRIGGERS
from app.exports.rows import iter_rows
from app.exports.schemas import ExportRequest
from app.models import User
from tests.exports.conftest import Directory, pdf_text, postal
from tests.factories import api_headers, make_person

ALL_COLUMNS = [
    "display_name",
    "native_name",
    "given_name",
    "family_name",
    "street_address",
    "city",
    "in_office_since",
    "address_block",
]


def _export(client: TestClient, headers: dict[str, str], **body: object) -> bytes:
    resp = client.post("/api/v1/exports", json=body, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-disposition"].startswith("attachment; filename=")
    return resp.content


def test_csv_round_trip_with_both_scripts(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    headers = api_headers(db, coordinator)
    resp = client.post(
        "/api/v1/exports",
        json={"source": "segment", "segment_id": directory.segment.id, "format": "csv"},
        headers=headers,
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/csv; charset=utf-8"
    assert resp.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8"))))
    names = {r["Name"] for r in rows}
    assert "Мария Иванова" in names
    assert "ليلى الحسن" in names
    minister = next(r for r in rows if r["Name"].endswith("Muhriddin"))
    assert minister["Name (native script)"] == "Сироҷиддин Муҳриддин"
    assert minister["Street address"] == "33 Sheroz Street"
    # the ministry is addressed to its minister, who is listed once
    assert sum(1 for r in rows if r["Name"].endswith("Muhriddin")) == 1
    moscow = next(r for r in rows if r["Name"] == "Мария Иванова")
    assert moscow["Street address"] == "ул. Тверская, 13"  # the comma survives the quoting


def test_csv_for_excel_has_a_bom_and_semicolons(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    data = _export(
        client,
        api_headers(db, coordinator),
        source="segment",
        segment_id=directory.segment.id,
        excel=True,
        delimiter=";",
    )
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Name;Name (native script);Title")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert all(len(r) == len(rows[0]) for r in rows)


def test_columns_in_the_chosen_order(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    data = _export(
        client,
        api_headers(db, coordinator),
        source="segment",
        segment_id=directory.segment.id,
        columns=["email", "family_name", "country"],
    )
    assert data.decode().splitlines()[0] == "Email,Family name,Country"


def _is_formula(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def test_no_cell_would_run_as_a_formula(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    headers = api_headers(db, coordinator)
    body = {"source": "segment", "segment_id": directory.segment.id, "columns": ALL_COLUMNS}
    text = _export(client, headers, **body, format="csv").decode()
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert '\'=HYPERLINK("http://evil") +Attack' in cells
    assert "'-2 Evil Road" in cells and "'@Town" in cells
    assert not any(_is_formula(c) for c in cells)
    # the address block holds newlines inside the cell: it starts with a name, never a trigger
    book = load_workbook(io.BytesIO(_export(client, headers, **body, format="xlsx")))
    sheet = book.active
    assert sheet is not None
    values = [c for row in sheet.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in values)
    assert not any(_is_formula(c.value) for c in values)
    assert '\'=HYPERLINK("http://evil")' in [c.value for c in values]


def test_xlsx_has_real_dates_a_frozen_bold_header_and_widths(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    data = _export(
        client,
        api_headers(db, coordinator),
        source="segment",
        segment_id=directory.segment.id,
        format="xlsx",
        columns=["display_name", "in_office_since", "updated_at", "address_block"],
    )
    book = load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet is not None
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == [
        "Name",
        "In office since",
        "Last updated",
        "Address (formatted)",
    ]
    assert sheet["A1"].font.b
    assert sheet.column_dimensions["D"].width == 40
    updated = [r[2].value for r in sheet.iter_rows(min_row=2)]
    assert updated and all(isinstance(v, datetime) for v in updated)
    assert all(isinstance(r[2], Cell) and r[2].is_date for r in sheet.iter_rows(min_row=2))


def test_vcard_parses_with_vobject(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    resp = client.post(
        "/api/v1/exports",
        headers=api_headers(db, coordinator),
        json={"source": "segment", "segment_id": directory.segment.id, "format": "vcard"},
    )
    assert resp.headers["content-type"] == "text/vcard; charset=utf-8"
    cards = list(vobject.readComponents(resp.content.decode()))
    assert len(cards) == 5
    assert all(c.version.value == "4.0" for c in cards)
    names = {c.fn.value for c in cards}
    assert {"Мария Иванова", "ليلى الحسن", "H.E. Mr Sirojiddin Muhriddin"} <= names
    maria = next(c for c in cards if c.fn.value == "Мария Иванова")
    assert maria.email.value == "maria@example.org"
    assert maria.adr.value.street == "ул. Тверская, 13"
    assert maria.n.value.family == "Иванова"
    minister = next(c for c in cards if "Muhriddin" in c.fn.value)
    assert minister.org.value == ["Ministry of Foreign Affairs of Tajikistan"]


def test_labels_pdf_pages_and_names(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    for i in range(20):
        person = make_person(
            db, given_name=f"Label{i:02d}", family_name="Соколова", tags=[directory.tag]
        )
        postal(
            db,
            person=person,
            street=f"{i} Long Street With A Very Long Name Indeed That Goes On",
            city="Almaty",
            code="KZ",
            postcode="050000",
        )
    data = _export(
        client,
        api_headers(db, coordinator),
        source="segment",
        segment_id=directory.segment.id,
        format="labels",
    )
    pages, text = pdf_text(data)
    # 6 from the directory (the minister once, "do not email" kept on paper) + 20: 21 a sheet
    preview = service.preview(
        db, req=ExportRequest(source="segment", segment_id=directory.segment.id, format="labels")
    )
    assert preview.exported == 26
    assert pages == math.ceil(26 / 21) == 2
    flat = text.replace("\n", " ")
    for i in range(20):
        assert f"Label{i:02d}" in flat
    assert "Мария Иванова" in flat and "Muhriddin" in flat
    assert "Nopost" not in flat
    assert "?" not in text


def test_labels_avery_5160_and_custom_grid(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    headers = api_headers(db, coordinator)
    body = {"source": "segment", "segment_id": directory.segment.id, "format": "labels"}
    pages, _ = pdf_text(_export(client, headers, **body, label_preset="5160"))
    assert pages == 1
    grid = {
        "page": "A4",
        "columns": 2,
        "rows": 2,
        "label_width": 99,
        "label_height": 60,
        "margin_top": 10,
        "margin_left": 5,
        "gap_x": 2,
        "gap_y": 2,
    }
    pages, _ = pdf_text(_export(client, headers, **body, label_preset="custom", grid=grid))
    assert pages == math.ceil(6 / 4)
    bad = client.post(
        "/api/v1/exports",
        headers=headers,
        json={**body, "label_preset": "custom", "grid": {**grid, "columns": 4}},
    )
    assert bad.status_code == 422
    assert "page is" in bad.text


def test_envelopes_one_per_address_with_return_address(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    from app.settings_admin import service as profile_service

    profile = profile_service.get_profile(db)
    profile.name = "Cluster Munition Coalition"
    profile.address = "Maison de la Paix\nChemin Eugène-Rigot 2C\n1202 Geneva"
    db.flush()
    for size in ("DL", "C5"):
        data = _export(
            client,
            api_headers(db, coordinator),
            source="segment",
            segment_id=directory.segment.id,
            format="envelopes",
            envelope=size,
        )
        pages, text = pdf_text(data)
        assert pages == 6
        assert text.count("Cluster Munition Coalition") == 6
        assert "Мария Иванова" in text
    reader = PdfReader(io.BytesIO(data))
    width_mm = float(reader.pages[0].mediabox.width) * 25.4 / 72
    assert round(width_mm) == 229


def test_rows_address_like_recipient(db: Session, directory: Directory) -> None:
    rows = list(iter_rows(db, [directory.russian.id], [directory.ministry.id]))
    office = contacts_recipients.recipient(db, organisation_id=directory.ministry.id)
    person = contacts_recipients.recipient(db, person_id=directory.russian.id)
    assert rows[0].address_lines() == list(office.address_lines)
    assert rows[0].display_name == office.display_name
    assert rows[0].salutation() == office.salutation
    assert rows[1].address_lines() == list(person.address_lines)
    assert rows[1].email == person.email
    assert rows[0].in_office_since is None or isinstance(rows[0].in_office_since, date)


def test_vcard_folds_long_lines_without_splitting_characters() -> None:
    from app.exports.formats import vcard
    from app.exports.rows import ExportRow, Postal

    long_name = "Министерство иностранных дел Республики Таджикистан; отдел, разоружения " * 2
    row = ExportRow(
        kind="person",
        id=7,
        given_name="Сироҷиддин",
        family_name="Муҳриддин",
        display_name="Сироҷиддин Муҳриддин",
        organisation=long_name,
        title="Minister\nof Foreign Affairs",
        postal=Postal("33 Sheroz, Street; 2", "Dushanbe", "", "734051", "", "TJ"),
    )
    text = vcard(row)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    card = vobject.readOne(text)
    assert card.org.value == [long_name]
    assert card.title.value == "Minister\nof Foreign Affairs"
    assert card.adr.value.street == "33 Sheroz, Street; 2"
