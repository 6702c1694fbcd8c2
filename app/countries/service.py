"""Countries: loaded from pycountry (ISO 3166), UN M49 regions and the treaty state list."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import pycountry
from babel import Locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.countries import names
from app.errors import NotFound
from app.models import Country

DATA = Path(__file__).parent / "data"
TREATY_STATES = Path(__file__).parent.parent / "treaties" / "data" / "states_treaty_status.csv"


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def load(session: Session) -> int:
    """Insert or refresh every country; returns how many are new (idempotent)."""
    states = {row["iso3"]: row["name"] for row in _read(TREATY_STATES)}
    existing = {c.iso3: c for c in session.scalars(select(Country))}
    added = 0
    for row in _read(DATA / "m49_regions.csv"):
        iso3 = row["iso3"]
        record = pycountry.countries.get(alpha_3=iso3)
        # not in ISO 3166 (Kosovo, XK/XKX): CLDR's English name
        name = states.get(iso3) or (
            getattr(record, "common_name", None)
            or getattr(record, "name", None)
            or _cldr_english().get(row["iso2"], iso3)
        )
        official = getattr(record, "official_name", None) or getattr(record, "name", name)
        values = {
            "iso2": row["iso2"],
            "m49": row["m49"].zfill(3) if row["m49"] else "",
            "name": name,
            "official_name": official,
            "region": row["region"],
            "sub_region": row["sub_region"],
            "is_state": iso3 in states,
        }
        country = existing.get(iso3)
        if country is None:
            session.add(Country(iso3=iso3, **values))
            added += 1
        else:
            for key, value in values.items():
                if getattr(country, key) != value:
                    setattr(country, key, value)
    session.flush()
    return added


@lru_cache(maxsize=1)
def _cldr_english() -> dict[str, str]:
    return dict(Locale.parse("en").territories)


def get_by_code(session: Session, code: str) -> Country:
    """A country by its ISO alpha-2 or alpha-3 code, else by one of its names in the six UN
    languages or a common variant ("Lao PDR", "Brasil", "Palestine", "Россия")."""
    text = code.strip()
    if len(text) in (2, 3):
        column = Country.iso3 if len(text) == 3 else Country.iso2
        country = session.scalar(select(Country).where(column == text.upper()))
        if country is not None:
            return country
    found = find(session, text)
    if found is None:
        if len(text) in (2, 3) and not names.candidates(text):
            raise NotFound(f"No country has the code {text.upper()!r}.")
        raise NotFound(names.explain(text))
    return found


def find(session: Session, text: str) -> Country | None:
    """The country a name means (see ``app.countries.names``), or None (unknown, ambiguous)."""
    iso3 = names.resolve(text)
    if iso3 is None:
        return None
    return session.scalar(select(Country).where(Country.iso3 == iso3))


def list_countries(
    session: Session,
    *,
    states_only: bool = False,
    region: str | None = None,
    sub_region: str | None = None,
) -> Sequence[Country]:
    query = select(Country).order_by(Country.name)
    if states_only:
        query = query.where(Country.is_state.is_(True))
    if region:
        query = query.where(Country.region == region)
    if sub_region:
        query = query.where(Country.sub_region == sub_region)
    return session.scalars(query).all()


def choices(session: Session) -> list[tuple[str, str]]:
    """(ISO3, name) of every country, by name, for select boxes (plain rows: forms list all
    of them on every visit)."""
    return [
        (iso3, name)
        for iso3, name in session.execute(select(Country.iso3, Country.name).order_by(Country.name))
    ]


def regions(session: Session) -> list[tuple[str, list[str]]]:
    """(region, [sub-regions]) for filters."""
    rows = session.execute(
        select(Country.region, Country.sub_region)
        .distinct()
        .order_by(Country.region, Country.sub_region)
    ).all()
    out: dict[str, list[str]] = {}
    for region, sub in rows:
        if region:
            out.setdefault(region, [])
            if sub:
                out[region].append(sub)
    return list(out.items())
