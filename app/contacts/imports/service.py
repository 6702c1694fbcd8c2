"""CSV import of people and organisations: validation, duplicates, and an all-or-nothing write.

``run()`` builds a plan first: every row is checked (names, email, phone for its country,
country, language, yes/no flags), then matched against earlier rows of the file and against the
directory (same email, or same name and organisation). The plan is the dry-run report; when it
is written, it is written in the caller's transaction with bulk inserts, so a failure anywhere
leaves nothing behind. Rows that match an existing record are merged into it (blanks filled,
missing contact points, tags and positions added) or skipped, so importing the same file twice
changes nothing the second time."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal, cast

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import BaseModel, Field
from sqlalchemy import Table as SATable
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.contacts import aliases, searchindex
from app.contacts.imports import csvfile
from app.contacts.schemas import LANGUAGE_PATTERN, normalise_email, normalise_phone
from app.contacts.text import fold, search_text
from app.countries import names as country_names
from app.errors import Conflict, InvalidInput
from app.models import (
    ContactKind,
    ContactPoint,
    Country,
    Organisation,
    OrganisationType,
    Person,
    Position,
    Tag,
    User,
)
from app.models.base import utcnow
from app.models.contacts import organisation_tags, person_tags

Action = Literal["merge", "skip", "create"]
Progress = Callable[[str, int, int], None]
LIMITS = {"honorific": 40, "given_name": 120, "family_name": 120, "native_name": 200}
LIMITS.update({"organisation": 200, "title": 200, "city": 120, "postal_code": 40})
LIMITS.update({"address": 500, "country_area": 120, "notes": 10_000})
TRUE = {"1", "y", "yes", "true", "x", "oui", "si", "sí", "ja", "да"}
FALSE = {"", "0", "n", "no", "false", "non", "nein", "нет"}
_LANGUAGE = re.compile(LANGUAGE_PATTERN)
_EMAIL = re.compile(
    r"^(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})$"
)
_SPECIAL_TLDS = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_SPECIAL_SINGLE_LABELS = all("." not in d for d in SPECIAL_USE_DOMAIN_NAMES)
_EMAIL_SEPARATORS = re.compile(r"[;,\s]+")
_PHONE_SEPARATORS = re.compile(r"[\s\-.()/]")
# Columns whose letters a legacy code page may have turned into "?" (warned about).
GARBLE_WATCHED = frozenset(
    {"honorific", "given_name", "family_name", "full_name", "native_name", "organisation"}
    | {"title", "address_line1", "address_line2", "city", "host_city", "notes"}
)
CHUNK = 900
PEOPLE = cast(SATable, Person.__table__)
ORGANISATIONS = cast(SATable, Organisation.__table__)
TAGS = cast(SATable, Tag.__table__)
CONTACT_POINTS = cast(SATable, ContactPoint.__table__)
POSITIONS = cast(SATable, Position.__table__)


# --- options, report ---------------------------------------------------------------------------


class DuplicateChoices(BaseModel):
    """What to do with rows that match another row or an existing record."""

    default: Action = "merge"
    rows: dict[int, Action] = Field(default_factory=dict, description="row number -> action")


class ImportOptions(BaseModel):
    encoding: str = Field(default="auto", max_length=20)
    delimiter: str = Field(default="auto", max_length=4)
    mapping: dict[str, str] | list[str] | None = Field(
        default=None,
        description='{"column header or number": "field"}, or a field per column ("" = ignore);'
        " omitted: guessed",
    )
    duplicates: DuplicateChoices = Field(default_factory=DuplicateChoices)
    default_language: str = Field(default="en", pattern=LANGUAGE_PATTERN, max_length=20)
    new_organisation_type: OrganisationType = OrganisationType.ngo
    tags: list[str] = Field(default_factory=list, max_length=10, description="Added to every row")


class BadRow(BaseModel):
    row: int
    reasons: list[str]
    preview: str


class DuplicateMatch(BaseModel):
    row: int
    reason: str
    of_row: int | None = None
    existing_kind: Literal["person", "organisation"] | None = None
    existing_id: int | None = None
    existing_name: str = ""
    also_existing_id: int | None = Field(
        default=None, description="A second existing record the row matches: a likely duplicate"
    )
    action: Action


class Counts(BaseModel):
    people: int = 0
    organisations: int = 0
    contact_points: int = 0
    positions: int = 0
    tags: int = 0


class CreatedRecord(BaseModel):
    id: int
    name: str


class ImportReport(BaseModel):
    dry_run: bool
    imported: bool
    filename: str
    encoding: str
    delimiter: str
    headers: list[str]
    mapping: list[str]
    mapping_source: Literal["given", "remembered", "guessed"] = Field(
        default="given",
        description="given in the request, remembered from the last import of these headers, "
        "or guessed from them",
    )
    total_rows: int
    bad_rows: list[BadRow]
    duplicates: list[DuplicateMatch]
    created: Counts
    updated: Counts
    skipped: int
    created_people: list[CreatedRecord] = Field(
        default_factory=list, description="The first 1,000 people created"
    )
    created_organisations: list[CreatedRecord] = Field(
        default_factory=list, description="The first 1,000 organisations created"
    )
    separate: list[DuplicateMatch] = Field(
        default_factory=list, description="Duplicates imported as separate records, to merge"
    )
    encoding_label: str = Field(default="", description='How the file was read: "Windows-1251…"')
    warnings: list[BadRow] = Field(
        default_factory=list,
        description="Rows imported but worth a look: letters the file lost as “?” (first 1,000)",
    )
    batch_id: int | None = Field(default=None, description="The import's batch, to undo it")


# --- row checks --------------------------------------------------------------------------------


def check_email(value: str) -> str:
    """The normalised address (domain lower-cased); a fast path for plain ASCII addresses gives
    the same answer as ``email_validator``, which handles everything else."""
    value = value.strip()
    match = _EMAIL.match(value)
    if match and len(value) <= 254 and len(match["local"]) <= 64:
        domain = match["domain"].lower()
        tld = domain.rsplit(".", 1)[-1]
        special = (
            tld in _SPECIAL_TLDS
            if _SPECIAL_SINGLE_LABELS
            else any(domain == d or domain.endswith("." + d) for d in SPECIAL_USE_DOMAIN_NAMES)
        )
        if not special and not tld.isdigit() and "--" not in domain[2:4]:
            return f"{match['local']}@{domain}"
    return normalise_email(value)


def fast_phone(value: str) -> str | None:
    """E.164 for a valid number written in international form (``+992 37 221 1234``), without
    ``phonenumbers.parse``; None when the full parser must decide."""
    digits = _PHONE_SEPARATORS.sub("", value.strip())
    if digits[:1] != "+" or not digits[1:].isdigit() or len(digits) > 18:
        return None
    digits = digits[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            rest = digits[size:]
            if not rest or rest[0] == "0":
                return None
            number = phonenumbers.PhoneNumber(country_code=code, national_number=int(rest))
            return "+" + digits if phonenumbers.is_valid_number(number) else None
    return None


@lru_cache(maxsize=100_000)
def _phone(value: str, region: str) -> str:
    return fast_phone(value) or normalise_phone(value, region)


def _flag(value: str) -> bool | None:
    folded = value.strip().lower()
    if folded in TRUE:
        return True
    if folded in FALSE:
        return False
    return None


@lru_cache(maxsize=200_000)
def _fold(text: str) -> str:
    return fold(text) if not text.isascii() else " ".join(text.lower().split())


def _split_tags(value: str) -> list[str]:
    return [t.strip()[:80] for t in re.split(r"[;,]", value) if t.strip()]


@lru_cache(maxsize=200_000)
def _sort_name(given: str, family: str, native: str) -> str:
    return (" ".join(p for p in (family, given) if p) or native).lower()[:250]


@dataclass
class Record:
    """One row (or several rows merged together) ready to be written."""

    row: int
    kind: Literal["person", "organisation"]
    honorific: str = ""
    given_name: str = ""
    family_name: str = ""
    native_name: str = ""
    organisation: str = ""
    organisation_type: OrganisationType | None = None
    title: str = ""
    country_id: int | None = None
    country_code: str = ""
    # where an embassy, mission or office abroad is (for a person's row: their organisation's)
    host_country_id: int | None = None
    host_country_code: str = ""
    host_city: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    faxes: list[str] = field(default_factory=list)
    postal: tuple[str, str, str, str, str] | None = None  # street, city, postcode, area, cc
    tags: list[str] = field(default_factory=list)
    language: str = ""
    no_email: bool = False
    no_post: bool = False
    notes: str = ""
    # the row's "preferred" column: its address becomes the preferred one (None: not said)
    address_preferred: bool | None = None
    # where it goes: an existing record (merge) or a new one
    target_id: int | None = None

    @property
    def sort_name(self) -> str:
        return _sort_name(self.given_name, self.family_name, self.native_name)

    @property
    def display(self) -> str:
        if self.kind == "organisation":
            return self.organisation
        name = " ".join(p for p in (self.given_name, self.family_name) if p) or self.native_name
        return f"{self.honorific} {name}".strip()

    def absorb(self, other: Record) -> None:
        """Fill blanks from a later duplicate row and add what it adds."""
        for attr in ("honorific", "given_name", "family_name", "native_name", "organisation"):
            if not getattr(self, attr) and getattr(other, attr):
                setattr(self, attr, getattr(other, attr))
        for attr in ("title", "country_code", "language", "notes"):
            if not getattr(self, attr) and getattr(other, attr):
                setattr(self, attr, getattr(other, attr))
        if self.country_id is None:
            self.country_id = other.country_id
        if self.host_country_id is None:
            self.host_country_id = other.host_country_id
            self.host_country_code = other.host_country_code
        if not self.host_city:
            self.host_city = other.host_city
        if self.address_preferred is None:
            self.address_preferred = other.address_preferred
        if self.organisation_type is None:
            self.organisation_type = other.organisation_type
        for attr in ("emails", "phones", "faxes", "tags"):
            mine: list[str] = getattr(self, attr)
            mine.extend(v for v in getattr(other, attr) if v not in mine)
        if self.postal is None:
            self.postal = other.postal
        self.no_email = self.no_email or other.no_email
        self.no_post = self.no_post or other.no_post


class _Lookups:
    """Everything a row is checked against, loaded once per import."""

    def __init__(self, session: Session) -> None:
        self.countries: dict[str, tuple[int, str]] = {}
        for country in session.scalars(select(Country)):
            value = (country.id, country.iso2)
            for key in (country.iso2, country.iso3, country.name, country.official_name):
                if key:
                    self.countries.setdefault(_fold(key), value)
        self.by_iso2 = {iso2: cid for cid, iso2 in self.countries.values()}
        # folded organisation name -> its host country (id, ISO code): the directory's
        # organisations abroad, and those the file places in a host country
        self.org_hosts: dict[str, tuple[int, str]] = {}
        iso2_of = dict(self.countries.values())
        for name, host_id in session.execute(
            select(Organisation.name, Organisation.host_country_id).where(
                Organisation.host_country_id.is_not(None)
            )
        ):
            if host_id in iso2_of:
                self.org_hosts.setdefault(_fold(name), (host_id, iso2_of[host_id]))

    def learn_hosts(self, table: csvfile.Table, mapping: Sequence[str]) -> None:
        """Organisations the file places abroad (a host country column on any of their rows):
        the other rows of their people are addressed there too."""
        if "host_country" not in mapping or "organisation" not in mapping:
            return
        org_col, host_col = mapping.index("organisation"), mapping.index("host_country")
        for cells in table.rows:
            if max(org_col, host_col) >= len(cells):
                continue
            name, host = cells[org_col].strip(), cells[host_col].strip()
            if name and host:
                found = self.country(host)
                if found is not None:
                    self.org_hosts[_fold(name)] = found

    def country(self, text: str) -> tuple[int, str] | None:
        key = _fold(text)
        found = self.countries.get(key)
        if found is None and key:
            # names in the six UN languages and common variants ("Lao PDR", "Россия")
            iso3 = country_names.resolve(text)
            found = self.countries.get(_fold(iso3)) if iso3 else None
            if found:
                self.countries[key] = found
        return found


def _org_type(value: str) -> OrganisationType | None:
    key = _fold(value).replace(" ", "_").replace("-", "_")
    for kind in OrganisationType:
        if key in (kind.value, _fold(kind.label).replace(" ", "_")):
            return kind
    return None


def check_row(
    number: int, cells: Sequence[str], mapping: Sequence[str], lookups: _Lookups, options: Any
) -> Record | list[str]:
    """A ``Record``, or the reasons the row cannot be imported."""
    values: dict[str, str] = {}
    for index, name in enumerate(mapping):
        if name and index < len(cells):
            values[name] = cells[index].strip()
    reasons: list[str] = []
    get = values.get
    for name, limit in LIMITS.items():
        if len(get(name, "")) > limit:
            reasons.append(f"{csvfile.FIELDS[name][0]} is longer than {limit} characters")
    address = "\n".join(p for p in (get("address_line1", ""), get("address_line2", "")) if p)
    if len(address) > LIMITS["address"]:
        reasons.append(f"the address is longer than {LIMITS['address']} characters")
    given, family = get("given_name", ""), get("family_name", "")
    full = get("full_name", "")
    if full and not (given or family):
        given, _, family = full.rpartition(" ")
        given, family = given.strip(), family.strip()
    native = get("native_name", "")
    organisation = get("organisation", "")
    kind: Literal["person", "organisation"] = (
        "person" if (given or family or native) else "organisation"
    )
    if kind == "organisation" and not organisation:
        reasons.append("no name: give a person's name or an organisation")
    honorific, title = get("honorific", ""), get("title", "")
    if title and not honorific and kind == "person" and csvfile.is_honorific(title):
        honorific, title = title, ""  # "H.E." in a Title column is a form of address
    record = Record(
        row=number,
        kind=kind,
        honorific=honorific[: LIMITS["honorific"]],
        given_name=given[:120],
        family_name=family[:120],
        native_name=native,
        organisation=organisation,
        title=title,
        notes=get("notes", ""),
        host_city=get("host_city", "")[:120],
    )
    if get("organisation_type"):
        record.organisation_type = _org_type(get("organisation_type", ""))
        if record.organisation_type is None:
            reasons.append(f"unknown organisation type {get('organisation_type')!r}")
    if get("country"):
        found = lookups.country(get("country", ""))
        if found is None:
            reasons.append(f"unknown country {get('country')!r}")
        else:
            record.country_id, record.country_code = found
    if get("host_country"):
        found = lookups.country(get("host_country", ""))
        if found is None:
            reasons.append(f"unknown host country {get('host_country')!r}")
        else:
            record.host_country_id, record.host_country_code = found
    elif organisation and _fold(organisation) in lookups.org_hosts:
        record.host_country_id, record.host_country_code = lookups.org_hosts[_fold(organisation)]
    # where the address and phones are: said by the row, else where the organisation is
    # (an embassy's host country), else the row's country
    located = record.host_country_code or record.country_code
    if get("address_country"):
        found = lookups.country(get("address_country", ""))
        if found is None:
            reasons.append(f"unknown address country {get('address_country')!r}")
        else:
            located = found[1]
    region = located or None
    if get("email"):
        for raw in _EMAIL_SEPARATORS.split(get("email", "")):
            if not raw:
                continue
            try:
                email = check_email(raw)
            except ValueError as exc:
                reasons.append(
                    f"invalid email {raw!r}: {str(exc).removeprefix('not a valid email address: ')}"
                )
                continue
            if email not in record.emails:
                record.emails.append(email)
    for name, target in (("phone", record.phones), ("fax", record.faxes)):
        raw = get(name, "")
        if not raw:
            continue
        try:
            target.append(_phone(raw, region or ""))
        except ValueError:
            where = f" for {region}" if region else " (no country given)"
            hint = "" if region or raw.startswith("+") else "; write it with + and the country code"
            reasons.append(f"invalid {name} {raw!r}{where}{hint}")
    if address or get("city") or get("postal_code"):
        if not address or not get("city") or not located:
            reasons.append("a postal address needs an address line, a city and a country")
        else:
            record.postal = (
                address,
                get("city", ""),
                get("postal_code", ""),
                get("country_area", ""),
                located,
            )
    language = get("language", "")
    if language and not _LANGUAGE.match(language):
        reasons.append(f"invalid language {language!r} (use a code such as en, fr, ru)")
    record.language = language
    if values.get("preferred"):
        record.address_preferred = _flag(values["preferred"])
        if record.address_preferred is None:
            reasons.append(f"Preferred: {values['preferred']!r} is not yes or no")
    for name in ("no_email", "no_post"):
        if name in values:
            flag = _flag(values[name])
            if flag is None:
                reasons.append(f"{csvfile.FIELDS[name][0]}: {values[name]!r} is not yes or no")
            else:
                setattr(record, name, flag)
    if get("tags"):
        record.tags = _split_tags(get("tags", ""))
    for tag in options.tags:
        if tag.strip() and tag.strip() not in record.tags:
            record.tags.append(tag.strip()[:80])
    return reasons or record


# --- the plan ----------------------------------------------------------------------------------


@dataclass
class _Existing:
    """The directory's records that rows of this file may match."""

    emails: dict[str, tuple[Literal["person", "organisation"], int]]
    orgs: dict[str, int]
    org_names: dict[int, str]
    people: dict[tuple[str, int], int]  # (sort name, organisation id or 0) -> person id
    people_names: dict[int, str]


