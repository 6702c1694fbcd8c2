"""Undoing a merge of two people (or organisations) from its audit entry.

The merge's entry holds the dropped record's row and everything it changed (``dedupe.merge``).
Undoing puts the dropped record back under its own id, moves back every row that was moved
(letters, replies, positions, contact points, tag links, aliases, history, saved searches),
re-creates the rows the merge deleted (tag links the kept record also had, contact points and
positions folded as identical), removes the aliases the merge added and gives the kept record
back the fields it took from the dropped one.

It is refused (409) when that is no longer safe:

* the kept record is gone (deleted, or itself merged into another since): there is nothing to
  take the rows back from;
* the dropped record's id is in use again, or the merge was already undone;
* rows the merge moved now belong to a third record (moved by a later merge or an edit):
  taking them back would take them from that record;
* the merge was made before merges kept what undoing needs.

Changes made to the kept record since are kept: a field edited since the merge keeps its new
value (the dropped record gets its own value back either way); rows added to the kept record
since stay with it; rows the merge moved that were deleted since stay deleted (counted).

Deduplication is three modules: ``duplicates`` finds likely pairs, ``dedupe`` merges a pair and
``unmerge`` undoes a merge from its audit entry. (The letters-from-a-template feature, also
called a merge, is ``app.mailmerge``.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.contacts import dedupe
from app.contacts import service as contacts_service
from app.errors import Conflict, NotFound
from app.models import Alias, AuditEntry, Base, ContactPoint, Segment, User
from app.models.base import utcnow

Kind = Literal["person", "organisation"]
MERGE_ACTIONS = {"person.merge": "person", "organisation.merge": "organisation"}


@dataclass
class UndoReport:
    kind: Kind
    kept_id: int
    restored_id: int
    restored_name: str
    moved_back: dict[str, int] = field(default_factory=dict)
    recreated: dict[str, int] = field(default_factory=dict)
    gone: dict[str, int] = field(default_factory=dict)  # moved rows deleted since the merge
    kept_edits: list[str] = field(default_factory=list)  # fields edited since: left as they are


def get_merge(session: Session, audit_id: int) -> AuditEntry:
    entry = session.get(AuditEntry, audit_id)
    if entry is None or entry.action not in MERGE_ACTIONS:
        raise NotFound(f"No merge is recorded under the audit entry {audit_id}.")
    return entry


def undone_by(session: Session, entry: AuditEntry) -> AuditEntry | None:
    """The entry that undid this merge, if one did."""
    kind = MERGE_ACTIONS[entry.action]
    for other in session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == f"{kind}.merge_undo", AuditEntry.entity_type == kind)
        .where(AuditEntry.entity_id == str((entry.details or {}).get("kept_id")))
    ):
        if (other.details or {}).get("merge_audit_id") == entry.id:
            return other
    return None


def undoable(session: Session, kind: Kind, record_id: int, limit: int = 10) -> list[AuditEntry]:
    """The merges into this record that have undo data and were not undone (newest first)."""
    entries, _ = audit.list_entries(
        session, entity_type=kind, entity_id=record_id, action=f"{kind}.merge", limit=limit
    )
    return [
        e
        for e in entries
        if "undo" in (e.details or {})
        and str((e.details or {}).get("kept_id")) == str(record_id)
        and undone_by(session, e) is None
    ]


def _table(name: str) -> Table:
    table = Base.metadata.tables.get(name)
    if table is None:
        raise Conflict(f"The merge refers to a table that no longer exists ({name}).")
    return table


def _check(session: Session, entry: AuditEntry, kind: Kind, keep_id: int, drop_id: int) -> None:
    details = entry.details or {}
    if "undo" not in details or "dropped" not in details:
        raise Conflict(
            "This merge was made before merges kept what is needed to undo them; it cannot be "
            "undone. Re-create the record by hand if needed."
        )
    done = undone_by(session, entry)
    if done is not None:
        raise Conflict(f"This merge was already undone (audit entry {done.id}).")
    model = dedupe._model(kind)
    if session.get(model, keep_id) is None:
        raise Conflict(
            f"The kept {kind} (#{keep_id}) no longer exists: it was deleted or merged into "
            "another record since. Undo that first, if it was a merge."
        )
    if session.get(model, drop_id) is not None:
        raise Conflict(f"The id {drop_id} of the merged-away {kind} is in use again.")
    elsewhere: list[str] = []
    for label, ids in details["undo"]["moved"].items():
        table_name, column_name = label.split(".", 1)
        table = _table(table_name)
        column = table.c[column_name]
        plain = [i for i in ids if not isinstance(i, dict)]
        for start in range(0, len(plain), 500):
            chunk = plain[start : start + 500]
            count = session.scalar(
                select(func.count())
                .select_from(table)
                .where(table.c.id.in_(chunk), column.is_not(None), column != keep_id)
            )
            if count:
                elsewhere.append(f"{count} in {table_name}")
    if elsewhere:
        raise Conflict(
            f"Rows this merge moved to #{keep_id} now belong to another record "
            f"({', '.join(elsewhere)}), moved by a later merge or edit; undoing would take "
            "them from it. Nothing was changed."
        )


def _move_back(
    session: Session, label: str, ids: list[Any], keep_id: int, drop_id: int
) -> tuple[int, int]:
    """Rows moved by the merge back to the restored record: (moved back, deleted since)."""
    table_name, column_name = label.split(".", 1)
    table = _table(table_name)
    column = table.c[column_name]
    changes: dict[str, Any] = {column_name: drop_id}
    if "version" in table.c:
        changes["version"] = table.c.version + 1
    if "updated_at" in table.c:
        changes["updated_at"] = utcnow()
    done = 0
    plain = [i for i in ids if not isinstance(i, dict)]
    for start in range(0, len(plain), 500):
        chunk = plain[start : start + 500]
        result = session.execute(
            update(table).where(table.c.id.in_(chunk), column == keep_id).values(**changes)
        )
        done += int(getattr(result, "rowcount", 0) or 0)
    for key in (i for i in ids if isinstance(i, dict)):
        result = session.execute(
            update(table)
            .where(column == keep_id, *[table.c[k] == v for k, v in key.items()])
            .values(**changes)
        )
        done += int(getattr(result, "rowcount", 0) or 0)
    return done, len(ids) - done


def _recreate(session: Session, table_name: str, rows: list[dict[str, Any]]) -> int:
    """Rows the merge deleted, inserted again (under their id when it is still free)."""
    table = _table(table_name)
    made = 0
    for data in rows:
        row = dedupe.row_from_json(table, data)
        if "id" in row and session.scalar(select(table.c.id).where(table.c.id == row["id"])):
            row.pop("id")
        session.execute(insert(table).values(**row))
        made += 1
    return made


def _restore_fields(
    session: Session, kind: Kind, keep_id: int, changed: dict[str, Any]
) -> list[str]:
    """The kept record's fields the merge changed go back, unless edited since."""
    table = cast(Table, dedupe._model(kind).__table__)
    current = dedupe.rows_of(session, table, table.c.id == keep_id)[0]
    restore: dict[str, Any] = {}
    edited: list[str] = []
    for name, (before, after) in changed.items():
        if current.get(name) == after:
            restore[name] = before
        else:
            edited.append(name)
    if restore:
        record = session.get(dedupe._model(kind), keep_id)
        values = dedupe.row_from_json(table, restore)
        for name, value in values.items():
            setattr(record, name, value)
        session.flush()
    return edited


