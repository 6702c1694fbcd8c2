"""One spreadsheet row checked and made a ``Record``: names, emails, phones for their country,
country, language and yes/no flags, against lookups (countries, organisations) loaded once per
import."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.contacts.imports import csvfile
from app.contacts.schemas import LANGUAGE_PATTERN, normalise_email, normalise_phone
from app.contacts.text import fold
from app.countries import names as country_names
from app.models import Country, Organisation, OrganisationType

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
        # a label with "--" in its third and fourth places (Punycode, or refused): the full
        # check decides, after the @-sign and after every period alike
        reserved = any(label[2:4] == "--" for label in domain.split("."))
        if not special and not tld.isdigit() and not reserved:
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
def match_key(text: str) -> str:
    return fold(text) if not text.isascii() else " ".join(text.lower().split())


def _split_tags(value: str) -> list[str]:
    return [t.strip()[:80] for t in re.split(r"[;,]", value) if t.strip()]


@lru_cache(maxsize=200_000)
def sort_name_of(given: str, family: str, native: str) -> str:
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
        return sort_name_of(self.given_name, self.family_name, self.native_name)

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


class Lookups:
    """Everything a row is checked against, loaded once per import."""

    def __init__(self, session: Session) -> None:
        self.countries: dict[str, tuple[int, str]] = {}
        for country in session.scalars(select(Country)):
            value = (country.id, country.iso2)
            for key in (country.iso2, country.iso3, country.name, country.official_name):
                if key:
                    self.countries.setdefault(match_key(key), value)
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
                self.org_hosts.setdefault(match_key(name), (host_id, iso2_of[host_id]))

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
                    self.org_hosts[match_key(name)] = found

    def country(self, text: str) -> tuple[int, str] | None:
        key = match_key(text)
        found = self.countries.get(key)
        if found is None and key:
            # names in the six UN languages and common variants ("Lao PDR", "Россия")
            iso3 = country_names.resolve(text)
            found = self.countries.get(match_key(iso3)) if iso3 else None
            if found:
                self.countries[key] = found
        return found


def _org_type(value: str) -> OrganisationType | None:
    key = match_key(value).replace(" ", "_").replace("-", "_")
    for kind in OrganisationType:
        if key in (kind.value, match_key(kind.label).replace(" ", "_")):
            return kind
    return None


def check_row(
    number: int, cells: Sequence[str], mapping: Sequence[str], lookups: Lookups, options: Any
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
    elif organisation and match_key(organisation) in lookups.org_hosts:
        record.host_country_id, record.host_country_code = lookups.org_hosts[
            match_key(organisation)
        ]
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
