"""Other names a person or an organisation is known by (aliases), and finding records by name.

An alias is searched like the record's own names, is matched by imports and by the reading of
replies (``find_people`` / ``find_organisations``), and is how a merged-away record's names stay
findable: a merge turns the dropped record's names into aliases of the kept one.

Names are compared folded (``app.contacts.text.fold``): case, accents, alphabet and
transliteration do not matter, so "Mukhriddin", "MUKHRIDDIN" and "Мухриддин" are one name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.contacts import names, service
from app.contacts.text import fold
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Alias, AliasKind, Organisation, Person, User

Kind = Literal["person", "organisation"]
NAME_MAX = 300
MAX_PER_RECORD = 200  # a record with more other names than this is a data error
# A name shared by more records than this is too common to pick one out (e.g. "Embassy").
MAX_CANDIDATES = 500

ALIAS_KIND_LABELS: dict[AliasKind, str] = {
    AliasKind.spelling: "Other spelling",
    AliasKind.transliteration: "Transliteration",
    AliasKind.former: "Former name",
    AliasKind.abbreviation: "Abbreviation",
    AliasKind.merged: "Name of a merged record",
}


def _owner_column(kind: Kind) -> Any:
    return Alias.person_id if kind == "person" else Alias.organisation_id


def _check_owner(session: Session, kind: Kind, owner_id: int) -> Any:
    model = Person if kind == "person" else Organisation
    record = session.get(model, owner_id)
    if record is None:
        raise NotFound(f"No {kind} has the id {owner_id}.")
    return record


def list_aliases(session: Session, kind: Kind, owner_id: int) -> list[Alias]:
    """A record's aliases, oldest first."""
    return list(
        session.scalars(
            select(Alias).where(_owner_column(kind) == owner_id).order_by(Alias.id)
        ).all()
    )


def own_names(record: Person | Organisation) -> list[str]:
    """The names a record carries itself (not its aliases): what a new alias must differ from,
    and what a merge turns into aliases."""
    if isinstance(record, Person):
        full = " ".join(p for p in (record.given_name, record.family_name) if p)
        return [
            n
            for n in (full, record.native_name, *names.name_form_texts(record.name_forms, None))
            if n
        ]
    return [
        n
        for n in (
            record.name,
            record.short_name,
            record.native_name,
            *names.name_form_texts(None, record.name_forms),
        )
        if n
    ]


def _name_keys(record: Person | Organisation) -> set[str]:
    """Every folded form the record answers to by its own names (a person: either order)."""
    keys = {fold(n) for n in own_names(record)}
    if isinstance(record, Person) and record.given_name and record.family_name:
        keys.add(fold(f"{record.family_name} {record.given_name}"))
    return {k for k in keys if k}


def clean_name(name: str) -> str:
    value = " ".join((name or "").split())
    if not value or not fold(value):
        raise InvalidInput(
            "An alias needs a name (letters or digits).",
            errors=[{"field": "name", "message": "empty"}],
        )
    if len(value) > NAME_MAX:
        raise InvalidInput(
            f"An alias is at most {NAME_MAX} characters.",
            errors=[{"field": "name", "message": f"longer than {NAME_MAX} characters"}],
        )
    return value


def add_alias(
    session: Session,
    *,
    kind: Kind,
    owner_id: int,
    name: str,
    alias_kind: AliasKind = AliasKind.spelling,
    actor: User | None,
) -> Alias:
    """Record another name; refused (409) when the record already answers to it."""
    record = _check_owner(session, kind, owner_id)
    value = clean_name(name)
    key = fold(value)[:NAME_MAX]
    if key in _name_keys(record):
        raise Conflict(f"{value!r} is already this {kind}'s own name.")
    existing = list_aliases(session, kind, owner_id)
    if any(a.folded == key for a in existing):
        raise Conflict(f"This {kind} is already known as {value!r}.")
    if len(existing) >= MAX_PER_RECORD:
        raise InvalidInput(f"A {kind} can have at most {MAX_PER_RECORD} aliases.")
    alias = Alias(name=value, kind=alias_kind, folded=key)
    setattr(alias, "person_id" if kind == "person" else "organisation_id", owner_id)
    session.add(alias)
    session.flush()
    service.refresh_search(session, kind, owner_id)
    audit.record(
        session,
        user=actor,
        action=f"{kind}.alias_add",
        entity_type=kind,
        entity_id=owner_id,
        summary=f"Also known as {value} ({ALIAS_KIND_LABELS[alias_kind].lower()})",
        details={"alias_id": alias.id, "name": value, "kind": alias_kind.value},
    )
    return alias


