"""The fast lane for people in CSV and vCard exports: one SQL query per batch of 5,000 people
returns each person's cells as the file needs them, and the driver's rows go to ``csv.writer``
as they are.

The query addresses a person exactly as ``rows._row`` does, which tests pin against the general
path for both formats:
- the current position: an office holder's first, then the latest started, then the oldest row;
- its organisation, country and language (the person's, else the organisation's, else "en");
- the best postal address, email and phone: the person's preferred one of each kind, else their
  oldest, else the organisation's chosen the same way;
- do-not-contact flags of the person or the organisation.
CSV cells that a spreadsheet would run as a formula are prefixed with an apostrophe in SQL, as
``formats.neutralise`` does. Each row also carries its flags, as one code for ``gate.Gate``, the
person's id and the organisation's id; the gate decides who stays out.

It serves the CSV columns that need no salutation, formatted address or "last updated", and
exports that do not merge contacts at the same address. Everything else goes the general way
(``rows.iter_rows``), and so do organisations, which are few.

Why a second path: 100,000 people through ``ExportRow`` objects, ORM rows and per-column
getters cost about ten times what the database and ``csv.writer`` cost on their own."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, cast

from sqlalchemy.orm import Session

from app.exports import formats
from app.exports.gate import NO_EMAIL_BIT, NO_POST_BIT, POSTAL_BIT, Gate
from app.exports.rows import ExportRow

BATCH = 5000


def _name() -> str:
    given, family = "p.given_name", "p.family_name"
    name = (
        f"CASE WHEN {given} <> '' AND {family} <> '' THEN {given} || ' ' || {family} "
        f"WHEN {given} <> '' THEN {given} WHEN {family} <> '' THEN {family} "
        "ELSE p.native_name END"
    )
    # names are stored stripped, so only the joining space can be at either end
    return f"TRIM(p.honorific || ' ' || {name})"


def _flag(column: str) -> str:
    return f"(p.{column} OR o.{column})"  # NULL (not set) when there is no organisation


def _point(kind: str, column: str) -> str:
    return f"COALESCE({kind}.{column}, '')"


# Each column as an SQL expression over the query below; text columns marked True go through
# the formula guard in CSV.
EXPRESSIONS: dict[str, tuple[str, bool]] = {
    "kind": ("'person'", False),
    "id": ("CAST(p.id AS TEXT)", False),
    "honorific": ("p.honorific", True),
    "given_name": ("p.given_name", True),
    "family_name": ("p.family_name", True),
    "display_name": (_name(), True),
    "native_name": ("p.native_name", True),
    "title": ("COALESCE(pos.title, '')", True),
    "organisation": ("COALESCE(o.name, '')", True),
    "organisation_native": ("COALESCE(o.native_name, '')", True),
    "country": ("COALESCE(c.name, '')", True),
    "country_iso3": ("COALESCE(c.iso3, '')", True),
    "language": (
        "COALESCE(NULLIF(p.preferred_language, ''), NULLIF(o.preferred_language, ''), 'en')",
        True,
    ),
    "email": (_point("em", "value"), True),
    "phone": (_point("ph", "value"), True),
    "street_address": (_point("ad", "street_address"), True),
    "city": (_point("ad", "city"), True),
    "postal_code": (_point("ad", "postal_code"), True),
    "country_area": (_point("ad", "country_area"), True),
    "country_code": (_point("ad", "country_code"), True),
    "in_office_since": ("{since}", False),
    "no_email": (f"CASE WHEN {_flag('no_email')} THEN 'yes' ELSE '' END", False),
    "no_post": (f"CASE WHEN {_flag('no_post')} THEN 'yes' ELSE '' END", False),
    "merged": ("'1'", False),
}
COLUMNS = frozenset(EXPRESSIONS)
_SINCE = {  # the start date as ISO text
    "sqlite": "COALESCE(pos.start_date, '')",
    "postgresql": "COALESCE(to_char(pos.start_date, 'YYYY-MM-DD'), '')",
}
_CODE = (
    f"(CASE WHEN {_flag('no_post')} THEN {NO_POST_BIT} ELSE 0 END"
    f" + CASE WHEN {_flag('no_email')} THEN {NO_EMAIL_BIT} ELSE 0 END"
    f" + CASE WHEN ad.id IS NULL THEN 0 ELSE {POSTAL_BIT} END)"
)


def _literal(text: str) -> str:
    # string literals may hold tab, CR and LF as they are, in both databases
    return "'" + text.replace("'", "''") + "'"


# Does a text start like a formula (formats.FORMULA_TRIGGERS)? SQLite answers a GLOB fastest.
_STARTS_LIKE_FORMULA = {
    # "-" first in the brackets, where it stands for itself rather than a range
    "sqlite": "{} GLOB "
    + _literal("[-" + "".join(t for t in formats.FORMULA_TRIGGERS if t != "-") + "]*"),
    "postgresql": "substr({}, 1, 1) IN ("
    + ", ".join(_literal(t) for t in formats.FORMULA_TRIGGERS)
    + ")",
}


def _guarded(expression: str, dialect: str) -> str:
    """The cell with an apostrophe in front when a spreadsheet would run it as a formula, as
    ``formats.neutralise`` does."""
    test = _STARTS_LIKE_FORMULA.get(dialect, _STARTS_LIKE_FORMULA["postgresql"])
    return f"CASE WHEN {test.format(expression)} THEN '''' || {expression} ELSE {expression} END"


def _best(owner: str, kind: str) -> str:
    """The id of an owner's best point of a kind: the preferred one, else the oldest (as
    ``rows._points``), each looked up in the index (owner, kind, preferred, id) alone."""
    column, ref = ("person_id", "p.id") if owner == "person" else ("organisation_id", "o.id")
    first = (
        f"(SELECT q.id FROM contact_points q WHERE q.{column} = {ref} AND q.kind = '{kind}' "
        "AND q.preferred = {flag} ORDER BY q.id LIMIT 1)"
    )
    return f"{first.format(flag='TRUE')}, {first.format(flag='FALSE')}"


def _one(table: str, alias: str, where: str, *, lateral: bool) -> str:
    """A left join to at most one row of ``table`` picked by ``where`` (a WHERE clause on q);
    PostgreSQL plans it as a lateral subquery, SQLite as a join on the picked id."""
    if lateral:
        return f"LEFT JOIN LATERAL (SELECT q.* FROM {table} q WHERE {where}) {alias} ON TRUE"
    return f"LEFT JOIN {table} {alias} ON {alias}.id = (SELECT q.id FROM {table} q WHERE {where})"


def _from(*, lateral: bool) -> str:
    """The rows of the people whose ids match ``{ids}`` on the day ``{on}``, in id order."""
    position = (
        "q.person_id = p.id"
        " AND (q.start_date IS NULL OR q.start_date <= {on})"
        " AND (q.end_date IS NULL OR q.end_date >= {on})"
        " ORDER BY q.is_office_holder DESC, q.start_date DESC NULLS LAST, q.id LIMIT 1"
    )
    points = []
    for alias, kind in (("ad", "postal"), ("em", "email"), ("ph", "phone")):
        best = f"COALESCE({_best('person', kind)}, {_best('org', kind)})"
        if lateral:
            # LIMIT keeps the planner from turning it into a hash join over every point
            points.append(_one("contact_points", alias, f"q.id = {best} LIMIT 1", lateral=True))
        else:
            points.append(f"LEFT JOIN contact_points {alias} ON {alias}.id = {best}")
    return "\n".join(
        [
            "FROM people p",
            _one("positions", "pos", position, lateral=lateral),
            "LEFT JOIN organisations o ON o.id = pos.organisation_id",
            "LEFT JOIN countries c ON c.id = o.country_id",
            *points,
            "WHERE p.id {ids}",
            "ORDER BY p.id",
        ]
    )


_FROM = {"sqlite": _from(lateral=False), "postgresql": _from(lateral=True)}


def handles(columns: Sequence[str], *, merge_same_address: bool) -> bool:
    return not merge_same_address and all(c in COLUMNS for c in columns)


class _Reader:
    """Batches of rows for a list of people: the fields asked for, then the flags code, the
    person's id and the organisation's id."""

    def __init__(self, session: Session, fields: Sequence[str], *, guard: bool, on: date) -> None:
        connection = session.connection()
        dialect = connection.dialect.name
        self.mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        self.on: Any = on.isoformat() if dialect == "sqlite" else on  # SQLite: ISO text
        since = _SINCE.get(dialect, _SINCE["postgresql"])
        cells = []
        for name in fields:
            expression, text = EXPRESSIONS[name]
            expression = expression.format(since=since)
            cells.append(_guarded(expression, dialect) if guard and text else expression)
        self.width = len(fields)
        self.from_ = _FROM.get(dialect, _FROM["postgresql"]).replace("{on}", self.mark)
        self.sql = f"SELECT {', '.join(cells)}, {_CODE}, p.id, o.id\n" + self.from_
        self.connection = connection.connection
        self.cursor = self.connection.cursor()

    def batches(self, ids: Sequence[int]) -> Iterator[list[Any]]:
        """Each batch's rows; the next batch is read in a thread while this one is written."""
        chunks = [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]
        pool = ThreadPoolExecutor(1, thread_name_prefix="export-reader")
        try:
            pending = pool.submit(self._batch, chunks[0])
            for following in chunks[1:]:
                rows = pending.result()
                pending = pool.submit(self._batch, following)
                yield rows
            yield pending.result()
        finally:
            pool.shutdown(cancel_futures=True)  # waits for a read in progress: it holds the cursor
            self.cursor.close()

    def _batch(self, chunk: Sequence[int]) -> list[Any]:
        lo, hi = min(chunk), max(chunk)
        if hi - lo < 2 * len(chunk):  # a dense run: a range (two parameters)
            where, params = f"BETWEEN {self.mark} AND {self.mark}", [lo, hi]
            exact = hi - lo + 1 == len(chunk)
        else:
            where, params = self._in(len(chunk)), list(chunk)
            exact = True
        exact = exact and all(a < b for a, b in zip(chunk, chunk[1:], strict=False))
        self.cursor.execute(self.sql.format(ids=where), [self.on, self.on, *params])
        rows = cast(list[Any], self.cursor.fetchall())  # a list from both drivers
        if exact:
            return rows
        # the order asked for, and only the people asked for (a range holds others)
        by_id = {r[self.width + 1]: r for r in rows}
        return [by_id[i] for i in chunk if i in by_id]

    def _in(self, count: int) -> str:
        return f"IN ({', '.join([self.mark] * count)})"

    def names(self, ids: list[int]) -> dict[int, tuple[str, str, str]]:
        """Display name, native name and organisation of a few people (who is left out)."""
        fields = ("display_name", "native_name", "organisation")
        sql = f"SELECT p.id, {', '.join(EXPRESSIONS[f][0] for f in fields)}\n" + self.from_.format(
            ids=self._in(len(ids))
        )
        cursor = self.connection.cursor()  # its own: the reader's may be busy in its thread
        try:
            cursor.execute(sql, [self.on, self.on, *ids])
            return {r[0]: tuple(r[1:]) for r in cursor.fetchall()}
        finally:
            cursor.close()


