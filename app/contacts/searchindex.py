"""Recomputing the directory's search columns (``search_text``) and aliases' folded forms.

Records keep their search column up to date as they are edited; this rebuilds every one after
the folding rules change (``demarche contacts reindex``), in chunks of plain rows so 100,000
contacts take seconds and little memory. Derived data only: versions are not bumped, so no
edit in progress is refused as stale because of a reindex."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from app.contacts import service
from app.contacts.text import fold
from app.models import Alias, ContactKind, ContactPoint, Organisation, Person

CHUNK = 2000
ALIAS_FOLDED_MAX = 300

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class ReindexReport:
    people: int  # rows whose search column changed
    organisations: int
    aliases: int  # aliases whose folded form changed


def _grouped(rows: Iterable[tuple[Any, ...]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for owner, value in rows:
        if owner is not None and value:
            out.setdefault(owner, []).append(value)
    return out


def _extras(session: Session, owner: Any, alias_owner: Any, ids: list[int]) -> dict[int, list[str]]:
    """Per record: its aliases (oldest first), then its email addresses."""
    aliases = _grouped(
        session.execute(
            select(alias_owner, Alias.name).where(alias_owner.in_(ids)).order_by(Alias.id)
        )
    )
    emails = _grouped(
        session.execute(
            select(owner, ContactPoint.value)
            .where(owner.in_(ids), ContactPoint.kind == ContactKind.email)
            .order_by(ContactPoint.id)
        )
    )
    return {i: [*aliases.get(i, []), *emails.get(i, [])] for i in ids}


def _write(session: Session, table: Table, changed: list[dict[str, Any]]) -> None:
    if changed:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(search_text=bindparam("b_text")),
            changed,
        )


def refresh_people(session: Session, ids: Sequence[int]) -> int:
    """Recompute these people's search columns (names, name forms, aliases, emails); returns
    how many changed. For bulk writers (imports) that bypass the ORM."""
    table = Person.__table__
    assert isinstance(table, Table)
    changed_total = 0
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        rows = session.execute(
            select(
                Person.id,
                Person.given_name,
                Person.family_name,
                Person.native_name,
                Person.name_forms,
                Person.search_text,
            ).where(Person.id.in_(chunk))
        ).all()
        extras = _extras(session, ContactPoint.person_id, Alias.person_id, chunk)
        changed = []
        for r in rows:
            text = service.person_search_parts(
                r.given_name, r.family_name, r.native_name, r.name_forms, extras[r.id]
            )
            if text != r.search_text:
                changed.append({"b_id": r.id, "b_text": text})
        _write(session, table, changed)
        changed_total += len(changed)
    return changed_total


def refresh_organisations(session: Session, ids: Sequence[int]) -> int:
    """Recompute these organisations' search columns; returns how many changed."""
    table = Organisation.__table__
    assert isinstance(table, Table)
    changed_total = 0
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        rows = session.execute(
            select(
                Organisation.id,
                Organisation.name,
                Organisation.short_name,
                Organisation.native_name,
                Organisation.office_title,
                Organisation.host_city,
                Organisation.name_forms,
                Organisation.search_text,
            ).where(Organisation.id.in_(chunk))
        ).all()
        extras = _extras(session, ContactPoint.organisation_id, Alias.organisation_id, chunk)
        changed = []
        for r in rows:
            text = service.organisation_search_parts(
                r.name,
                r.short_name,
                r.native_name,
                r.office_title,
                r.host_city,
                r.name_forms,
                extras[r.id],
            )
            if text != r.search_text:
                changed.append({"b_id": r.id, "b_text": text})
        _write(session, table, changed)
        changed_total += len(changed)
    return changed_total


def _all(
    session: Session,
    column: Any,
    refresh: Callable[[Session, Sequence[int]], int],
    what: str,
    progress: Progress | None,
) -> int:
    last, total = 0, 0
    while True:
        ids = list(
            session.scalars(select(column).where(column > last).order_by(column).limit(CHUNK))
        )
        if not ids:
            return total
        total += refresh(session, ids)
        last = ids[-1]
        if progress is not None:
            progress(what, last)


def _refold_aliases(session: Session) -> int:
    table = Alias.__table__
    assert isinstance(table, Table)
    changed = [
        {"b_id": alias_id, "b_folded": fold(name)[:ALIAS_FOLDED_MAX]}
        for alias_id, name, folded in session.execute(select(Alias.id, Alias.name, Alias.folded))
        if fold(name)[:ALIAS_FOLDED_MAX] != folded
    ]
    if changed:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(folded=bindparam("b_folded")),
            changed,
        )
    return len(changed)


def reindex(session: Session, progress: Progress | None = None) -> ReindexReport:
    """Bring every alias's folded form and every search column up to the current rules."""
    session.flush()
    aliases = _refold_aliases(session)
    people = _all(session, Person.id, refresh_people, "people", progress)
    organisations = _all(session, Organisation.id, refresh_organisations, "organisations", progress)
    session.expire_all()
    return ReindexReport(people=people, organisations=organisations, aliases=aliases)
