"""Letter references: a pattern such as ``{campaign_code}/{year}/{seq:04d}`` checked, filled in
and numbered from a counter per filled-in prefix, never reusing a reference already taken."""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput
from app.models import Letter, ReferenceCounter

PATTERN_FIELDS = {"campaign_code", "prefix", "year", "month", "iso3", "iso2", "campaign_id", "seq"}


def check_pattern(pattern: str) -> None:
    """A reference pattern uses known fields only and numbers letters with ``{seq}``."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]
    except ValueError as exc:
        raise _pattern_error(f"Not a valid pattern: {exc}") from exc
    unknown = sorted({n for n in names if n not in PATTERN_FIELDS})
    if unknown:
        known = ", ".join("{" + f + "}" for f in sorted(PATTERN_FIELDS))
        raise _pattern_error(f"Unknown field {{{unknown[0]}}}; use {known}")
    if "seq" not in names:
        raise _pattern_error("The pattern must number the letters with {seq}, e.g. {seq:04d}")
    try:
        format_reference(pattern, _sample_values(), 1)
    except (ValueError, KeyError, IndexError) as exc:
        raise _pattern_error(f"Not a valid pattern: {exc}") from exc


def _pattern_error(message: str) -> InvalidInput:
    return InvalidInput(
        f"reference_pattern: {message}",
        errors=[{"field": "reference_pattern", "message": message}],
    )


def _sample_values() -> dict[str, Any]:
    return {
        "campaign_code": "CMC",
        "prefix": "CMC",
        "year": 2010,
        "month": 3,
        "iso3": "TJK",
        "iso2": "TJ",
        "campaign_id": 1,
    }


def format_reference(pattern: str, values: dict[str, Any], seq: int) -> str:
    return pattern.format(**values, seq=seq)


def counter_key(pattern: str, values: dict[str, Any]) -> str:
    """The counter a reference draws from: the pattern filled in except for its number."""
    out: list[str] = []
    for literal, name, spec, _ in string.Formatter().parse(pattern):
        out.append(literal)
        if name is None:
            continue
        out.append("#" if name == "seq" else format(values[name], spec or ""))
    return "".join(out)[:120]


def next_numbers(session: Session, key: str, count: int) -> int:
    """Reserve ``count`` numbers under ``key``; returns the first. Concurrency-safe: the
    atomic UPDATE locks the counter row until the transaction ends, and the first insert of a
    key is guarded by its primary key."""
    for _ in range(3):
        last = session.execute(
            update(ReferenceCounter)
            .where(ReferenceCounter.prefix == key)
            .values(last=ReferenceCounter.last + count)
            .returning(ReferenceCounter.last)
        ).scalar_one_or_none()
        if last is not None:
            return int(last) - count + 1
        try:
            with session.begin_nested():
                session.add(ReferenceCounter(prefix=key, last=count))
            return 1
        except IntegrityError:
            continue  # another merge created the counter at the same moment
    raise Conflict("Reference numbers are busy; try again.")


def free_reference(
    session: Session,
    pattern: str,
    key: str,
    values: dict[str, Any],
    reference: str,
    taken: set[str],
) -> str:
    """The reference, or while it is taken (a number typed by hand elsewhere) the next ones
    drawn under its counter."""
    while reference in taken:
        reference = format_reference(pattern, values, next_numbers(session, key, 1))
        taken = taken_references(session, [reference])
    return reference


def taken_references(session: Session, references: Sequence[str]) -> set[str]:
    if not references:
        return set()
    return set(session.scalars(select(Letter.reference).where(Letter.reference.in_(references))))