def _load_existing(session: Session, records: list[Record]) -> _Existing:
    emails: dict[str, tuple[Literal["person", "organisation"], int]] = {}
    wanted = {e.lower() for r in records for e in r.emails}
    if wanted:
        # one pass over the directory's addresses (stored with their local part as typed)
        for value, pid, oid in session.execute(
            select(ContactPoint.value, ContactPoint.person_id, ContactPoint.organisation_id)
            .where(ContactPoint.kind == ContactKind.email)
            .order_by(ContactPoint.id)
        ):
            key = value.lower()
            if key not in wanted:
                continue
            if pid is not None:
                emails.setdefault(key, ("person", pid))
            elif oid is not None:
                emails.setdefault(key, ("organisation", oid))
    orgs: dict[str, int] = {}
    org_names: dict[int, str] = {}
    for oid, name in session.execute(
        select(Organisation.id, Organisation.name).order_by(Organisation.id)
    ):
        orgs.setdefault(_fold(name), oid)
        org_names[oid] = name
    people: dict[tuple[str, int], int] = {}
    names: dict[int, str] = {}
    sort_names = sorted({r.sort_name for r in records if r.kind == "person"})
    for chunk in _chunks(sort_names):
        found = session.execute(
            select(Person.id, Person.sort_name, Person.given_name, Person.family_name)
            .where(Person.sort_name.in_(chunk))
            .order_by(Person.id)
        ).all()
        ids = [row[0] for row in found]
        positions: dict[int, list[int]] = {}
        for pid, oid in session.execute(
            select(Position.person_id, Position.organisation_id).where(Position.person_id.in_(ids))
        ):
            positions.setdefault(pid, []).append(oid)
        for pid, sort_name, given, family in found:
            names[pid] = " ".join(p for p in (given, family) if p) or sort_name
            for oid in positions.get(pid) or [0]:
                people.setdefault((sort_name, oid), pid)
    _known_by_alias(session, records, orgs, people, names)
    return _Existing(emails, orgs, org_names, people, names)


