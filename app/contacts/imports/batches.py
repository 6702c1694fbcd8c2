"""Imports as batches that can be undone, and column mappings remembered per header row.

An import records what it wrote (``apply.Changes``): the people, organisations and tags it
created with their version, the contact points, positions and tag links it added to existing
records, and the values of the existing records it changed as they were before. Undo puts
all of it back in one transaction, but only while none of it has been touched since: a person
or organisation still has the version the import left (``version`` is their optimistic lock,
bumped by every edit), a contact point or position has not been updated after the import, and
nothing else (a letter, an alias) points at a record the import created. Otherwise it refuses
and lists what changed, so nobody's later work is lost silently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, func, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.contacts import searchindex
from app.contacts.imports import csvfile
from app.contacts.imports.sink import CONTACT_POINTS, ORGANISATIONS, PEOPLE, POSITIONS, TAGS, chunks
from app.errors import Conflict, NotFound
from app.models import (
    ImportBatch,
    ImportBatchStatus,
    ImportMapping,
    Organisation,
    Person,
    User,
)
from app.models.base import utcnow
from app.models.contacts import organisation_tags, person_tags

LINKS = {
    "person_tag": (person_tags, "person_id"),
    "organisation_tag": (organisation_tags, "organisation_id"),
}
# Tables whose rows belong to a person or organisation and are checked by their timestamps;
# any other row pointing at a record the import created means it is in use.
OWNED = {"contact_points", "positions", "person_tags", "organisation_tags"}
SHOWN = 20  # changed records named in the refusal's message (all of them in its errors)


# --- recording -----------------------------------------------------------------------------------


def record(
    session: Session,
    *,
    filename: str,
    counts: dict[str, Any],
    changes: dict[str, Any],
    actor: User | None,
) -> ImportBatch:
    batch = ImportBatch(
        filename=filename[:255],
        counts=counts,
        changes=changes,
        created_by_id=actor.id if actor else None,
    )
    session.add(batch)
    session.flush()
    return batch


def list_batches(session: Session, *, limit: int, offset: int) -> tuple[list[ImportBatch], int]:
    total = session.scalar(select(func.count()).select_from(ImportBatch)) or 0
    rows = session.scalars(
        select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def get_batch(session: Session, batch_id: int) -> ImportBatch:
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"No import has the id {batch_id}.")
    return batch


# --- remembered mappings -------------------------------------------------------------------------


def remembered_mapping(session: Session, headers: list[str]) -> list[str] | None:
    """The mapping last used for a file with these headers (compared folded), if any and if
    it still names only known fields."""
    found = session.scalar(
        select(ImportMapping).where(ImportMapping.header_key == csvfile.header_key(headers))
    )
    if found is None:
        return None
    fields = found.mapping.get("fields")
    if (
        not isinstance(fields, list)
        or len(fields) != len(headers)
        or any(f and f not in csvfile.FIELDS for f in fields)
    ):
        return None
    return [str(f or "") for f in fields]


def remember_mapping(session: Session, headers: list[str], mapping: list[str]) -> None:
    key = csvfile.header_key(headers)
    found = session.scalar(select(ImportMapping).where(ImportMapping.header_key == key))
    if found is None:
        session.add(ImportMapping(header_key=key, headers=headers, mapping={"fields": mapping}))
    elif found.mapping.get("fields") != mapping:
        found.mapping = {"fields": mapping}
        found.headers = headers
    session.flush()


# --- undo ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Changed:
    """A record the import wrote that was changed since, and how."""

    type: str
    id: int
    name: str
    how: str

    def describe(self) -> str:
        what = self.type.replace("_", " ")
        named = f" {self.name}" if self.name else ""
        return f"{what} #{self.id}{named} {self.how}"


def _names(session: Session, kind: str, ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """id -> (version, display name) of the people or organisations that still exist."""
    out: dict[int, tuple[int, str]] = {}
    for chunk in chunks(sorted(set(ids))):
        if kind == "person":
            rows = session.execute(
                select(
                    Person.id,
                    Person.version,
                    Person.given_name,
                    Person.family_name,
                    Person.native_name,
                ).where(Person.id.in_(chunk))
            )
            for pid, version, given, family, native in rows:
                out[pid] = (version, " ".join(p for p in (given, family) if p) or native)
        else:
            for oid, version, name in session.execute(
                select(Organisation.id, Organisation.version, Organisation.name).where(
                    Organisation.id.in_(chunk)
                )
            ):
                out[oid] = (version, name)
    return out


def _stamps(session: Session, table: Table, ids: Sequence[int]) -> dict[int, datetime]:
    out: dict[int, datetime] = {}
    for chunk in chunks(sorted(set(ids))):
        for rid, at in session.execute(
            select(table.c.id, table.c.updated_at).where(table.c.id.in_(chunk))
        ):
            out[rid] = at
    return out


def changed_since(session: Session, batch: ImportBatch) -> list[Changed]:
    """What the import wrote that someone changed after it (empty: it can be undone)."""
    since = batch.created_at
    created = batch.changes.get("created", [])
    updated = batch.changes.get("updated", [])
    out: list[Changed] = []
    for kind in ("person", "organisation"):
        entries = [e for e in created + updated if e["type"] == kind]
        found = _names(session, kind, [e["id"] for e in entries])
        for entry in entries:
            now = found.get(entry["id"])
            if now is None:
                out.append(Changed(kind, entry["id"], "", "was deleted or merged since"))
            elif now[0] != entry["version"]:
                out.append(Changed(kind, entry["id"], now[1], "was edited since"))
    for kind, table in (("contact_point", CONTACT_POINTS), ("position", POSITIONS)):
        entries = [e for e in created + updated if e["type"] == kind]
        stamps = _stamps(session, table, [e["id"] for e in entries])
        for entry in entries:
            at = stamps.get(entry["id"])
            if at is None:
                out.append(Changed(kind, entry["id"], "", "was removed since"))
            elif at > since:
                out.append(Changed(kind, entry["id"], "", "was edited since"))
    out.extend(_used_since(session, batch, created))
    return out


def _used_since(
    session: Session, batch: ImportBatch, created: list[dict[str, Any]]
) -> list[Changed]:
    """Records the import created that gained contact points, positions, letters, aliases...
    after it."""
    from app.contacts.dedupe import references_to

    out: list[Changed] = []
    for kind, target in (("person", PEOPLE), ("organisation", ORGANISATIONS)):
        ids = sorted({e["id"] for e in created if e["type"] == kind})
        if not ids:
            continue
        used: dict[int, set[str]] = {}
        for table, column in references_to(target):
            if table.name in ("person_tags", "organisation_tags"):
                continue
            timed = table.name in OWNED
            for chunk in chunks(ids):
                query = select(column).where(column.in_(chunk))
                if timed:
                    query = query.where(table.c.updated_at > batch.created_at)
                label = table.name.replace("_", " ")
                for (owner,) in session.execute(query.distinct()):
                    used.setdefault(owner, set()).add(f"new {label}" if timed else label)
        names = _names(session, kind, list(used))
        for owner, labels in sorted(used.items()):
            name = names.get(owner, (0, ""))[1]
            out.append(Changed(kind, owner, name, f"has {', '.join(sorted(labels))} since"))
    return out


def undo(session: Session, *, batch_id: int, actor: User | None) -> ImportBatch:
    """Delete what the import created and put back what it changed; refused (409, listing
    them) when any of it was changed since."""
    batch = get_batch(session, batch_id)
    if batch.status == ImportBatchStatus.undone:
        raise Conflict(f"The import of {batch.filename} (#{batch.id}) was undone already.")
    changed = changed_since(session, batch)
    if changed:
        listed = "; ".join(c.describe() for c in changed[:SHOWN])
        more = f"; and {len(changed) - SHOWN} more" if len(changed) > SHOWN else ""
        raise Conflict(
            f"The import of {batch.filename} cannot be undone: {len(changed)} of its records "
            f"were changed since ({listed}{more}). Undo those changes or edit the records by "
            "hand.",
            errors=[{"type": c.type, "id": c.id, "message": c.describe()} for c in changed[:1000]],
        )
    now = utcnow()
    created = batch.changes.get("created", [])
    updated = batch.changes.get("updated", [])
    for kind, (table, owner) in LINKS.items():
        for entry in (e for e in created if e["type"] == kind):
            session.execute(
                delete(table).where(
                    and_(table.c[owner] == entry["id"], table.c.tag_id == entry["tag_id"])
                )
            )
    for kind, table in (("contact_point", CONTACT_POINTS), ("position", POSITIONS)):
        ids = [e["id"] for e in created if e["type"] == kind]
        for chunk in chunks(ids):
            session.execute(delete(table).where(table.c.id.in_(chunk)))
    for entry in (e for e in updated if e["type"] == "contact_point"):
        session.execute(
            update(CONTACT_POINTS)
            .where(CONTACT_POINTS.c.id == entry["id"])
            .values(**entry["before"], updated_at=now)
        )
    for kind, table in (("person", PEOPLE), ("organisation", ORGANISATIONS)):
        for entry in (e for e in updated if e["type"] == kind):
            session.execute(
                update(table)
                .where(table.c.id == entry["id"])
                .values(**entry["before"], version=entry["version"] + 1, updated_at=now)
            )
    for kind, table in (("person", PEOPLE), ("organisation", ORGANISATIONS)):
        ids = [e["id"] for e in created if e["type"] == kind]
        for chunk in chunks(ids):
            session.execute(delete(table).where(table.c.id.in_(chunk)))
    _drop_unused_tags(session, [e["id"] for e in created if e["type"] == "tag"])
    searchindex.refresh_people(session, [e["id"] for e in updated if e["type"] == "person"])
    searchindex.refresh_organisations(
        session, [e["id"] for e in updated if e["type"] == "organisation"]
    )
    batch.status = ImportBatchStatus.undone
    batch.undone_at = now
    batch.undone_by_id = actor.id if actor else None
    session.flush()
    counts = batch.counts.get("created", {})
    audit.record(
        session,
        user=actor,
        action="contacts.import.undo",
        entity_type="contact_import",
        entity_id=batch.id,
        summary=(
            f"Undid the import of {batch.filename}: {counts.get('people', 0)} people and "
            f"{counts.get('organisations', 0)} organisations removed, "
            f"{len([e for e in updated if e['type'] in ('person', 'organisation')])} restored"
        ),
        details={"batch_id": batch.id, "filename": batch.filename},
    )
    return batch


def _drop_unused_tags(session: Session, ids: list[int]) -> None:
    """Tags the import created that nothing carries any more."""
    for chunk in chunks(ids):
        used = set(
            session.scalars(select(person_tags.c.tag_id).where(person_tags.c.tag_id.in_(chunk)))
        ) | set(
            session.scalars(
                select(organisation_tags.c.tag_id).where(organisation_tags.c.tag_id.in_(chunk))
            )
        )
        unused = [i for i in chunk if i not in used]
        if unused:
            session.execute(delete(TAGS).where(TAGS.c.id.in_(unused)))