def _kept(
    reader: _Reader, ids: Sequence[int], gate: Gate, *, with_code: bool = False
) -> Iterator[list[Any]]:
    """Each batch's rows that go out, cut to their fields (and the flags code, if asked); the
    gate counts every row and the ones left out. A person meets an office already listed (or
    themselves, if an id comes twice) only through the gate's ``twice``."""
    width = reader.width
    code, pid, org = width, width + 1, width + 2
    cut = width + 1 if with_code else width
    by_code = gate.by_code
    tally = gate.tally
    check_twice = bool(gate.seen) or len(set(ids)) != len(ids)
    for rows in reader.batches(ids):
        gate.count(len(rows))
        out: list[Any] = []
        left: list[tuple[int, str]] = []
        for r in rows:
            reason = by_code[r[code]]
            if reason is None and check_twice:
                reason = gate.twice(r[pid], r[org])
            if reason is None:
                out.append(r[:cut])
            else:
                left.append((r[pid], reason))
        tally.exported += len(out)
        if left:
            wanted = tally.samples_wanted
            names = reader.names([p for p, _ in left[:wanted]]) if wanted > 0 else {}
            for person_id, reason in left:
                display, native, organisation = names.get(person_id, ("", "", ""))
                tally.exclude(
                    ExportRow(
                        kind="person",
                        id=person_id,
                        display_name=display,
                        native_name=native,
                        organisation=organisation,
                    ),
                    reason,
                )
        yield out