def _known_by_alias(
    session: Session,
    records: list[Record],
    orgs: dict[str, int],
    people: dict[tuple[str, int], int],
    names: dict[int, str],
) -> None:
    """Names the directory holds as aliases (another spelling, a merged-away record's name)
    match too, so re-importing a file after merging changes nothing."""
    wanted_orgs = {r.organisation for r in records if r.organisation}
    for name, ids in aliases.owners_by_name(session, "organisation", wanted_orgs).items():
        orgs.setdefault(_fold(name), ids[0])
    by_name: dict[str, set[str]] = {}
    for r in records:
        if r.kind == "person":
            full = " ".join(p for p in (r.given_name, r.family_name) if p) or r.native_name
            by_name.setdefault(full, set()).add(r.sort_name)
    owners = aliases.owners_by_name(session, "person", by_name)
    if not owners:
        return
    pids = sorted({ids[0] for ids in owners.values()})
    positions: dict[int, list[int]] = {}
    for chunk in _chunks(pids):
        for pid, oid in session.execute(
            select(Position.person_id, Position.organisation_id).where(
                Position.person_id.in_(chunk)
            )
        ):
            positions.setdefault(pid, []).append(oid)
        for pid, given, family, native in session.execute(
            select(Person.id, Person.given_name, Person.family_name, Person.native_name).where(
                Person.id.in_(chunk)
            )
        ):
            names.setdefault(pid, " ".join(p for p in (given, family) if p) or native)
    for full, ids in owners.items():
        for sort_name in by_name[full]:
            for oid in positions.get(ids[0]) or [0]:
                people.setdefault((sort_name, oid), ids[0])


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Plan:
    table: csvfile.Table
    mapping: list[str]
    bad_rows: list[BadRow]
    duplicates: list[DuplicateMatch]
    new: list[Record]  # records to create
    merges: list[Record]  # rows merged into an existing record (target_id set)
    new_orgs: dict[str, Record | str]  # folded name -> org-only record, or the display name
    existing: _Existing
    skipped: int
    warnings: list[BadRow] = field(default_factory=list)  # rows with letters lost as "?"


