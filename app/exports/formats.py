"""Writers for each format. CSV and vCard stream in chunks; XLSX is written in openpyxl's
write-only mode to a file; labels and envelopes are typeset by WeasyPrint."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from html import escape
from typing import IO, Any

from app.exports.rows import ExportRow
from app.exports.schemas import COLUMNS, LabelGrid
from app.exports.vcards import address_of, vcard_of

CHUNK = 64 * 1024
# Characters that make a spreadsheet read a cell as a formula (or a DDE command).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "vcard": "text/vcard; charset=utf-8",
    "labels": "application/pdf",
    "envelopes": "application/pdf",
}
EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "vcard": "vcf", "labels": "pdf", "envelopes": "pdf"}


def neutralise(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs (OWASP: prefix with an apostrophe)."""
    if value and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _flag(value: bool) -> str:
    return "yes" if value else ""


# column key -> the value of that column for a row (str, date, datetime or int)
GETTERS: dict[str, Callable[[ExportRow], Any]] = {
    "kind": lambda r: r.kind,
    "id": lambda r: r.id,
    "honorific": lambda r: r.honorific,
    "given_name": lambda r: r.given_name,
    "family_name": lambda r: r.family_name,
    "display_name": lambda r: r.display_name,
    "native_name": lambda r: r.native_name,
    "title": lambda r: r.title,
    "organisation": lambda r: r.organisation,
    "organisation_native": lambda r: r.organisation_native,
    "country": lambda r: r.country,
    "country_iso3": lambda r: r.country_iso3,
    "language": lambda r: r.language,
    "salutation": lambda r: r.salutation(),
    "email": lambda r: r.email,
    "phone": lambda r: r.phone,
    "street_address": lambda r: r.postal.street_address if r.postal else "",
    "city": lambda r: r.postal.city if r.postal else "",
    "postal_code": lambda r: r.postal.postal_code if r.postal else "",
    "country_area": lambda r: r.postal.country_area if r.postal else "",
    "country_code": lambda r: r.postal.country_code if r.postal else "",
    "address_block": lambda r: "\n".join(r.address_lines()),
    "in_office_since": lambda r: r.in_office_since,
    "updated_at": lambda r: r.updated_at,
    "no_email": lambda r: _flag(r.no_email),
    "no_post": lambda r: _flag(r.no_post),
    "merged": lambda r: len(r.merged) or 1,
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


# --- CSV ---------------------------------------------------------------------------------------


def csv_header(columns: list[str], *, excel: bool = False, delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerow(
        [COLUMNS[c] for c in columns]
    )
    return (("\ufeff" if excel else "") + buffer.getvalue()).encode()


def csv_chunks(
    rows: Iterable[ExportRow],
    columns: list[str],
    *,
    excel: bool = False,
    delimiter: str = ",",
    header: bool = True,
) -> Iterator[bytes]:
    """RFC 4180 CSV (CRLF, quotes doubled) in ~64 kB chunks; Excel gets a byte-order mark.
    The header goes out at once (``header=False`` when the caller sent it already)."""
    if header:
        yield csv_header(columns, excel=excel, delimiter=delimiter)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    getters = [GETTERS[c] for c in columns]
    for row in rows:
        cells = []
        for g in getters:
            v = g(row)
            # the common case inline: plain text that no spreadsheet would run
            if v.__class__ is str and not v.startswith(FORMULA_TRIGGERS):
                cells.append(v)
            else:
                cells.append(_text(v))
        writer.writerow(cells)
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


# --- XLSX --------------------------------------------------------------------------------------

WIDTHS = {
    "kind": 12,
    "id": 8,
    "honorific": 10,
    "address_block": 40,
    "street_address": 32,
    "email": 30,
    "phone": 18,
    "postal_code": 12,
    "country_code": 8,
    "country_iso3": 8,
    "language": 10,
    "in_office_since": 14,
    "updated_at": 18,
    "no_email": 10,
    "no_post": 10,
    "merged": 10,
}


def write_xlsx(
    rows: Iterable[ExportRow],
    columns: list[str],
    target: IO[bytes] | str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """A workbook in write-only mode (rows go straight to disk): a bold frozen header, widths,
    real dates. Returns the number of rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Contacts")
    ws.freeze_panes = "A2"
    for i, c in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = WIDTHS.get(c, 24)
    bold = Font(bold=True)
    header = []
    for c in columns:
        cell = WriteOnlyCell(ws, value=COLUMNS[c])
        cell.font = bold
        header.append(cell)
    ws.append(header)
    getters = [GETTERS[c] for c in columns]
    wrap = Alignment(wrap_text=True, vertical="top")
    block = columns.index("address_block") if "address_block" in columns else -1
    count = 0
    for row in rows:
        values: list[Any] = []
        for i, g in enumerate(getters):
            value = g(row)
            if isinstance(value, datetime):
                cell = WriteOnlyCell(ws, value=value.replace(tzinfo=None))
                cell.number_format = "yyyy-mm-dd hh:mm"
                values.append(cell)
            elif isinstance(value, date):
                # typeshed's stub leaves date out of WriteOnlyCell's values; openpyxl writes it
                cell = WriteOnlyCell(ws, value=value)  # type: ignore[arg-type]
                cell.number_format = "yyyy-mm-dd"
                values.append(cell)
            elif isinstance(value, str):
                cell = WriteOnlyCell(ws, value=neutralise(value))
                cell.data_type = "s"  # never a formula, whatever openpyxl guesses
                if i == block:
                    cell.alignment = wrap
                values.append(cell)
            else:
                values.append(value)
        ws.append(values)
        count += 1
        if progress is not None and count % 500 == 0:
            progress(count)
    wb.save(target)
    return count


# --- vCard 4.0 ---------------------------------------------------------------------------------


def vcard(row: ExportRow) -> str:
    p = row.postal
    return vcard_of(
        kind=row.kind,
        id=row.id,
        person=bool(row.given_name or row.family_name or (row.kind == "person")),
        honorific=row.honorific,
        given_name=row.given_name,
        family_name=row.family_name,
        display_name=row.display_name,
        native_name=row.native_name,
        organisation=row.organisation,
        title=row.title,
        email=row.email,
        phone=row.phone,
        address=address_of(p.street_address, p.city, p.country_area, p.postal_code, p.country_code)
        if p is not None
        else None,
        language=row.language,
        updated_at=row.updated_at,
        name_forms=row.name_forms,
        organisation_forms=row.organisation_forms,
    )


def vcard_chunks(rows: Iterable[ExportRow]) -> Iterator[bytes]:
    return text_chunks(vcard(row) for row in rows)


def text_chunks(parts: Iterable[str]) -> Iterator[bytes]:
    """Strings joined into ~64 kB chunks of UTF-8."""
    buffer: list[str] = []
    size = 0
    for part in parts:
        buffer.append(part)
        size += len(part)
        if size >= CHUNK:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()


# --- labels and envelopes ----------------------------------------------------------------------

FONTS = '"Noto Sans", "Noto Sans Arabic", "Noto Naskh Arabic", "DejaVu Sans", sans-serif'
PT_PER_MM = 72 / 25.4


def _fit(lines: list[str], width_mm: float, height_mm: float, base_pt: float) -> float:
    """A font size at which the lines fit the box: shrink for many or long lines, down to a
    readable minimum (below it, long lines wrap)."""
    if not lines:
        return base_pt
    line_height = 1.2
    by_height = (height_mm * PT_PER_MM) / (len(lines) * line_height)
    longest = max(len(line) for line in lines)
    # average glyph width of Noto Sans is about 0.55 em
    by_width = (width_mm * PT_PER_MM) / (max(longest, 1) * 0.55)
    return round(max(6.0, min(base_pt, by_height, by_width)), 2)


def _lines_html(lines: list[str]) -> str:
    return "".join(f'<div class="line" dir="auto">{escape(line)}</div>' for line in lines)


def labels_html(addresses: list[list[str]], grid: LabelGrid) -> str:
    page_w, page_h = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}[grid.page]
    pad = 2.5
    inner_w, inner_h = grid.label_width - 2 * pad, grid.label_height - 2 * pad
    pages = []
    per = grid.per_page
    for start in range(0, max(len(addresses), 1), per):
        cells = []
        for i, lines in enumerate(addresses[start : start + per]):
            col, row = i % grid.columns, i // grid.columns
            left = grid.margin_left + col * (grid.label_width + grid.gap_x)
            top = grid.margin_top + row * (grid.label_height + grid.gap_y)
            size = _fit(lines, inner_w, inner_h, 10.0)
            cells.append(
                f'<div class="label" style="left:{left:.2f}mm;top:{top:.2f}mm;'
                f'font-size:{size}pt">{_lines_html(lines)}</div>'
            )
        pages.append(f'<section class="sheet">{"".join(cells)}</section>')
    css = f"""
@page {{ size: {page_w}mm {page_h}mm; margin: 0; }}
html {{ font-family: {FONTS}; color: #000; }}
body {{ margin: 0; }}
.sheet {{ position: relative; width: {page_w}mm; height: {page_h}mm; page-break-after: always;
  overflow: hidden; }}
.sheet:last-child {{ page-break-after: auto; }}
.label {{ position: absolute; box-sizing: border-box; width: {grid.label_width}mm;
  height: {grid.label_height}mm; padding: {pad}mm; overflow: hidden; line-height: 1.2;
  display: flex; flex-direction: column; justify-content: center; }}
.line {{ overflow-wrap: anywhere; }}
"""
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><style>{css}</style></head>'
        f"<body>{''.join(pages)}</body></html>"
    )


ENVELOPE_SIZES = {"DL": (220.0, 110.0), "C5": (229.0, 162.0)}


def envelopes_html(addresses: list[list[str]], size: str, return_lines: list[str]) -> str:
    width, height = ENVELOPE_SIZES[size]
    # the recipient block sits right of centre, below the middle (as window envelopes do)
    box_left, box_top = width * 0.45, height * 0.45
    box_w, box_h = width - box_left - 15, height - box_top - 12
    pages = []
    for lines in addresses:
        size_pt = _fit(lines, box_w, box_h, 11.0)
        pages.append(
            '<section class="envelope">'
            f'<div class="from">{_lines_html(return_lines)}</div>'
            f'<div class="to" style="font-size:{size_pt}pt">{_lines_html(lines)}</div>'
            "</section>"
        )
    css = f"""
@page {{ size: {width}mm {height}mm; margin: 0; }}
html {{ font-family: {FONTS}; color: #000; }}
body {{ margin: 0; }}
.envelope {{ position: relative; width: {width}mm; height: {height}mm; overflow: hidden;
  page-break-after: always; }}
.envelope:last-child {{ page-break-after: auto; }}
.from {{ position: absolute; left: 10mm; top: 8mm; width: {width * 0.4:.1f}mm; font-size: 7.5pt;
  line-height: 1.25; color: #222; overflow-wrap: anywhere; }}
.to {{ position: absolute; left: {box_left:.1f}mm; top: {box_top:.1f}mm; width: {box_w:.1f}mm;
  height: {box_h:.1f}mm; line-height: 1.25; overflow: hidden; }}
.line {{ overflow-wrap: anywhere; }}
"""
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><style>{css}</style></head>'
        f"<body>{''.join(pages)}</body></html>"
    )


def render_pdf(html: str) -> bytes:
    """Typeset with the letters' locked-down fetcher and shared font configuration."""
    from weasyprint import HTML

    from app.letters.render import fetcher, font_config

    url_fetcher = fetcher()
    document = HTML(string=html, base_url=url_fetcher.base_url, url_fetcher=url_fetcher).render(
        font_config=font_config(), presentational_hints=False
    )
    pdf: bytes = document.write_pdf()
    return pdf


def pages_for(count: int, grid: LabelGrid) -> int:
    return max(1, math.ceil(count / grid.per_page))