def undo(session: Session, *, audit_id: int, actor: User | None) -> UndoReport:
    """Undo the merge recorded in audit entry ``audit_id`` (see the module's docstring)."""
    entry = get_merge(session, audit_id)
    kind = cast(Kind, MERGE_ACTIONS[entry.action])
    details = entry.details or {}
    keep_id = int(details.get("kept_id") or 0)
    drop_id = int(details.get("dropped_id") or 0)
    _check(session, entry, kind, keep_id, drop_id)
    data = details["undo"]
    model = dedupe._model(kind)
    table = cast(Table, model.__table__)
    session.flush()
    # the record first, under its own id, so every row can point at it again
    session.execute(insert(table).values(**dedupe.row_from_json(table, details["dropped"]["row"])))
    report = UndoReport(kind, keep_id, drop_id, str(details.get("dropped_name", "")))
    for label, ids in data["moved"].items():
        back, gone = _move_back(session, label, ids, keep_id, drop_id)
        if back:
            report.moved_back[label] = back
        if gone:
            report.gone[label] = gone
    for table_name, rows in data["deleted"].items():
        report.recreated[table_name] = _recreate(session, table_name, rows)
    session.expire_all()  # the rows above changed under the session's objects
    _restore_preferred(session, kind, drop_id, details["dropped"].get("contact_points", []))
    if data["alias_ids"]:
        session.execute(delete(Alias).where(Alias.id.in_(data["alias_ids"])))
    if data["audit_ids"]:
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.id.in_(data["audit_ids"]), AuditEntry.entity_id == str(keep_id))
            .values(entity_id=str(drop_id))
        )
    for segment in session.scalars(select(Segment).where(Segment.id.in_(data["segment_ids"]))):
        filters = dict(segment.filters or {})
        if filters.get("organisation_id") == keep_id:
            segment.filters = {**filters, "organisation_id": drop_id}
    session.flush()
    session.expire_all()
    report.kept_edits = _restore_fields(session, kind, keep_id, data["keep_fields"])
    for record_id in (keep_id, drop_id):
        if kind == "person":
            person = contacts_service.get_person(session, record_id)
            person.sort_name = (
                " ".join(p for p in (person.family_name, person.given_name) if p)
                or person.native_name
            ).lower()[:250]
        contacts_service.refresh_search(session, kind, record_id)
    kept = session.get(model, keep_id)
    keep_name = _name(kind, kept)
    audit.record(
        session,
        user=actor,
        action=f"{kind}.merge_undo",
        entity_type=kind,
        entity_id=keep_id,
        summary=f"Undid the merge of {report.restored_name} (#{drop_id}) into {keep_name}",
        details={
            "merge_audit_id": entry.id,
            "restored_id": drop_id,
            "moved_back": report.moved_back,
            "recreated": report.recreated,
            "gone": report.gone,
            "kept_edits": report.kept_edits,
        },
    )
    audit.record(
        session,
        user=actor,
        action=f"{kind}.restore",
        entity_type=kind,
        entity_id=drop_id,
        summary=f"Restored by undoing its merge into {keep_name} (#{keep_id})",
        details={"merge_audit_id": entry.id},
    )
    return report


def _restore_preferred(
    session: Session, kind: Kind, drop_id: int, points: list[dict[str, Any]]
) -> None:
    """The restored record's contact points get back the preferred flag the merge may have
    cleared (a kept point of the same kind was preferred)."""
    for data in points:
        cp = session.get(ContactPoint, data.get("id"))
        owner = None if cp is None else getattr(cp, f"{kind}_id")
        if cp is not None and owner == drop_id and bool(data.get("preferred")):
            cp.preferred = True
    session.flush()


def _name(kind: Kind, record: Any) -> str:
    if record is None:
        return ""
    return contacts_service.display_person(record) if kind == "person" else record.name