def make_plan(
    session: Session,
    table: csvfile.Table,
    options: ImportOptions,
    progress: Progress | None = None,
) -> Plan:
    mapping = csvfile.resolve_mapping(table.headers, options.mapping, table.rows)
    lookups = _Lookups(session)
    lookups.learn_hosts(table, mapping)
    bad: list[BadRow] = []
    warnings: list[BadRow] = []
    records: list[Record] = []
    total = len(table.rows)
    watched = [(i, name) for i, name in enumerate(mapping) if name in GARBLE_WATCHED]
    for index, cells in enumerate(table.rows):
        number = index + 2  # the header is row 1
        if progress is not None and index % 2000 == 0:
            progress("checking", index, total)
        garbled = [
            f"{csvfile.FIELDS[name][0]} {cells[i].strip()!r}"
            for i, name in watched
            if i < len(cells) and "??" in cells[i] and csvfile.garbled(cells[i])
        ]
        if garbled:
            warnings.append(
                BadRow(
                    row=number,
                    reasons=[f"letters replaced by “?”: {', '.join(garbled)}"],
                    preview=" · ".join(c.strip() for c in cells if c.strip())[:120],
                )
            )
        result = check_row(number, cells, mapping, lookups, options)
        if isinstance(result, list):
            preview = " · ".join(c.strip() for c in cells if c.strip())[:120]
            bad.append(BadRow(row=number, reasons=result, preview=preview))
        else:
            records.append(result)
    existing = _load_existing(session, records)
    duplicates: list[DuplicateMatch] = []
    new: list[Record] = []
    merges: list[Record] = []
    skipped = 0
    seen_email: dict[str, Record] = {}
    seen_key: dict[tuple[str, str], Record] = {}
    for record in records:
        org_key = _fold(record.organisation)
        key = (record.sort_name if record.kind == "person" else "", org_key)
        match = _file_match(record, seen_email, seen_key, key)
        db_kind, db_id, reason = _db_match(record, existing, org_key)
        action = options.duplicates.rows.get(record.row, options.duplicates.default)
        if match is not None:
            other, why = match
            if action == "create":
                action = "merge"  # two rows of one file are one record: merge or skip only
            duplicates.append(
                DuplicateMatch(row=record.row, reason=why, of_row=other.row, action=action)
            )
            if action == "merge":
                other.absorb(record)
            else:
                skipped += 1
            continue
        for email in record.emails:
            seen_email.setdefault(email.lower(), record)
        seen_key.setdefault(key, record)
        if db_kind is not None and db_id is not None:
            also = _second_match(record, existing, org_key, db_id)
            name = (
                existing.people_names.get(db_id, "")
                if db_kind == "person"
                else existing.org_names.get(db_id, "")
            )
            duplicates.append(
                DuplicateMatch(
                    row=record.row,
                    reason=reason,
                    existing_kind=db_kind,
                    existing_id=db_id,
                    existing_name=name,
                    also_existing_id=also,
                    action=action,
                )
            )
            if action == "skip":
                skipped += 1
                continue
            if action == "merge":
                record.target_id = db_id
                merges.append(record)
                continue
        new.append(record)
    new_orgs: dict[str, Record | str] = {}
    for record in new + merges:
        org_key = _fold(record.organisation)
        if record.kind == "organisation" and record.target_id is None:
            new_orgs[org_key] = record
        elif org_key and org_key not in existing.orgs:
            new_orgs.setdefault(org_key, record.organisation)
    return Plan(table, mapping, bad, duplicates, new, merges, new_orgs, existing, skipped, warnings)


def _file_match(
    record: Record,
    seen_email: dict[str, Record],
    seen_key: dict[tuple[str, str], Record],
    key: tuple[str, str],
) -> tuple[Record, str] | None:
    for email in record.emails:
        other = seen_email.get(email.lower())
        if other is not None and other.kind == record.kind:
            return other, f"same email as row {other.row}: {email}"
    other = seen_key.get(key)
    if other is not None:
        what = "same name and organisation" if record.kind == "person" else "same organisation"
        return other, f"{what} as row {other.row}"
    return None


