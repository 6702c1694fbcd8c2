"""The fast lane for people in CSV and vCard exports: each person's fields as a plain tuple,
read with two queries per batch of 5,000 (the people with their current positions, and their
contact points) plus one for the organisations not seen before, and written as they come.

It addresses a person exactly as ``rows._row`` does (the same position, organisation, language
and contact-point choices), which tests pin against the general path for both formats; it
serves the CSV columns that need no salutation, formatted address or "last updated", and
exports that do not merge contacts at the same address. Everything else goes the general way
(``rows.iter_rows``), and so do organisations, which are few.

Why a second path: 100,000 people through ``ExportRow`` objects, ORM rows and per-column
getters cost about ten times what the database and ``csv.writer`` cost on their own."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from app.exports import formats

BATCH = 5000
TRIGGERS = "".join(formats.FORMULA_TRIGGERS)  # one character each: ``v[0] in TRIGGERS``

# The tuple of one person, in this order; an export picks its columns from it.
FIELDS = (
    "kind",
    "id",
    "honorific",
    "given_name",
    "family_name",
    "display_name",
    "native_name",
    "title",
    "organisation",
    "organisation_native",
    "country",
    "country_iso3",
    "language",
    "email",
    "phone",
    "street_address",
    "city",
    "postal_code",
    "country_area",
    "country_code",
    "in_office_since",
    "no_email",
    "no_post",
    "merged",
    # not columns: an office's holder told from the same person listed again; a postal address
    "organisation_id",
    "has_postal",
)
COLUMNS = frozenset(FIELDS[:-2])
_INDEX = {name: i for i, name in enumerate(FIELDS)}
NO_EMAIL = _INDEX["no_email"]
NO_POST = _INDEX["no_post"]
ORGANISATION_ID = _INDEX["organisation_id"]
ID, DISPLAY_NAME, NATIVE_NAME = _INDEX["id"], _INDEX["display_name"], _INDEX["native_name"]
ORGANISATION = _INDEX["organisation"]
_HONORIFIC, _GIVEN, _FAMILY = _INDEX["honorific"], _INDEX["given_name"], _INDEX["family_name"]
_TITLE, _EMAIL, _PHONE, _LANGUAGE = (
    _INDEX["title"],
    _INDEX["email"],
    _INDEX["phone"],
    _INDEX["language"],
)
_STREET, _CITY, _POSTCODE = _INDEX["street_address"], _INDEX["city"], _INDEX["postal_code"]
_AREA, _COUNTRY, HAS_POSTAL = _INDEX["country_area"], _INDEX["country_code"], _INDEX["has_postal"]

# Plain SQL through the driver's own cursor: its rows are tuples of plain values, which the
# cyclic garbage collector soon stops tracking (result rows of the ORM layer stay tracked, and
# collecting them cost as much as the rest of the export).
_PEOPLE = """
SELECT p.id, p.honorific, p.given_name, p.family_name, p.native_name, p.preferred_language,
       p.no_email, p.no_post, pos.organisation_id, pos.title, pos.is_office_holder, pos.start_date
FROM people p
LEFT JOIN positions pos ON pos.person_id = p.id
  AND (pos.start_date IS NULL OR pos.start_date <= {on})
  AND (pos.end_date IS NULL OR pos.end_date >= {on})
WHERE p.id {ids}
"""
_ORGS = """
SELECT o.id, o.name, o.native_name, o.preferred_language, o.no_email, o.no_post, c.name, c.iso3
FROM organisations o LEFT JOIN countries c ON c.id = o.country_id
WHERE o.id {ids}
"""
# in the order of the owner's index (no sort); _Cursor.points picks as rows._points does
_POINTS = """
SELECT {owner}, kind, value, street_address, city, postal_code, country_area, country_code,
       preferred
