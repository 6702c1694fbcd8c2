"""A batch of people rendered to the bytes of a CSV or vCard export, here or in a helper process.

``flat`` reads the people of an export in batches, one query each. SQLite runs a query on one
core, and threads of one process do not read in parallel: they take turns at the interpreter
and at SQLite's own locks, and two reading threads were slower than one. So when the database
is a SQLite file that the reading connection sees without a transaction of its own, a helper
process (``serve``, started by ``flat``) renders every other batch from its own connection
while this process renders the rest; both go through ``render``, so the bytes are the same
whoever made them.

Only the standard library is imported here: the helper starts with ``python -I -S`` and
imports nothing of the application but this module and ``app.contacts.names``."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from app.contacts.names import NAME_FORM_LANGUAGES, name_forms_of, organisation_forms_of

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


# The fields of a person's card, in the order ``_card`` takes them.
CARD_FIELDS = (
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
    "name_forms",
    "organisation_forms",
)


def _forms(value: Any) -> Any:
    """Stored name forms, as JSON text (none: "{}", or "" with no organisation)."""
    if not value or value == "{}":
        return None
    return json.loads(value) if isinstance(value, str) else value


def _card(r: Sequence[Any], code: int) -> str:
    return vcard_of(
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
        name_forms=_forms(r[16]),
        organisation_forms=_forms(r[17]),
    )


# --- vCard 4.0 ---------------------------------------------------------------------------------


def _v(value: str) -> str:
    """RFC 6350 text escaping."""
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continuation lines start with a space (RFC 6350 3.2)."""
    data = line.encode()
    if len(data) <= 75:
        return line + "\r\n"
    parts: list[str] = []
    current = ""
    size = 0
    limit = 75
    for ch in line:
        n = len(ch.encode())
        if size + n > limit:
            parts.append(current)
            current, size, limit = "", 0, 74
        current += ch
        size += n
    parts.append(current)
    return "\r\n ".join(parts) + "\r\n"


def vcard_of(
    *,
    kind: str,
    id: int | str,
    person: bool,
    honorific: str,
    given_name: str,
    family_name: str,
    display_name: str,
    native_name: str,
    organisation: str,
    title: str,
    email: str,
    phone: str,
    address: tuple[str, str, str, str, str] | None,  # street, city, region, postcode, country
    language: str,
    updated_at: datetime | None = None,
    name_forms: Any = None,
    organisation_forms: Any = None,
) -> str:
    """A vCard 4.0. Names in other scripts (``name_forms``, ``organisation_forms``) are
    alternatives of FN, N and ORG (RFC 6350 5.4: the same ALTID, each with its LANGUAGE)."""
    forms = name_forms_of(name_forms) if person and name_forms else {}
    org_forms = organisation_forms_of(organisation_forms) if organisation_forms else {}
    alt = ";ALTID=1" if forms else ""
    lines = ["BEGIN:VCARD", "VERSION:4.0"]
    lines.append(f"KIND:{'individual' if person else 'org'}")
    fn = display_name or organisation or native_name or "—"
    lines.append(f"FN{alt}:{_v(fn)}")
    for lang in NAME_FORM_LANGUAGES:
        if lang in forms:
            lines.append(f"FN;ALTID=1;LANGUAGE={lang}:{_v(forms[lang].full())}")
    if native_name and native_name != fn:
        lines.append(f"X-NATIVE-NAME:{_v(native_name)}")
        lines.append(f"NICKNAME:{_v(native_name)}")
    if person:
        lines.append(f"N{alt}:{_v(family_name)};{_v(given_name)};;{_v(honorific)};")
        for lang in NAME_FORM_LANGUAGES:
            if lang in forms:
                f = forms[lang]
                lines.append(
                    f"N;ALTID=1;LANGUAGE={lang}:{_v(f.family)};{_v(f.given)};{_v(f.patronymic)};;"
                )
    if organisation:
        lines.append(f"ORG{';ALTID=1' if org_forms else ''}:{_v(organisation)}")
        for lang in NAME_FORM_LANGUAGES:
            if lang in org_forms:
                lines.append(f"ORG;ALTID=1;LANGUAGE={lang}:{_v(org_forms[lang])}")
    if title:
        lines.append(f"TITLE:{_v(title)}")
    if email:
        lines.append(f"EMAIL;TYPE=work:{_v(email)}")
    if phone:
        lines.append(f"TEL;VALUE=uri;TYPE=work:tel:{phone}")
    if address is not None:
        # structured only: phones and mail clients lay it out themselves (a formatted LABEL
        # would cost the country-rule formatting on every card)
        adr = ";".join(_v(x or "") for x in ("", "", *address))
        lines.append(f"ADR;TYPE=work:{adr}")
    if language:
        lines.append(f"LANG:{_v(language)}")
    lines.append(f"UID:urn:demarche:{kind}:{id}")
    if updated_at is not None:
        lines.append(f"REV:{updated_at.strftime('%Y%m%dT%H%M%SZ')}")
    lines.append("END:VCARD")
    return "".join(_fold(line) for line in lines)


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
