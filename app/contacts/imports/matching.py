"""The plan: each checked row matched against earlier rows of the file and against the
directory (same email, same name and organisation, or a known alias), with what to do with each
duplicate. The plan is what the dry run reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.contacts import aliases
from app.contacts.imports import csvfile
from app.contacts.imports.rows import GARBLE_WATCHED, Lookups, Record, check_row, match_key
from app.contacts.imports.schemas import BadRow, DuplicateMatch, ImportOptions, Progress
from app.contacts.imports.sink import chunks
from app.models import ContactKind, ContactPoint, Organisation, Person, Position


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
        orgs.setdefault(match_key(name), oid)
        org_names[oid] = name
    people: dict[tuple[str, int], int] = {}
    names: dict[int, str] = {}
    sort_names = sorted({r.sort_name for r in records if r.kind == "person"})
    for chunk in chunks(sort_names):
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
        orgs.setdefault(match_key(name), ids[0])
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
    for chunk in chunks(pids):
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
    lookups = Lookups(session)
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
        org_key = match_key(record.organisation)
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
        org_key = match_key(record.organisation)
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