FROM contact_points WHERE {owner} {ids} ORDER BY {owner}, id
"""


def handles(columns: Sequence[str], *, merge_same_address: bool) -> bool:
    return not merge_same_address and all(c in COLUMNS for c in columns)


_SLOTS = {"postal": 0, "email": 1, "phone": 2}
_NONE = (None, None, None)
_NO_POST = ("", "", "", "", "")


class _Cursor:
    """The connection's DB-API cursor, with its placeholder and an id filter: a dense run of
    ids as a range (two parameters), others as a list."""

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        self.sqlite = connection.dialect.name == "sqlite"
        self.cursor = connection.connection.cursor()

    def ids(self, ids: Sequence[int]) -> tuple[str, list[Any]]:
        lo, hi = min(ids), max(ids)
        if hi - lo < 2 * len(ids):
            return f"BETWEEN {self.mark} AND {self.mark}", [lo, hi]
        return f"IN ({', '.join([self.mark] * len(ids))})", list(ids)

    def fetch(self, sql: str, params: Sequence[Any]) -> Sequence[Any]:
        self.cursor.execute(sql, params)
        return self.cursor.fetchall()

    def points(self, owner: str, ids: Sequence[int]) -> dict[int, list[Any]]:
        """Each owner's best postal, email and phone point: the preferred one of each kind,
        else the oldest (as rows._points)."""
        where, params = self.ids(ids)
        best: dict[int, list[Any]] = {}
        get, slots = best.get, _SLOTS
        for r in self.fetch(_POINTS.format(owner=owner, ids=where), params):
            slot = slots.get(r[1])
            if slot is None:
                continue
            mine = get(r[0])
            if mine is None:
                best[r[0]] = mine = [None, None, None]
            current = mine[slot]
            if current is None or (r[8] and not current[8]):
                mine[slot] = r
        return best


class _Orgs:
    """Organisations and their best contact points, loaded once per export."""

    def __init__(self, cursor: _Cursor) -> None:
        self.cursor = cursor
        self.info: dict[int, Any] = {}
        self.points: dict[int, list[Any]] = {}

    def load(self, ids: set[int]) -> None:
        new = sorted(i for i in ids if i not in self.info)
        if not new:
            return
        where, params = self.cursor.ids(new)
        for r in self.cursor.fetch(_ORGS.format(ids=where), params):
            self.info[r[0]] = r
        self.points.update(self.cursor.points("organisation_id", new))


def _better(pos: tuple[Any, ...], than: tuple[Any, ...]) -> bool:
    # rows._people_batch: an office holder's position first, then the latest started
    if bool(pos[2]) != bool(than[2]):
        return bool(pos[2])
    return (pos[3] or "") > (than[3] or "")


def person_tuples(session: Session, ids: Sequence[int], on: date) -> Iterator[tuple[Any, ...]]:
    """One tuple (``FIELDS``) per person id that exists, in the order of ``ids``."""
    cursor = _Cursor(session)
    try:
        yield from _person_tuples(_batches(cursor, ids, on))
    finally:
        cursor.cursor.close()


class _Batch(NamedTuple):
    ids: Sequence[int]
    people: dict[int, Any]
    held: dict[int, tuple[Any, ...]]  # person id -> (organisation id, title, holder, start)
    points: dict[int, list[Any]]
    orgs: _Orgs


def _batches(cursor: _Cursor, ids: Sequence[int], on: date) -> Iterator[_Batch]:
    """Everything the database says about each batch of people."""
    orgs = _Orgs(cursor)
    on_param: Any = on.isoformat() if cursor.sqlite else on  # SQLite keeps dates as ISO text
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        where, params = cursor.ids(chunk)
        people: dict[int, Any] = {}
        held: dict[int, tuple[Any, ...]] = {}
        for r in cursor.fetch(
            _PEOPLE.format(on=cursor.mark, ids=where), [on_param, on_param, *params]
        ):
            pid = r[0]
            people[pid] = r
            if r[8] is None:
                continue
            start_date = r[11]
            if start_date is not None and start_date.__class__ is not str:
                start_date = start_date.isoformat()
            pos = (r[8], r[9], r[10], start_date)
            mine = held.get(pid)
            if mine is None or _better(pos, mine):
                held[pid] = pos
        orgs.load({p[0] for p in held.values()})
        yield _Batch(chunk, people, held, cursor.points("person_id", chunk), orgs)


def _person_tuples(batches: Iterator[_Batch]) -> Iterator[tuple[Any, ...]]:
    for chunk, people, held, points, orgs in batches:
        org_info = orgs.info
        org_points = orgs.points
        for pid in chunk:
            p = people.get(pid)
            if p is None:
                continue
            _, honorific, given, family, native, language, no_email, no_post = p[:8]
            pos = held.get(pid)
            org = org_info.get(pos[0]) if pos is not None else None
            name = f"{given} {family}" if given and family else (given or family or native)
            postal, email, phone = points.get(pid) or _NONE
            if org is not None:
                theirs = org_points.get(org[0])
                if theirs is not None:
                    postal = postal or theirs[0]
                    email = email or theirs[1]
                    phone = phone or theirs[2]
                language = language or org[3] or "en"
                no_email = no_email or org[4]
                no_post = no_post or org[5]
                org_name, org_native, country, iso3 = org[1], org[2], org[6] or "", org[7] or ""
            else:
                language = language or "en"
                org_name = org_native = country = iso3 = ""
            yield (
                "person",
                str(pid),
                honorific,
                given,
                family,
                f"{honorific} {name}".strip(),
                native,
                pos[1] if pos is not None else "",
                org_name,
                org_native,
                country,
                iso3,
                language,
                email[2] if email is not None else "",
                phone[2] if phone is not None else "",
                *((postal[3], postal[4], postal[5], postal[6], postal[7]) if postal else _NO_POST),
                (pos[3] or "") if pos is not None else "",
                "yes" if no_email else "",
                "yes" if no_post else "",
                "1",
                org[0] if org is not None else None,
                postal is not None,
            )


def csv_chunks(
    session: Session,
    person_ids: Sequence[int],
    columns: Sequence[str],
    *,
    delimiter: str,
    keep: Callable[[tuple[Any, ...]], bool],
    on: date | None = None,
) -> Iterator[bytes]:
    """People as CSV rows (no header) in ~64 kB chunks; ``keep`` sees each full tuple first
    (it counts and leaves out do-not-contact rows). Cells a spreadsheet would read as a
    formula are prefixed with an apostrophe, as ``formats.neutralise`` does."""
    indexes = [_INDEX[c] for c in columns]
    pick: Callable[[tuple[Any, ...]], tuple[Any, ...]]
    if len(indexes) == 1:
        only = indexes[0]
        pick = lambda t: (t[only],)  # noqa: E731
    else:
        pick = itemgetter(*indexes)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    batch: list[list[str]] = []
    for full in person_tuples(session, person_ids, on or date.today()):
        if not keep(full):
            continue
        batch.append([("'" + v) if v and v[0] in TRIGGERS else (v or "") for v in pick(full)])
        if len(batch) == 500:
            writer.writerows(batch)
            batch.clear()
            if buffer.tell() >= formats.CHUNK:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    writer.writerows(batch)
    yield buffer.getvalue().encode()


def vcard_chunks(
    session: Session,
    person_ids: Sequence[int],
    *,
    keep: Callable[[tuple[Any, ...]], bool],
    on: date | None = None,
) -> Iterator[bytes]:
    """People as vCards (``formats.vcard_of``) in ~64 kB chunks; ``keep`` as for CSV."""

    def cards() -> Iterator[str]:
        for t in person_tuples(session, person_ids, on or date.today()):
            if keep(t):
                yield formats.vcard_of(
                    kind="person",
                    id=t[ID],
                    person=True,
                    honorific=t[_HONORIFIC],
                    given_name=t[_GIVEN],
                    family_name=t[_FAMILY],
                    display_name=t[DISPLAY_NAME],
                    native_name=t[NATIVE_NAME],
                    organisation=t[ORGANISATION],
                    title=t[_TITLE],
                    email=t[_EMAIL],
                    phone=t[_PHONE],
                    address=(t[_STREET], t[_CITY], t[_AREA], t[_POSTCODE], t[_COUNTRY])
                    if t[HAS_POSTAL]
                    else None,
                    language=t[_LANGUAGE],
                )

    return formats.text_chunks(cards())