def _db_match(
    record: Record, existing: _Existing, org_key: str
) -> tuple[Literal["person", "organisation"] | None, int | None, str]:
    for email in record.emails:
        found = existing.emails.get(email.lower())
        if found is not None and found[0] == record.kind:
            return found[0], found[1], f"same email as an existing {found[0]}: {email}"
    if record.kind == "organisation":
        oid = existing.orgs.get(org_key)
        return (
            ("organisation", oid, "an organisation with this name exists")
            if oid
            else (None, None, "")
        )
    oid = existing.orgs.get(org_key, 0) if org_key else 0
    if org_key and not oid:
        return None, None, ""
    pid = existing.people.get((record.sort_name, oid))
    if pid is not None:
        what = "name and organisation" if oid else "name (and no organisation)"
        return "person", pid, f"an existing person has the same {what}"
    return None, None, ""


def _second_match(record: Record, existing: _Existing, org_key: str, first: int) -> int | None:
    if record.kind != "person":
        return None
    oid = existing.orgs.get(org_key, 0) if org_key else 0
    pid = existing.people.get((record.sort_name, oid))
    if pid is not None and pid != first:
        return pid
    for email in record.emails:
        found = existing.emails.get(email.lower())
        if found and found[0] == "person" and found[1] != first:
            return found[1]
    return None


# --- writing -----------------------------------------------------------------------------------


def _search_text(*parts: str) -> str:
    """The same search column the directory computes (every transliteration of each name)."""
    return search_text(*parts)


def _native(value: Any, sqlite: bool) -> Any:
    """A value as the database driver takes it (what the column types would have produced)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _defaults(table: SATable) -> dict[str, Any]:
    """Python-side column defaults (the database has none), evaluated once per import."""
    out: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.primary_key or default is None or not hasattr(default, "arg"):
            continue
        arg = default.arg
        out[column.name] = arg(None) if callable(arg) else arg
    return out


def _new_ids(session: Session, table: SATable, count: int) -> list[int]:
    """Ids for ``count`` new rows, taken in one statement. SQLite: after the highest id (the
    transaction holds the write lock from its start); PostgreSQL: from the id sequence."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        start = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
        return list(range(start + 1, start + 1 + count))
    return list(
        session.scalars(
            select(func.nextval(func.pg_get_serial_sequence(table.name, "id"))).select_from(
                func.generate_series(1, count)
            )
        )
    )


def _bulk(
    session: Session, table: SATable, rows: list[dict[str, Any]], *, with_ids: bool = False
) -> list[int]:
    """Bulk insert straight through the driver's ``executemany`` (no per-row statement
    compilation); with ``with_ids`` the new ids, in the order of ``rows``."""
    if not rows:
        return []
    connection = session.connection()
    dialect = connection.dialect
    sqlite = dialect.name == "sqlite"
    if dialect.name not in ("sqlite", "postgresql"):
        result = session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return list(result.scalars())
    columns = {**_defaults(table), **rows[0]}
    names = list(columns)
    ids: list[int] = []
    if with_ids:
        ids = _new_ids(session, table, len(rows))
        names = ["id", *names]
    fixed = {k: _native(v, sqlite) for k, v in columns.items() if k not in rows[0]}
    given = [n for n in names if n not in fixed and n != "id"]
    # one converter per column, chosen from the first row (a column holds one kind of value);
    # the same timestamp object repeats in every row, so conversions are memoised
    converters: list[Any] = []
    for name in given:
        sample = rows[0][name]
        if isinstance(sample, datetime | enum.Enum):
            converters.append(lru_cache(maxsize=16)(lambda v, s=sqlite: _native(v, s)))
        elif isinstance(sample, dict | list):
            converters.append(lambda v, s=sqlite: _native(v, s))
        else:
            converters.append(None)
    order = (["id"] if with_ids else []) + given + list(fixed)
    names = order
    tail = tuple(fixed.values())
    pairs = list(zip(given, converters, strict=True))
    values = []
    for i, row in enumerate(rows):
        head = [c(row[n]) if c is not None else row[n] for n, c in pairs]
        values.append(((ids[i],) if with_ids else ()) + tuple(head) + tail)
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    for chunk in _chunks(values, 5000):
        connection.exec_driver_sql(sql, list(chunk))
    return ids


class _Sink:
    """Where ``write`` sends rows: the database, or nowhere for a dry run, which goes through
    the same steps (so its counts are the import's) with made-up ids."""

    def __init__(self, session: Session, dry: bool) -> None:
        self.session = session
        self.dry = dry
        self._fake = 0

    def insert_ids(self, table: SATable, rows: list[dict[str, Any]]) -> list[int]:
        if self.dry:
            start = self._fake
            self._fake -= len(rows)
            return list(range(start - 1, self._fake - 1, -1))
        return _bulk(self.session, table, rows, with_ids=True)

    def insert(self, table: SATable, rows: list[dict[str, Any]]) -> None:
        if not self.dry:
            _bulk(self.session, table, rows)

    def execute(self, statement: Any) -> int:
        """An UPDATE's row count (a dry run counts it done)."""
        if self.dry:
            return 1
        return int(getattr(self.session.execute(statement), "rowcount", 1))


@dataclass
class Changes:
    """What an import wrote, kept in its batch so it can be undone: records created (with
    their version), contact points, positions and tag links added to existing records, and
    the values existing records had before."""

    created: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated}


def _tag_ids(sink: _Sink, names: set[str], counts: Counts, changes: Changes) -> dict[str, int]:
    if not names:
        return {}
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(names)):
        found.update(
            {
                name: tid
                for tid, name in sink.session.execute(
                    select(Tag.id, Tag.name).where(Tag.name.in_(chunk))
                )
            }
        )
    missing = sorted(names - set(found))
    now = utcnow()
    ids = sink.insert_ids(
        TAGS, [{"name": n, "created_at": now, "updated_at": now} for n in missing]
    )
    found.update(zip(missing, ids, strict=True))
    changes.created.extend({"type": "tag", "id": tid} for tid in ids)
    counts.tags += len(missing)
    return found


