"""A batch of people rendered to the bytes of a CSV or vCard export, here or in a helper process.

``flat`` reads the people of an export in batches, one query each. SQLite runs a query on one
core, and threads of one process do not read in parallel: they take turns at the interpreter
and at SQLite's own locks, and two reading threads were slower than one. So when the database
is a SQLite file that the reading connection sees without a transaction of its own, a helper
process (``serve``, started by ``flat``) renders every other batch from its own connection
while this process renders the rest; both go through ``render``, so the bytes are the same
whoever made them.

The helper starts with ``python -I -S`` (no ``site``: the parent's import path is handed to it)
and imports nothing of the application but this module and the vCard writer (``vcards``, with
vobject and ``app.contacts.names``)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote

from app.exports.vcards import address_of, vcard_of

# A row's flags as one small number, computed in SQL (``flat._CODE``); see ``gate.Gate.by_code``.
NO_POST_BIT, NO_EMAIL_BIT, POSTAL_BIT = 1, 2, 4

# The head of a rendered batch sent by the helper: the size of the data, the rows read, the size
# of the list of who was left out (JSON); the data and the list follow.
FRAME = struct.Struct("<QQQ")


@dataclass(frozen=True)
class Plan:
    """One batch's query. Its rows come in id order; ``order`` lists the ids asked for, in the
    order asked, when the rows are not exactly those (a range of ids holds others, or the ids
    were not in order)."""

    sql: str
    params: list[Any]
    order: list[int] | None = None


@dataclass(frozen=True)
class Spec:
    """How to render a batch. Each row holds ``width`` fields (in the order the format takes
    them), then its flags code, the person's id and the organisation's id; ``reasons`` says why
    a row with each flags code stays out of the export, or None."""

    format: str  # "csv" or "vcard"
    width: int
    reasons: list[str | None]
    delimiter: str = ","


@dataclass
class Rendered:
    data: bytes
    count: int  # rows read
    left: list[tuple[int, str]] = field(default_factory=list)  # (person id, why) of the left out


def render(
    cursor: Any,
    plan: Plan,
    spec: Spec,
    twice: Callable[[int, int | None], str | None] | None = None,
) -> Rendered:
    """A batch read with ``cursor`` and rendered; ``twice`` (``gate.Gate.twice``), if given,
    also leaves out whoever it says was listed already."""
    cursor.execute(plan.sql, plan.params)
    rows: list[Any] = cursor.fetchall()
    code, pid, org = spec.width, spec.width + 1, spec.width + 2
    if plan.order is not None:
        by_id = {r[pid]: r for r in rows}
        rows = [by_id[i] for i in plan.order if i in by_id]
    reasons = spec.reasons
    kept: list[Any] = []
    left: list[tuple[int, str]] = []
    for r in rows:
        reason = reasons[r[code]]
        if reason is None and twice is not None:
            reason = twice(r[pid], r[org])
        if reason is None:
            kept.append(r)
        else:
            left.append((r[pid], reason))
    if spec.format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=spec.delimiter, lineterminator="\r\n")
        writer.writerows([r[: spec.width] for r in kept])
        text = buffer.getvalue()
    else:
        text = "".join(_card(r, code) for r in kept)
    return Rendered(text.encode(), len(rows), left)


class CardRow(NamedTuple):
    """The fields of a person's card as ``flat`` selects them (``CARD_FIELDS``, in this order)."""

    id: int
    honorific: str
    given_name: str
    family_name: str
    display_name: str
    native_name: str
    organisation: str
    title: str
    email: str
    phone: str
    street_address: str
    city: str
    country_area: str
    postal_code: str
    country_code: str
    language: str
    name_forms: Any
    organisation_forms: Any


CARD_FIELDS = CardRow._fields


def _forms(value: Any) -> Any:
    """Stored name forms, as JSON text (none: "{}", or "" with no organisation)."""
    if not value or value == "{}":
        return None
    return json.loads(value) if isinstance(value, str) else value


def _card(r: Sequence[Any], code: int) -> str:
    c = CardRow._make(r[:code])
    return vcard_of(
        kind="person",
        id=c.id,
        person=True,
        honorific=c.honorific,
        given_name=c.given_name,
        family_name=c.family_name,
        display_name=c.display_name,
        native_name=c.native_name,
        organisation=c.organisation,
        title=c.title,
        email=c.email,
        phone=c.phone,
        address=address_of(c.street_address, c.city, c.country_area, c.postal_code, c.country_code)
        if r[code] & POSTAL_BIT
        else None,
        language=c.language,
        name_forms=_forms(c.name_forms),
        organisation_forms=_forms(c.organisation_forms),
    )


# --- the helper process ------------------------------------------------------------------------


def serve() -> None:
    """The helper: reads one request from stdin (the SQLite file, the spec and the plans of
    its batches, as JSON), renders each batch in turn and writes it to stdout as a frame
    (``FRAME``, the data, the left-out list as JSON). It only reads: the connection is
    query-only and does not create a missing file. Errors go to stderr with a non-zero exit."""
    request = json.load(sys.stdin)
    spec = Spec(**request["spec"])
    connection = sqlite3.connect(
        f"file:{quote(request['database'])}?mode=rw",
        uri=True,
        isolation_level=None,
        timeout=15,
    )
    connection.execute("PRAGMA query_only = ON")
    cursor = connection.cursor()
    out = sys.stdout.buffer
    for plan in request["plans"]:
        done = render(cursor, Plan(**plan), spec)
        left = json.dumps(done.left).encode()
        out.write(FRAME.pack(len(done.data), done.count, len(left)))
        out.write(done.data)
        out.write(left)
        out.flush()
