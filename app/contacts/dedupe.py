"""Merging two duplicate people (or organisations) into one.

Every row that points at the dropped record is found by walking ``Base.metadata`` for foreign
keys to ``people.id`` / ``organisations.id`` — letters, replies, positions, contact points, tag
links and whatever tables are added later — and re-pointed at the kept one, so letters and
replies of both survive. Rows that would then collide with a unique constraint (the same tag
twice) are dropped first; identical contact points and positions are folded into one.

Deduplication is three modules: ``duplicates`` finds likely pairs, ``dedupe`` merges a pair and
``unmerge`` undoes a merge from its audit entry. (The letters-from-a-template feature, also
called a merge, is ``app.mailmerge``.)"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, cast

from pydantic import Field
from sqlalchemy import Column, Date, DateTime, Table, and_, delete, func, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.contacts import aliases
from app.contacts import service as contacts_service
from app.contacts.schemas import MergeRequest
from app.contacts.text import fold
from app.errors import Conflict, InvalidInput, NotFound
from app.models import (
    Alias,
    AliasKind,
    AuditEntry,
    Base,
    ContactPoint,
    Organisation,
    Person,
    Position,
    Segment,
    Tag,
    User,
)
from app.models.base import utcnow
from app.models.contacts import organisation_tags, person_tags

Kind = Literal["person", "organisation"]

PERSON_FIELDS: dict[str, str] = {
    "honorific": "Honorific",
    "given_name": "Given name",
    "family_name": "Family name",
    "native_name": "Name in its own script",
    "gender": "Gender (for salutations)",
    "preferred_language": "Preferred language",
    "notes": "Notes",
    "no_email": "Do not email",
    "no_post": "Do not post",
}
ORGANISATION_FIELDS: dict[str, str] = {
    "name": "Name",
    "short_name": "Short name",
    "native_name": "Name in its own script",
    "type": "Type",
    "parent_id": "Parent organisation",
    "country_id": "Country",
    "host_country_id": "Host country",
    "host_city": "Host city",
    "un_location": "UN location",
    "office_title": "Office title",
    "preferred_language": "Preferred language",
    "website": "Website",
    "notes": "Notes",
    "no_email": "Do not email",
    "no_post": "Do not post",
}


class MergeCommand(MergeRequest):
    """Which record to keep, and for which fields to take the dropped record's value instead.

    Fields not listed keep the kept record's value, or the dropped record's when the kept one
    is blank. A do-not-contact flag set on either record stays set unless chosen otherwise."""

    take_from_dropped: list[str] = Field(default_factory=list, max_length=20)
    keep_version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="The kept record's version you compared"
    )
    drop_version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="The dropped record's version you compared"
    )


@dataclass(frozen=True)
class FieldChoice:
    name: str
    label: str
    keep_value: Any
    drop_value: Any
    default: Literal["keep", "drop"]


@dataclass(frozen=True)
class Reference:
    table: str
    column: str
    count: int


@dataclass(frozen=True)
class MergePreview:
    kind: Kind
    keep_id: int
    drop_id: int
    keep_version: int
    drop_version: int
    keep_name: str
    drop_name: str
    fields: list[FieldChoice]
    references: list[Reference]


def _model(kind: Kind) -> Any:
    return Person if kind == "person" else Organisation


def _fields(kind: Kind) -> dict[str, str]:
    return PERSON_FIELDS if kind == "person" else ORGANISATION_FIELDS


def references_to(target: Table) -> list[tuple[Table, Column[Any]]]:
    """Every (table, column) with a foreign key to ``target.id``, in any model known now."""
    out = []
    for table in Base.metadata.sorted_tables:
        for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
            if fk.column.table is target and fk.column.name == "id":
                out.append((table, fk.parent))
    return out


def _name(kind: Kind, obj: Any) -> str:
    return contacts_service.display_person(obj) if kind == "person" else obj.name


def _load(session: Session, kind: Kind, record_id: int) -> Any:
    obj = session.get(_model(kind), record_id, populate_existing=True)
    if obj is None:
        raise NotFound(f"No {kind} has the id {record_id}.")
    return obj


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == {}


def _default(name: str, keep: Any, drop: Any) -> Literal["keep", "drop"]:
    if name in ("no_email", "no_post"):
        return "drop" if drop and not keep else "keep"
    if name == "gender":
        return "drop" if keep == "unspecified" and drop != "unspecified" else "keep"
    if name == "preferred_language":
        return "drop" if keep in ("", "en") and drop not in ("", "en") else "keep"
    return "drop" if _blank(keep) and not _blank(drop) else "keep"


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def preview(session: Session, *, kind: Kind, keep_id: int, drop_id: int) -> MergePreview:
    """Both records side by side with the default choice per field, and what will move."""
    if keep_id == drop_id:
        raise InvalidInput("Choose two different records to merge.")
    keep, drop = _load(session, kind, keep_id), _load(session, kind, drop_id)
    fields = []
    for name, label in _fields(kind).items():
        kv, dv = _plain(getattr(keep, name)), _plain(getattr(drop, name))
        fields.append(FieldChoice(name, label, kv, dv, _default(name, kv, dv)))
    refs = []
    for table, column in references_to(_model(kind).__table__):
        count = session.scalar(select(func.count()).select_from(table).where(column == drop_id))
        if count:
            refs.append(Reference(table.name, column.name, int(count or 0)))
    return MergePreview(
        kind,
        keep_id,
        drop_id,
        keep.version,
        drop.version,
        _name(kind, keep),
        _name(kind, drop),
        fields,
        refs,
    )


def _unique_sets(table: Table, column: Column[Any]) -> list[list[Column[Any]]]:
    """The other columns of each unique key (primary or unique constraint/index) that holds
    ``column``: re-pointing a row may collide with a row the kept record already has."""
    sets: list[list[Column[Any]]] = []
    keys: list[list[Column[Any]]] = [list(table.primary_key.columns)]
    for constraint in table.constraints:
        if constraint.__class__.__name__ == "UniqueConstraint":
            keys.append(list(constraint.columns))  # type: ignore[attr-defined]
    keys.extend(list(index.columns) for index in table.indexes if index.unique)
    for cols in keys:
        if any(c is column for c in cols):
            sets.append([c for c in cols if c is not column])
    return sets


@dataclass
class Moves:
    """What re-pointing one column did, for undoing it: the rows moved (their ids, or for a
    table keyed otherwise the rest of their key) and the rows deleted as collisions."""

    count: int = 0
    ids: list[Any] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)


def _key_columns(table: Table, column: Column[Any]) -> list[Column[Any]]:
    """How a row is found again: its id, else the rest of its primary key."""
    if "id" in table.c and list(table.primary_key.columns) == [table.c.id]:
        return [table.c.id]
    return [c for c in table.primary_key.columns if c is not column]


def _repoint(
    session: Session, table: Table, column: Column[Any], keep_id: int, drop_id: int
) -> Moves:
    moves = Moves()
    for others in _unique_sets(table, column):
        if not others:
            # one row per record at most: the kept record's row wins
            if session.scalar(select(func.count()).select_from(table).where(column == keep_id)):
                moves.deleted += rows_of(session, table, column == drop_id)
                session.execute(delete(table).where(column == drop_id))
            continue
        taken = session.execute(select(*others).where(column == keep_id)).all()
        for values in taken:
            clash = and_(column == drop_id, *[c == v for c, v in zip(others, values, strict=True)])
            moves.deleted += rows_of(session, table, clash)
            session.execute(delete(table).where(clash))
    condition = column == drop_id
    if "id" in table.c and any(fk.column.table is table for fk in column.foreign_keys):
        # a self-reference (organisations.parent_id): the kept record cannot be its own parent
        condition = and_(condition, table.c.id != keep_id)
    keys = _key_columns(table, column)
    moves.ids = [
        row[0]
        if len(keys) == 1 and keys[0].name == "id"
        else {c.name: row[i] for i, c in enumerate(keys)}
        for row in session.execute(select(*keys).where(condition))
    ]
    changes: dict[str, Any] = {column.name: keep_id}
    if "version" in table.c:
        changes["version"] = table.c.version + 1
    if "updated_at" in table.c:
        changes["updated_at"] = utcnow()
    result = session.execute(update(table).where(condition).values(**changes))
    moves.count = int(getattr(result, "rowcount", 0) or 0)
    return moves


def _fold_duplicates(
    session: Session, kind: Kind, keep_id: int, own_ids: set[int]
) -> list[tuple[str, dict[str, Any]]]:
    """Identical contact points and positions, now both on the kept record, become one;
    returns the (table, row) deleted, as they were just before."""
    owner = ContactPoint.person_id if kind == "person" else ContactPoint.organisation_id
    seen: dict[tuple[Any, ...], ContactPoint] = {}
    removed: list[tuple[str, dict[str, Any]]] = []
    points = session.scalars(
        select(ContactPoint)
        .where(owner == keep_id)
        .order_by(ContactPoint.id)
        .execution_options(populate_existing=True)
    ).all()
    # the kept record's own points first, so their labels and preferred flags win
    for cp in sorted(points, key=lambda p: (p.id not in own_ids, p.id)):
        key = (
            cp.kind,
            cp.value.lower(),
            cp.street_address.strip().lower(),
            cp.city.strip().lower(),
            cp.postal_code.strip().lower(),
            cp.country_code,
        )
        if key in seen:
            removed.append(("contact_points", _orm_row(cp)))
            session.delete(cp)
        else:
            seen[key] = cp
    preferred: set[Any] = set()
    for cp in sorted(seen.values(), key=lambda p: (p.id not in own_ids, p.id)):
        if cp.preferred:
            if cp.kind in preferred:
                cp.preferred = False
            preferred.add(cp.kind)
    column = Position.person_id if kind == "person" else Position.organisation_id
    held: set[tuple[Any, ...]] = set()
    for pos in session.scalars(
        select(Position)
        .where(column == keep_id)
        .order_by(Position.id)
        .execution_options(populate_existing=True)
    ):
        pkey = (
            pos.person_id,
            pos.organisation_id,
            pos.title.strip().lower(),
            pos.start_date,
            pos.end_date,
        )
        if pkey in held:
            removed.append(("positions", _orm_row(pos)))
            session.delete(pos)
        held.add(pkey)
    session.flush()
    return removed


def _resolve_parent(session: Session, keep: Organisation, drop_parent: int | None) -> None:
    if keep.parent_id == keep.id:
        keep.parent_id = drop_parent if drop_parent != keep.id else None
    # walking up from the kept organisation must never come back to it
    seen = {keep.id}
    parent = keep.parent_id
    while parent is not None:
        if parent in seen:
            keep.parent_id = None
            return
        seen.add(parent)
        parent = session.scalar(select(Organisation.parent_id).where(Organisation.id == parent))


def merge(session: Session, *, data: MergeCommand, actor: User | None) -> Any:
    """Fold ``drop_id`` into ``keep_id``; returns the kept record.

    The dropped record's names become aliases (kind ``merged``) of the kept one, and the audit
    entry holds everything ``unmerge.undo`` needs to restore it: its row, contact points,
    positions, tags and aliases as they were, every row moved (by id) and every row deleted."""
    kind: Kind = data.kind
    fields = _fields(kind)
    unknown = sorted(set(data.take_from_dropped) - set(fields))
    if unknown:
        raise InvalidInput(
            f"Not a field that can be merged: {', '.join(unknown)}.",
            errors=[{"field": "take_from_dropped", "message": f"unknown: {', '.join(unknown)}"}],
        )
    model = _model(kind)
    model_table = cast(Table, model.__table__)
    keep, drop = _load(session, kind, data.keep_id), _load(session, kind, data.drop_id)
    for obj, seen in ((keep, data.keep_version), (drop, data.drop_version)):
        if seen is not None and obj.version != seen:
            raise Conflict(
                f"{_name(kind, obj)} (#{obj.id}) was changed by someone else after you compared "
                f"the two records (version {seen}, now {obj.version}). Nothing was merged: "
                "compare them again."
            )
    chosen: dict[str, Any] = {}
    taken: list[str] = []
    for name in fields:
        kv, dv = getattr(keep, name), getattr(drop, name)
        side = "drop" if name in data.take_from_dropped else _default(name, _plain(kv), _plain(dv))
        chosen[name] = dv if side == "drop" else kv
        if side == "drop" and kv != dv:
            taken.append(name)
    drop_name, keep_name = _name(kind, drop), _name(kind, keep)
    drop_parent = drop.parent_id if kind == "organisation" else None
    if kind == "organisation" and chosen["parent_id"] == drop.id:
        chosen["parent_id"] = drop_parent
    owner = ContactPoint.person_id if kind == "person" else ContactPoint.organisation_id
    own_points = set(session.scalars(select(ContactPoint.id).where(owner == keep.id)))
    session.flush()
    names_before = aliases.own_names(keep) + aliases.own_names(drop)
    dropped = _snapshot(session, kind, model_table, drop.id)
    keep_before = rows_of(session, model_table, model_table.c.id == keep.id)[0]
    session.expunge(drop)
    moved: dict[str, int] = {}
    moved_ids: dict[str, list[Any]] = {}
    deleted: dict[str, list[dict[str, Any]]] = {}
    for table, column in references_to(model_table):
        moves = _repoint(session, table, column, keep.id, drop.id)
        label = f"{table.name}.{column.name}"
        if moves.count:
            moved[label] = moves.count
            moved_ids[label] = moves.ids
        if moves.deleted:
            deleted.setdefault(table.name, []).extend(moves.deleted)
    segments = _repoint_segments(session, kind, keep.id, drop.id)
    if segments:
        moved["segments.filters"] = len(segments)
    history_ids = list(
        session.scalars(
            select(AuditEntry.id).where(
                AuditEntry.entity_type == kind, AuditEntry.entity_id == str(drop.id)
            )
        )
    )
    history = session.execute(
        update(AuditEntry)
        .where(AuditEntry.entity_type == kind, AuditEntry.entity_id == str(drop.id))
        .values(entity_id=str(keep.id))
    )
    moved["audit_log"] = int(getattr(history, "rowcount", 0) or 0)
    session.execute(delete(model_table).where(model_table.c.id == drop.id))
    session.expire_all()
    keep = _load(session, kind, keep.id)
    for name, value in chosen.items():
        if getattr(keep, name) != value:
            setattr(keep, name, value)
    if kind == "organisation":
        _resolve_parent(session, keep, drop_parent)
    session.flush()
    folded_rows = _fold_duplicates(session, kind, keep.id, own_points)
    owner_column = "person_id" if kind == "person" else "organisation_id"
    for table_name, row in folded_rows:
        # a folded row that came from the dropped record is given back to it on undo
        if row["id"] in moved_ids.get(f"{table_name}.{owner_column}", ()):
            row[owner_column] = drop.id
        deleted.setdefault(table_name, []).append(row)
    if kind == "person":
        keep = contacts_service.get_person(session, keep.id)
        keep.sort_name = (
            " ".join(p for p in (keep.family_name, keep.given_name) if p) or keep.native_name
        ).lower()[:250]
    session.flush()
    alias_ids = _merged_aliases(session, kind, keep, names_before)
    contacts_service.refresh_search(session, kind, keep.id)
    keep = _load(session, kind, keep.id)
    keep_after = rows_of(session, model_table, model_table.c.id == keep.id)[0]
    changed_fields = {
        name: [keep_before[name], keep_after[name]]
        for name in fields
        if keep_before.get(name) != keep_after.get(name)
    }
    audit.record(
        session,
        user=actor,
        action=f"{kind}.merge",
        entity_type=kind,
        entity_id=keep.id,
        summary=f"Merged {drop_name} (#{data.drop_id}) into {keep_name}",
        details={
            "kept_id": keep.id,
            "dropped_id": data.drop_id,
            "dropped_name": drop_name,
            "taken_from_dropped": taken,
            "moved": moved,
            "duplicates_folded": len(folded_rows),
            "dropped": dropped,
            "undo": {
                "version": UNDO_FORMAT,
                "keep_fields": changed_fields,
                "keep_version": keep.version,
                "moved": moved_ids,
                "deleted": deleted,
                "audit_ids": history_ids,
                "segment_ids": segments,
                "alias_ids": alias_ids,
            },
        },
    )
    return keep


UNDO_FORMAT = 1


def _snapshot(session: Session, kind: Kind, table: Table, drop_id: int) -> dict[str, Any]:
    """The dropped record as it was: its row, contact points, positions, tags and aliases."""
    owner = "person_id" if kind == "person" else "organisation_id"
    points = cast(Table, ContactPoint.__table__)
    positions = cast(Table, Position.__table__)
    alias_table = cast(Table, Alias.__table__)
    tag_link = person_tags if kind == "person" else organisation_tags
    return {
        "row": rows_of(session, table, table.c.id == drop_id)[0],
        "contact_points": rows_of(session, points, points.c[owner] == drop_id),
        "positions": rows_of(session, positions, positions.c[owner] == drop_id),
        "tags": sorted(
            session.scalars(
                select(Tag.name)
                .join(tag_link, tag_link.c.tag_id == Tag.id)
                .where(tag_link.c[owner] == drop_id)
            )
        ),
        "aliases": rows_of(session, alias_table, alias_table.c[owner] == drop_id),
    }


def _merged_aliases(session: Session, kind: Kind, keep: Any, names_before: list[str]) -> list[int]:
    """Names either record carried before the merge that the kept one no longer answers to
    (the dropped record's, and the kept one's own where a field was taken from the dropped)
    become aliases of kind ``merged``; returns their ids."""
    known = {fold(n) for n in aliases.own_names(keep)}
    if kind == "person" and keep.given_name and keep.family_name:
        known.add(fold(f"{keep.family_name} {keep.given_name}"))
    known |= {a.folded for a in aliases.list_aliases(session, kind, keep.id)}
    made: list[int] = []
    for name in names_before:
        value = " ".join(name.split())[: aliases.NAME_MAX]
        key = fold(value)[: aliases.NAME_MAX]
        if not key or key in known:
            continue
        known.add(key)
        alias = Alias(name=value, kind=AliasKind.merged, folded=key)
        setattr(alias, f"{kind}_id", keep.id)
        session.add(alias)
        session.flush()
        made.append(alias.id)
    return made


# --- rows as JSON (the audit entry keeps them for undoing) ---------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def rows_of(session: Session, table: Table, condition: Any) -> list[dict[str, Any]]:
    """Whole rows, every column, as JSON-ready dicts."""
    return [
        {key: _json_value(value) for key, value in row.items()}
        for row in session.execute(select(table).where(condition)).mappings()
    ]


def _orm_row(obj: Any) -> dict[str, Any]:
    table = cast(Table, type(obj).__table__)
    return {c.name: _json_value(getattr(obj, c.key, None)) for c in table.columns}


def _python_type(column: Column[Any]) -> Any:
    """datetime or date for a column holding them (through a TypeDecorator too), else None."""
    for type_ in (column.type, getattr(column.type, "impl_instance", None)):
        if isinstance(type_, DateTime):
            return datetime
        if isinstance(type_, Date):
            return date
    return None


def row_from_json(table: Table, data: dict[str, Any]) -> dict[str, Any]:
    """A row read back from JSON, with dates and times as the column types want them."""
    out: dict[str, Any] = {}
    for column in table.columns:
        if column.name not in data:
            continue
        value = data[column.name]
        kind = _python_type(column)
        if isinstance(value, str) and kind is datetime:
            value = datetime.fromisoformat(value)
        elif isinstance(value, str) and kind is date:
            value = date.fromisoformat(value)
        out[column.name] = value
    return out


def _repoint_segments(session: Session, kind: Kind, keep_id: int, drop_id: int) -> list[int]:
    """Saved searches filtered on the dropped organisation follow it to the kept one; returns
    the segments changed."""
    if kind != "organisation":
        return []
    changed = []
    for segment in session.scalars(select(Segment).order_by(Segment.id)):
        filters = dict(segment.filters or {})
        if filters.get("organisation_id") == drop_id:
            filters["organisation_id"] = keep_id
            segment.filters = filters
            changed.append(segment.id)
    session.flush()
    return changed


def display(person: Person) -> str:
    return contacts_service.display_person(person)