def csv_chunks(
    session: Session,
    person_ids: Sequence[int],
    columns: Sequence[str],
    *,
    delimiter: str,
    gate: Gate,
    on: date | None = None,
) -> Iterator[bytes]:
    """People as CSV rows (no header) in chunks of about ``formats.CHUNK``."""
    if not person_ids:
        return
    reader = _Reader(session, columns, guard=True, on=on or date.today())
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    step = 500
    for rows in _kept(reader, person_ids, gate):
        for start in range(0, len(rows), step):
            writer.writerows(rows[start : start + step])
            if buffer.tell() >= formats.CHUNK:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


_CARD_FIELDS = (
    "id",
    "honorific",
    "given_name",
    "family_name",
    "display_name",
    "native_name",
    "organisation",
    "title",
    "email",
    "phone",
    "street_address",
    "city",
    "country_area",
    "postal_code",
    "country_code",
    "language",
)


def vcard_chunks(
    session: Session, person_ids: Sequence[int], *, gate: Gate, on: date | None = None
) -> Iterator[bytes]:
    """People as vCards (``formats.vcard_of``) in chunks of about ``formats.CHUNK``."""
    if not person_ids:
        return iter(())
    reader = _Reader(session, _CARD_FIELDS, guard=False, on=on or date.today())
    code = len(_CARD_FIELDS)  # the flags code follows the fields

    def cards() -> Iterator[str]:
        for rows in _kept(reader, person_ids, gate, with_code=True):
            for r in rows:
                yield formats.vcard_of(
                    kind="person",
                    id=r[0],
                    person=True,
                    honorific=r[1],
                    given_name=r[2],
                    family_name=r[3],
                    display_name=r[4],
                    native_name=r[5],
                    organisation=r[6],
                    title=r[7],
                    email=r[8],
                    phone=r[9],
                    address=(r[10], r[11], r[12], r[13], r[14]) if r[code] & POSTAL_BIT else None,
                    language=r[15],
                )

    return formats.text_chunks(cards())