def remove_alias(
    session: Session, *, kind: Kind, owner_id: int, alias_id: int, actor: User | None
) -> None:
    _check_owner(session, kind, owner_id)
    alias = session.get(Alias, alias_id)
    owner = None if alias is None else getattr(alias, f"{kind}_id")
    if alias is None or owner != owner_id:
        raise NotFound(f"This {kind} has no alias with the id {alias_id}.")
    value = alias.name
    session.delete(alias)
    session.flush()
    service.refresh_search(session, kind, owner_id)
    audit.record(
        session,
        user=actor,
        action=f"{kind}.alias_remove",
        entity_type=kind,
        entity_id=owner_id,
        summary=f"No longer known as {value}",
        details={"alias_id": alias_id, "name": value},
    )


# --- finding records by name ------------------------------------------------------------------


def _candidates(session: Session, model: Any, kind: Kind, key: str) -> list[Any]:
    """Records whose search column holds the key, or with an alias folding to it."""
    by_alias = select(_owner_column(kind)).where(Alias.folded == key)
    # every word somewhere in the column: "jose hernandez" is stored as "jose | hernandez | ..."
    by_words = and_(*[model.search_text.contains(w, autoescape=True) for w in key.split(" ")])
    return list(
        session.scalars(
            select(model)
            .where(or_(by_words, model.id.in_(by_alias)))
            .order_by(model.id)
            .limit(MAX_CANDIDATES)
        ).all()
    )


def _find(session: Session, kind: Kind, name: str) -> list[int]:
    key = fold(name or "")[:NAME_MAX]
    if not key:
        return []
    model = Person if kind == "person" else Organisation
    records = _candidates(session, model, kind, key)
    if not records:
        return []
    aliased = set(
        session.scalars(
            select(_owner_column(kind)).where(
                Alias.folded == key, _owner_column(kind).in_([r.id for r in records])
            )
        )
    )
    return [r.id for r in records if r.id in aliased or key in _name_keys(r)]


def find_people(session: Session, name: str) -> list[int]:
    """Ids of the people whose full name (either order), name in its own script, name in
    another language or alias is ``name`` once folded; oldest first."""
    return _find(session, "person", name)


def find_organisations(session: Session, name: str) -> list[int]:
    """Ids of the organisations whose name, short name, name in its own script or another
    language, or alias is ``name`` once folded; oldest first."""
    return _find(session, "organisation", name)


def alias_owners(session: Session, kind: Kind, names_: Iterable[str]) -> dict[str, list[int]]:
    """For many names at once (imports): folded name -> ids of the records with that alias."""
    keys = sorted({k for k in (fold(n)[:NAME_MAX] for n in names_ if n) if k})
    out: dict[str, list[int]] = {}
    column = _owner_column(kind)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for folded, owner in session.execute(
            select(Alias.folded, column)
            .where(Alias.folded.in_(chunk), column.is_not(None))
            .order_by(Alias.id)
        ):
            ids = out.setdefault(folded, [])
            if owner not in ids:
                ids.append(owner)
    return out


def owners_by_name(session: Session, kind: Kind, names_: Iterable[str]) -> dict[str, list[int]]:
    """For many names at once (imports): each name given -> ids of the records with an alias
    folding like it (oldest alias first); names no alias matches are left out."""
    wanted = [n for n in dict.fromkeys(names_) if n]
    by_key = alias_owners(session, kind, wanted)
    out: dict[str, list[int]] = {}
    for name in wanted:
        ids = by_key.get(fold(name)[:NAME_MAX])
        if ids:
            out[name] = ids
    return out


def aliases_of(session: Session, kind: Kind, owner_ids: Sequence[int]) -> dict[int, list[Alias]]:
    """Aliases of several records (API reads)."""
    column = _owner_column(kind)
    out: dict[int, list[Alias]] = {}
    for alias in session.scalars(
        select(Alias).where(column.in_(list(owner_ids))).order_by(Alias.id)
    ):
        out.setdefault(getattr(alias, f"{kind}_id"), []).append(alias)
    return out