def _points(record: Record, now: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    base = {"label": "", "street_address": "", "city": "", "city_area": "", "postal_code": ""}
    base.update({"country_area": "", "country_code": "", "created_at": now, "updated_at": now})
    for kind, values in (
        (ContactKind.email, record.emails),
        (ContactKind.phone, record.phones),
        (ContactKind.fax, record.faxes),
    ):
        for i, value in enumerate(values):
            rows.append({**base, "kind": kind, "value": value, "preferred": i == 0})
    if record.postal is not None:
        street, city, postcode, area, cc = record.postal
        rows.append(
            {
                **base,
                "kind": ContactKind.postal,
                "value": "",
                "preferred": True,
                "street_address": street,
                "city": city,
                "postal_code": postcode,
                "country_area": area,
                "country_code": cc,
            }
        )
    return rows


def _point_key(row: dict[str, Any]) -> tuple[str, str]:
    return _key_of(
        row["kind"],
        row["value"],
        row["street_address"],
        row["city"],
        row["postal_code"],
        row["country_code"],
    )


def _key_of(
    kind: Any, value: str, street: str, city: str, postcode: str, country: str
) -> tuple[str, str]:
    """What makes two contact points the same: the address (folded), or the value."""
    kind = str(kind)
    if kind == "postal":
        text = f"{_fold(street or '')}|{_fold(city or '')}|{_fold(postcode or '')}"
        return kind, f"{text}|{(country or '').upper()}"
    return kind, (value or "").lower()


def _completeness(point: Any) -> int:
    """How much of an address there is: street, city, postcode (a city-only address is 1)."""
    get = point.get if isinstance(point, dict) else lambda k: getattr(point, k)
    return sum(1 for k in ("street_address", "city", "postal_code") if (get(k) or "").strip())


@dataclass
class Written:
    created: Counts
    updated: Counts
    people: list[CreatedRecord]
    organisations: list[CreatedRecord]
    changes: Changes


def write(session: Session, plan: Plan, options: ImportOptions, *, dry: bool = False) -> Written:
    """Create and merge what the plan says; bulk inserts in the caller's transaction. ``dry``:
    the same steps with nothing written, for the dry run's counts."""
    sink = _Sink(session, dry)
    changes = Changes()
    created, updated = Counts(), Counts()
    now = utcnow()
    language = options.default_language
    all_tags = {t for r in plan.new + plan.merges for t in r.tags}
    tag_ids = _tag_ids(sink, all_tags, created, changes)
    # organisations first: people's positions point at them
    org_rows: list[dict[str, Any]] = []
    org_records: list[Record | None] = []
    org_keys = list(plan.new_orgs)
    from_people = _org_attributes(plan)
    for key in org_keys:
        item = plan.new_orgs[key]
        rec = item if isinstance(item, Record) else None
        name = rec.organisation if rec else str(item)
        said = from_people.get(key, {})
        org_rows.append(
            {
                "name": name,
                # the type, country and host given on the organisation's own row, else on the
                # first of its people's rows that gives them
                "type": (rec.organisation_type if rec else None)
                or said.get("organisation_type")
                or options.new_organisation_type,
                "country_id": (rec.country_id if rec else None) or said.get("country_id"),
                "host_country_id": (rec.host_country_id if rec else None)
                or said.get("host_country_id"),
                "host_city": (rec.host_city if rec else "") or said.get("host_city", ""),
                "preferred_language": (rec.language if rec else "") or language,
                "notes": rec.notes if rec else "",
                "no_email": rec.no_email if rec else False,
                "no_post": rec.no_post if rec else False,
                "search_text": _search_text(name, *(rec.emails if rec else [])),
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        org_records.append(rec)
    org_ids = dict(zip(org_keys, sink.insert_ids(ORGANISATIONS, org_rows), strict=True))
    changes.created.extend(
        {"type": "organisation", "id": oid, "version": 1} for oid in org_ids.values()
    )
    created.organisations = len(org_ids)
    org_of = {**plan.existing.orgs, **org_ids}
    people = [r for r in plan.new if r.kind == "person"]
    person_rows = [
        {
            "honorific": r.honorific,
            "given_name": r.given_name,
            "family_name": r.family_name,
            "native_name": r.native_name,
            "preferred_language": r.language or language,
            "notes": r.notes,
            "no_email": r.no_email,
            "no_post": r.no_post,
            "sort_name": r.sort_name,
            "search_text": _search_text(
                r.given_name,
                r.family_name,
                r.native_name,
                f"{r.family_name} {r.given_name}".strip(),
                *r.emails,
            ),
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for r in people
    ]
    person_ids = sink.insert_ids(PEOPLE, person_rows)
    changes.created.extend({"type": "person", "id": pid, "version": 1} for pid in person_ids)
    created.people = len(person_ids)
    points: list[dict[str, Any]] = []
    positions: list[dict[str, Any]] = []
    p_tags: list[dict[str, Any]] = []
    o_tags: list[dict[str, Any]] = []
    for record, pid in zip(people, person_ids, strict=True):
        for row in _points(record, now):
            points.append({**row, "person_id": pid, "organisation_id": None})
        if record.organisation:
            positions.append(_position(pid, org_of[_fold(record.organisation)], record.title, now))
        p_tags.extend({"person_id": pid, "tag_id": tag_ids[t]} for t in record.tags)
    for key, rec in zip(org_keys, org_records, strict=True):
        if rec is not None:
            oid = org_ids[key]
            for row in _points(rec, now):
                points.append({**row, "person_id": None, "organisation_id": oid})
            o_tags.extend({"organisation_id": oid, "tag_id": tag_ids[t]} for t in rec.tags)
    new_points, new_positions = len(points), len(positions)
    merge = _Merge(sink, plan, org_of, tag_ids, now, changes, updated)
    merge.run(points, positions, p_tags, o_tags)
    point_ids = sink.insert_ids(CONTACT_POINTS, points)
    position_ids = sink.insert_ids(POSITIONS, positions)
    # on existing records, what was added is undone one by one; a new record takes its own along
    changes.created.extend({"type": "contact_point", "id": i} for i in point_ids[new_points:])
    changes.created.extend({"type": "position", "id": i} for i in position_ids[new_positions:])
    for table, rows, kind in (
        (person_tags, p_tags, "person"),
        (organisation_tags, o_tags, "organisation"),
    ):
        sink.insert(table, rows)
        owner = f"{kind}_id"
        changes.created.extend(
            {"type": f"{kind}_tag", "id": r[owner], "tag_id": r["tag_id"]}
            for r in rows
            if r[owner] in merge.targets[kind]
        )
    created.contact_points = len(points) - updated.contact_points
    created.positions = len(positions) - updated.positions
    made_people = [
        CreatedRecord(id=pid, name=r.display)
        for r, pid in zip(people[:1000], person_ids, strict=False)
    ]
    made_orgs = [
        CreatedRecord(id=org_ids[k], name=str(r["name"]))
        for k, r in zip(org_keys, org_rows, strict=True)
    ]
    return Written(created, updated, made_people, made_orgs[:1000], changes)


def _org_attributes(plan: Plan) -> dict[str, dict[str, Any]]:
    """A new organisation's type, country, host country and host city as its people's rows
    give them: each from the first row that names it."""
    out: dict[str, dict[str, Any]] = {}
    for record in plan.new + plan.merges:
        if not record.organisation or record.kind != "person":
            continue
        said = out.setdefault(_fold(record.organisation), {})
        for name in ("organisation_type", "country_id", "host_country_id", "host_city"):
            value = getattr(record, name)
            if value and name not in said:
                said[name] = value
    return out


def _position(pid: int, oid: int, title: str, now: Any) -> dict[str, Any]:
    return {
        "person_id": pid,
        "organisation_id": oid,
        "title": title,
        "start_date": None,
        "end_date": None,
        "is_office_holder": False,
        "created_at": now,
        "updated_at": now,
    }


class _Merge:
    """Rows matched to existing records: fill blank fields, add what is missing, make a fuller
    address the preferred one; nothing is written for a row that adds nothing (re-importing
    a file is a no-op). What it changes goes into ``changes`` with the values before."""

    def __init__(
        self,
        sink: _Sink,
        plan: Plan,
        org_of: dict[str, int],
        tag_ids: dict[str, int],
        now: Any,
        changes: Changes,
        updated: Counts,
    ) -> None:
        self.sink, self.session, self.plan = sink, sink.session, plan
        self.org_of, self.tag_ids, self.now = org_of, tag_ids, now
        self.changes, self.updated = changes, updated
        self.targets: dict[str, set[int]] = {"person": set(), "organisation": set()}

    def run(
        self,
        points: list[dict[str, Any]],
        positions: list[dict[str, Any]],
        p_tags: list[dict[str, Any]],
        o_tags: list[dict[str, Any]],
    ) -> None:
        for kind in ("person", "organisation"):
            records = [r for r in self.plan.merges if r.kind == kind]
            if records:
                self._merge_kind(
                    kind, records, points, positions, p_tags if kind == "person" else o_tags
                )

    def _merge_kind(
        self,
        kind: str,
        records: list[Record],
        points: list[dict[str, Any]],
        positions: list[dict[str, Any]],
        tag_rows: list[dict[str, Any]],
    ) -> None:
        is_person = kind == "person"
        table = PEOPLE if is_person else ORGANISATIONS
        blanks = (
            ("honorific", "given_name", "family_name", "native_name", "notes")
            if is_person
            else ("notes", "host_city")
        )
        ids_ = ("country_id", "host_country_id")
        read = ["id", "version", *blanks, "no_email", "no_post"]
        read += ["native_name", "sort_name"] if is_person else list(ids_)
        owner_col = CONTACT_POINTS.c.person_id if is_person else CONTACT_POINTS.c.organisation_id
        owner_key = "person_id" if is_person else "organisation_id"
        other_key = "organisation_id" if is_person else "person_id"
        assoc = person_tags if is_person else organisation_tags
        assoc_owner = assoc.c.person_id if is_person else assoc.c.organisation_id
        ids = sorted({r.target_id for r in records if r.target_id is not None})
        self.targets[kind].update(ids)
        current: dict[int, dict[str, Any]] = {}
        have_points: dict[int, dict[tuple[str, str], dict[str, Any]]] = {}
        have_tags: dict[int, set[int]] = {}
        have_positions: dict[int, set[tuple[int, str]]] = {}
        cp = CONTACT_POINTS.c
        for chunk in _chunks(ids):
            for row in self.session.execute(
                select(*[table.c[name] for name in dict.fromkeys(read)]).where(
                    table.c.id.in_(chunk)
                )
            ):
                current[row.id] = dict(row._mapping)
            for row in self.session.execute(
                select(
                    owner_col.label("owner"),
                    cp.kind,
                    cp.value,
                    cp.street_address,
                    cp.city,
                    cp.postal_code,
                    cp.country_code,
                    cp.id,
                    cp.preferred,
                )
                .where(owner_col.in_(chunk))
                .order_by(cp.id)
            ):
                point = dict(row._mapping)
                have_points.setdefault(row.owner, {})[_key_of(*row[1:7])] = point
            for owner, tid in self.session.execute(
                select(assoc_owner, assoc.c.tag_id).where(assoc_owner.in_(chunk))
            ):
                have_tags.setdefault(owner, set()).add(tid)
            if is_person:
                for pid, oid, title in self.session.execute(
                    select(Position.person_id, Position.organisation_id, Position.title).where(
                        Position.person_id.in_(chunk)
                    )
                ):
                    have_positions.setdefault(pid, set()).add((oid, _fold(title)))
        changes: dict[int, dict[str, Any]] = {}
        touched: set[int] = set()
        new_email: set[int] = set()
        for record in records:
            assert record.target_id is not None
            target = record.target_id
            now_values = current[target]
            fields = changes.setdefault(target, {})
            for attr in blanks:
                value = getattr(record, attr)
                if value and not now_values[attr] and attr not in fields:
                    fields[attr] = value
            for attr in ("no_email", "no_post"):
                if getattr(record, attr) and not now_values[attr]:
                    fields[attr] = True
            if not is_person:
                for attr in ids_:
                    if getattr(record, attr) and not now_values[attr] and attr not in fields:
                        fields[attr] = getattr(record, attr)
            keys = have_points.setdefault(target, {})
            for point in _points(record, self.now):
                key = _point_key(point)
                if key in keys:
                    said = key[0] == "postal" and record.address_preferred
                    if said and self._prefer(keys, keys[key]):
                        touched.add(target)
                    continue
                if key[0] == "postal":
                    point["preferred"] = self._new_address_preferred(keys, point, record)
                    if point["preferred"]:
                        self._prefer(keys, point)
                else:
                    point["preferred"] = not any(k[0] == key[0] for k in keys)
                keys[key] = point
                points.append({**point, owner_key: target, other_key: None})
                self.updated.contact_points += 1
                touched.add(target)
                if key[0] == "email":
                    new_email.add(target)
            tags = have_tags.setdefault(target, set())
            for tag in record.tags:
                tid = self.tag_ids[tag]
                if tid not in tags:
                    tags.add(tid)
                    tag_rows.append({owner_key: target, "tag_id": tid})
                    touched.add(target)
            if is_person and record.organisation:
                oid = self.org_of[_fold(record.organisation)]
                held = have_positions.setdefault(target, set())
                title = _fold(record.title)
                if not any(o == oid and (not title or t == title) for o, t in held):
                    held.add((oid, title))
                    positions.append(_position(target, oid, record.title, self.now))
                    self.updated.positions += 1
                    touched.add(target)
        for target, fields in changes.items():
            version = current[target]["version"]
            entry = {"type": kind, "id": target, "version": version, "before": {}}
            if fields:
                touched.add(target)
                if is_person:
                    merged = {**current[target], **fields}
                    fields["sort_name"] = _sort_name(
                        merged["given_name"], merged["family_name"], merged["native_name"]
                    )
                    new_email.add(target)
                entry["before"] = {k: current[target][k] for k in fields}
                entry["version"] = version + 1
                done = self.sink.execute(
                    update(table)
                    .where(table.c.id == target, table.c.version == version)
                    .values(**fields, version=version + 1, updated_at=self.now)
                )
                if done != 1:
                    raise Conflict(
                        f"{kind.title()} #{target} changed while the file was being imported; "
                        "nothing was imported. Run the import again."
                    )
            if target in touched:
                self.changes.updated.append(entry)
        if is_person:
            self.updated.people = len(touched)
            # the search column follows new names and email addresses
            if not self.sink.dry:
                _refresh_people_search(self.session, sorted(new_email))
        else:
            self.updated.organisations = len(touched)

    def _new_address_preferred(
        self, keys: dict[tuple[str, str], dict[str, Any]], point: dict[str, Any], record: Record
    ) -> bool:
        """An address added to a record is preferred when it is the first one, when the row
        says so, or when the record's preferred address has less of it (a city with no
        street: letters would go on printing the city alone)."""
        postal = [p for k, p in keys.items() if k[0] == "postal"]
        if not postal:
            return True
        if record.address_preferred is not None:
            return record.address_preferred
        best = next((p for p in postal if p["preferred"]), postal[0])
        return _completeness(point) > _completeness(best)

    def _prefer(self, keys: dict[tuple[str, str], dict[str, Any]], point: dict[str, Any]) -> bool:
        """Make ``point`` the owner's only preferred address; the others recorded as they
        were. False when it already was."""
        changed = not point["preferred"]
        for other in (p for k, p in keys.items() if k[0] == "postal" and p is not point):
            if not other["preferred"]:
                continue
            other["preferred"] = False
            changed = True
            if other.get("id") is not None:  # an existing one (not added by this import)
                self.changes.updated.append(
                    {"type": "contact_point", "id": other["id"], "before": {"preferred": True}}
                )
                self.sink.execute(
                    update(CONTACT_POINTS)
                    .where(CONTACT_POINTS.c.id == other["id"])
                    .values(preferred=False, updated_at=self.now)
                )
        if not point["preferred"] and point.get("id") is not None:
            self.changes.updated.append(
                {"type": "contact_point", "id": point["id"], "before": {"preferred": False}}
            )
            self.sink.execute(
                update(CONTACT_POINTS)
                .where(CONTACT_POINTS.c.id == point["id"])
                .values(preferred=True, updated_at=self.now)
            )
        point["preferred"] = True
        return changed


def _refresh_people_search(session: Session, ids: list[int]) -> None:
    """People merged into: their search column as the directory computes it (with their name
    forms, aliases and the addresses just added)."""
    searchindex.refresh_people(session, ids)


# --- entry point -------------------------------------------------------------------------------


def run(
    session: Session,
    *,
    data: bytes,
    filename: str,
    options: ImportOptions,
    dry_run: bool,
    actor: User | None,
    progress: Progress | None = None,
) -> ImportReport:
    """Check the file; unless ``dry_run``, import it whole or not at all, as a batch that can
    be undone (``app.contacts.imports.batches``). ``progress(stage, done, total)`` is told how
    far it got (for imports run as a background job). The dry run goes through the same
    writing steps without writing, so its counts are the import's.

    A file with bad rows is never imported: ``InvalidInput`` carries the report as ``errors``."""
    from app.contacts.imports import batches as import_batches

    table = csvfile.read_table(data, encoding=options.encoding, delimiter=options.delimiter)
    source = "given"
    if options.mapping is None:
        remembered = import_batches.remembered_mapping(session, table.headers)
        if remembered is not None:
            options = options.model_copy(update={"mapping": remembered})
            source = "remembered"
        else:
            source = "guessed"
    plan = make_plan(session, table, options, progress)
    report = ImportReport(
        dry_run=dry_run,
        imported=False,
        filename=filename,
        encoding=table.encoding,
        encoding_label=csvfile.ENCODINGS.get(table.encoding, table.encoding),
        delimiter=table.delimiter,
        headers=table.headers,
        mapping=plan.mapping,
        mapping_source=source,
        total_rows=len(table.rows),
        bad_rows=plan.bad_rows,
        duplicates=plan.duplicates,
        created=Counts(),
        updated=Counts(),
        skipped=plan.skipped,
        warnings=plan.warnings[:1000],
    )
    if dry_run:
        # the rows that can be imported, counted by the import's own steps
        planned = write(session, plan, options, dry=True)
        report.created, report.updated = planned.created, planned.updated
        return report
    if plan.bad_rows:
        raise InvalidInput(
            f"Nothing was imported: {len(plan.bad_rows)} row(s) have problems. Correct them (or "
            "delete those rows) and upload the file again.",
            errors=[{"row": b.row, "message": "; ".join(b.reasons)} for b in plan.bad_rows[:1000]],
        )
    if not table.rows:
        raise InvalidInput("The file has a header row but no contacts.")
    if progress is not None:
        progress("writing", len(table.rows), len(table.rows))
    written = write(session, plan, options)
    created, updated = written.created, written.updated
    report.imported = True
    report.created, report.updated = created, updated
    report.created_people = written.people
    report.created_organisations = written.organisations
    report.separate = [d for d in plan.duplicates if d.action == "create" and d.existing_id]
    batch = import_batches.record(
        session,
        filename=filename,
        counts={
            "rows": len(table.rows),
            "created": created.model_dump(),
            "updated": updated.model_dump(),
            "skipped": plan.skipped,
        },
        changes=written.changes.as_dict(),
        actor=actor,
    )
    report.batch_id = batch.id
    import_batches.remember_mapping(session, table.headers, plan.mapping)
    audit.record(
        session,
        user=actor,
        action="contacts.import",
        entity_type="contact_import",
        entity_id=batch.id,
        summary=(
            f"Imported {filename}: {created.people} people and {created.organisations} "
            f"organisations created, {updated.people + updated.organisations} updated, "
            f"{plan.skipped} rows skipped"
        ),
        details={
            "filename": filename,
            "rows": len(table.rows),
            "encoding": table.encoding,
            "created": created.model_dump(),
            "updated": updated.model_dump(),
            "skipped": plan.skipped,
            "duplicates": len(plan.duplicates),
            "warnings": len(plan.warnings),
            "batch_id": batch.id,
        },
    )
    return report
