"""Writing a plan: new records created, matching ones merged into (blanks filled, missing contact
points, tags and positions added), and what the import's batch keeps to undo it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.contacts import searchindex
from app.contacts.imports.matching import Plan
from app.contacts.imports.rows import Record, match_key, sort_name_of
from app.contacts.imports.schemas import Counts, CreatedRecord, ImportOptions
from app.contacts.imports.sink import (
    CONTACT_POINTS,
    ORGANISATIONS,
    PEOPLE,
    POSITIONS,
    TAGS,
    Sink,
    chunks,
)
from app.contacts.text import search_text
from app.errors import Conflict
from app.models import ContactKind, Position, Tag
from app.models.base import utcnow
from app.models.contacts import organisation_tags, person_tags


@dataclass
class Changes:
    """What an import wrote, kept in its batch so it can be undone: records created (with
    their version), contact points, positions and tag links added to existing records, and
    the values existing records had before."""

    created: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated}


def _tag_ids(sink: Sink, names: set[str], counts: Counts, changes: Changes) -> dict[str, int]:
    if not names:
        return {}
    found: dict[str, int] = {}
    for chunk in chunks(sorted(names)):
        found.update(
            {
                name: tid
                for tid, name in sink.session.execute(
                    select(Tag.id, Tag.name).where(Tag.name.in_(chunk))
                )
            }
        )
    missing = sorted(names - set(found))
    now = utcnow()
    ids = sink.insert_ids(
        TAGS, [{"name": n, "created_at": now, "updated_at": now} for n in missing]
    )
    found.update(zip(missing, ids, strict=True))
    changes.created.extend({"type": "tag", "id": tid} for tid in ids)
    counts.tags += len(missing)
    return found


def _points(record: Record, now: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    base = {"label": "", "street_address": "", "city": "", "city_area": "", "postal_code": ""}
    base.update({"country_area": "", "country_code": "", "created_at": now, "updated_at": now})
    for kind, values in (
        (ContactKind.email, record.emails),
        (ContactKind.phone, record.phones),
        (ContactKind.fax, record.faxes),
    ):
        for i, value in enumerate(values):
            rows.append({**base, "kind": kind, "value": value, "preferred": i == 0})
    if record.postal is not None:
        street, city, postcode, area, cc = record.postal
        rows.append(
            {
                **base,
                "kind": ContactKind.postal,
                "value": "",
                "preferred": True,
                "street_address": street,
                "city": city,
                "postal_code": postcode,
                "country_area": area,
                "country_code": cc,
            }
        )
    return rows


def _point_key(row: dict[str, Any]) -> tuple[str, str]:
    return _key_of(
        row["kind"],
        row["value"],
        row["street_address"],
        row["city"],
        row["postal_code"],
        row["country_code"],
    )


def _key_of(
    kind: Any, value: str, street: str, city: str, postcode: str, country: str
) -> tuple[str, str]:
    """What makes two contact points the same: the address (folded), or the value."""
    kind = str(kind)
    if kind == "postal":
        text = f"{match_key(street or '')}|{match_key(city or '')}|{match_key(postcode or '')}"
        return kind, f"{text}|{(country or '').upper()}"
    return kind, (value or "").lower()


def _completeness(point: Any) -> int:
    """How much of an address there is: street, city, postcode (a city-only address is 1)."""
    get = point.get if isinstance(point, dict) else lambda k: getattr(point, k)
    return sum(1 for k in ("street_address", "city", "postal_code") if (get(k) or "").strip())


@dataclass
class Written:
    created: Counts
    updated: Counts
    people: list[CreatedRecord]
    organisations: list[CreatedRecord]
    changes: Changes


def write(session: Session, plan: Plan, options: ImportOptions, *, dry: bool = False) -> Written:
    """Create and merge what the plan says; bulk inserts in the caller's transaction. ``dry``:
    the same steps with nothing written, for the dry run's counts."""
    sink = Sink(session, dry)
    changes = Changes()
    created, updated = Counts(), Counts()
    now = utcnow()
    language = options.default_language
    all_tags = {t for r in plan.new + plan.merges for t in r.tags}
    tag_ids = _tag_ids(sink, all_tags, created, changes)
    # organisations first: people's positions point at them
    org_rows: list[dict[str, Any]] = []
    org_records: list[Record | None] = []
    org_keys = list(plan.new_orgs)
    from_people = _org_attributes(plan)
    for key in org_keys:
        item = plan.new_orgs[key]
        rec = item if isinstance(item, Record) else None
        name = rec.organisation if rec else str(item)
        said = from_people.get(key, {})
        org_rows.append(
            {
                "name": name,
                # the type, country and host given on the organisation's own row, else on the
                # first of its people's rows that gives them
                "type": (rec.organisation_type if rec else None)
                or said.get("organisation_type")
                or options.new_organisation_type,
                "country_id": (rec.country_id if rec else None) or said.get("country_id"),
                "host_country_id": (rec.host_country_id if rec else None)
                or said.get("host_country_id"),
                "host_city": (rec.host_city if rec else "") or said.get("host_city", ""),
                "preferred_language": (rec.language if rec else "") or language,
                "notes": rec.notes if rec else "",
                "no_email": rec.no_email if rec else False,
                "no_post": rec.no_post if rec else False,
                "search_text": search_text(name, *(rec.emails if rec else [])),
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        org_records.append(rec)
    org_ids = dict(zip(org_keys, sink.insert_ids(ORGANISATIONS, org_rows), strict=True))
    changes.created.extend(
        {"type": "organisation", "id": oid, "version": 1} for oid in org_ids.values()
    )
    created.organisations = len(org_ids)
    org_of = {**plan.existing.orgs, **org_ids}
    people = [r for r in plan.new if r.kind == "person"]
    person_rows = [
        {
            "honorific": r.honorific,
            "given_name": r.given_name,
            "family_name": r.family_name,
            "native_name": r.native_name,
            "preferred_language": r.language or language,
            "notes": r.notes,
            "no_email": r.no_email,
            "no_post": r.no_post,
            "sort_name": r.sort_name,
            "search_text": search_text(
                r.given_name,
                r.family_name,
                r.native_name,
                f"{r.family_name} {r.given_name}".strip(),
                *r.emails,
            ),
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for r in people
    ]
    person_ids = sink.insert_ids(PEOPLE, person_rows)
    changes.created.extend({"type": "person", "id": pid, "version": 1} for pid in person_ids)
    created.people = len(person_ids)
    points: list[dict[str, Any]] = []
    positions: list[dict[str, Any]] = []
    p_tags: list[dict[str, Any]] = []
    o_tags: list[dict[str, Any]] = []
    for record, pid in zip(people, person_ids, strict=True):
        for row in _points(record, now):
            points.append({**row, "person_id": pid, "organisation_id": None})
        if record.organisation:
            positions.append(
                _position(pid, org_of[match_key(record.organisation)], record.title, now)
            )
        p_tags.extend({"person_id": pid, "tag_id": tag_ids[t]} for t in record.tags)
    for key, rec in zip(org_keys, org_records, strict=True):
        if rec is not None:
            oid = org_ids[key]
            for row in _points(rec, now):
                points.append({**row, "person_id": None, "organisation_id": oid})
            o_tags.extend({"organisation_id": oid, "tag_id": tag_ids[t]} for t in rec.tags)
    new_points, new_positions = len(points), len(positions)
    merge = _Merge(sink, plan, org_of, tag_ids, now, changes, updated)
    merge.run(points, positions, p_tags, o_tags)
    point_ids = sink.insert_ids(CONTACT_POINTS, points)
    position_ids = sink.insert_ids(POSITIONS, positions)
    # on existing records, what was added is undone one by one; a new record takes its own along
    changes.created.extend({"type": "contact_point", "id": i} for i in point_ids[new_points:])
    changes.created.extend({"type": "position", "id": i} for i in position_ids[new_positions:])
    for table, rows, kind in (
        (person_tags, p_tags, "person"),
        (organisation_tags, o_tags, "organisation"),
    ):
        sink.insert(table, rows)
        owner = f"{kind}_id"
        changes.created.extend(
            {"type": f"{kind}_tag", "id": r[owner], "tag_id": r["tag_id"]}
            for r in rows
            if r[owner] in merge.targets[kind]
        )
    created.contact_points = len(points) - updated.contact_points
    created.positions = len(positions) - updated.positions
    made_people = [
        CreatedRecord(id=pid, name=r.display)
        for r, pid in zip(people[:1000], person_ids, strict=False)
    ]
    made_orgs = [
        CreatedRecord(id=org_ids[k], name=str(r["name"]))
        for k, r in zip(org_keys, org_rows, strict=True)
    ]
    return Written(created, updated, made_people, made_orgs[:1000], changes)


def _org_attributes(plan: Plan) -> dict[str, dict[str, Any]]:
    """A new organisation's type, country, host country and host city as its people's rows
    give them: each from the first row that names it."""
    out: dict[str, dict[str, Any]] = {}
    for record in plan.new + plan.merges:
        if not record.organisation or record.kind != "person":
            continue
        said = out.setdefault(match_key(record.organisation), {})
        for name in ("organisation_type", "country_id", "host_country_id", "host_city"):
            value = getattr(record, name)
            if value and name not in said:
                said[name] = value
    return out


def _position(pid: int, oid: int, title: str, now: Any) -> dict[str, Any]:
    return {
        "person_id": pid,
        "organisation_id": oid,
        "title": title,
        "start_date": None,
        "end_date": None,
        "is_office_holder": False,
        "created_at": now,
        "updated_at": now,
    }


class _Merge:
    """Rows matched to existing records: fill blank fields, add what is missing, make a fuller
    address the preferred one; nothing is written for a row that adds nothing (re-importing
    a file is a no-op). What it changes goes into ``changes`` with the values before."""

    def __init__(
        self,
        sink: Sink,
        plan: Plan,
        org_of: dict[str, int],
        tag_ids: dict[str, int],
        now: Any,
        changes: Changes,
        updated: Counts,
    ) -> None:
        self.sink, self.session, self.plan = sink, sink.session, plan
        self.org_of, self.tag_ids, self.now = org_of, tag_ids, now
        self.changes, self.updated = changes, updated
        self.targets: dict[str, set[int]] = {"person": set(), "organisation": set()}

    def run(
        self,
        points: list[dict[str, Any]],
        positions: list[dict[str, Any]],
        p_tags: list[dict[str, Any]],
        o_tags: list[dict[str, Any]],
    ) -> None:
        for kind in ("person", "organisation"):
            records = [r for r in self.plan.merges if r.kind == kind]
            if records:
                self._merge_kind(
                    kind, records, points, positions, p_tags if kind == "person" else o_tags
                )

    def _merge_kind(
        self,
        kind: str,
        records: list[Record],
        points: list[dict[str, Any]],
        positions: list[dict[str, Any]],
        tag_rows: list[dict[str, Any]],
    ) -> None:
        is_person = kind == "person"
        table = PEOPLE if is_person else ORGANISATIONS
        blanks = (
            ("honorific", "given_name", "family_name", "native_name", "notes")
            if is_person
            else ("notes", "host_city")
        )
        ids_ = ("country_id", "host_country_id")
        read = ["id", "version", *blanks, "no_email", "no_post"]
        read += ["native_name", "sort_name"] if is_person else list(ids_)
        owner_col = CONTACT_POINTS.c.person_id if is_person else CONTACT_POINTS.c.organisation_id
        owner_key = "person_id" if is_person else "organisation_id"
        other_key = "organisation_id" if is_person else "person_id"
        assoc = person_tags if is_person else organisation_tags
        assoc_owner = assoc.c.person_id if is_person else assoc.c.organisation_id
        ids = sorted({r.target_id for r in records if r.target_id is not None})
        self.targets[kind].update(ids)
        current: dict[int, dict[str, Any]] = {}
        have_points: dict[int, dict[tuple[str, str], dict[str, Any]]] = {}
        have_tags: dict[int, set[int]] = {}
        have_positions: dict[int, set[tuple[int, str]]] = {}
        cp = CONTACT_POINTS.c
        for chunk in chunks(ids):
            for row in self.session.execute(
                select(*[table.c[name] for name in dict.fromkeys(read)]).where(
                    table.c.id.in_(chunk)
                )
            ):
                current[row.id] = dict(row._mapping)
            for row in self.session.execute(
                select(
                    owner_col.label("owner"),
                    cp.kind,
                    cp.value,
                    cp.street_address,
                    cp.city,
                    cp.postal_code,
                    cp.country_code,
                    cp.id,
                    cp.preferred,
                )
                .where(owner_col.in_(chunk))
                .order_by(cp.id)
            ):
                point = dict(row._mapping)
                have_points.setdefault(row.owner, {})[_key_of(*row[1:7])] = point
            for owner, tid in self.session.execute(
                select(assoc_owner, assoc.c.tag_id).where(assoc_owner.in_(chunk))
            ):
                have_tags.setdefault(owner, set()).add(tid)
            if is_person:
                for pid, oid, title in self.session.execute(
                    select(Position.person_id, Position.organisation_id, Position.title).where(
                        Position.person_id.in_(chunk)
                    )
                ):
                    have_positions.setdefault(pid, set()).add((oid, match_key(title)))
        changes: dict[int, dict[str, Any]] = {}
        touched: set[int] = set()
        new_email: set[int] = set()
        for record in records:
            assert record.target_id is not None
            target = record.target_id
            now_values = current[target]
            fields = changes.setdefault(target, {})
            for attr in blanks:
                value = getattr(record, attr)
                if value and not now_values[attr] and attr not in fields:
                    fields[attr] = value
            for attr in ("no_email", "no_post"):
                if getattr(record, attr) and not now_values[attr]:
                    fields[attr] = True
            if not is_person:
                for attr in ids_:
                    if getattr(record, attr) and not now_values[attr] and attr not in fields:
                        fields[attr] = getattr(record, attr)
            keys = have_points.setdefault(target, {})
            for point in _points(record, self.now):
                key = _point_key(point)
                if key in keys:
                    said = key[0] == "postal" and record.address_preferred
                    if said and self._prefer(keys, keys[key]):
                        touched.add(target)
                    continue
                if key[0] == "postal":
                    point["preferred"] = self._new_address_preferred(keys, point, record)
                    if point["preferred"]:
                        self._prefer(keys, point)
                else:
                    point["preferred"] = not any(k[0] == key[0] for k in keys)
                keys[key] = point
                points.append({**point, owner_key: target, other_key: None})
                self.updated.contact_points += 1
                touched.add(target)
                if key[0] == "email":
                    new_email.add(target)
            tags = have_tags.setdefault(target, set())
            for tag in record.tags:
                tid = self.tag_ids[tag]
                if tid not in tags:
                    tags.add(tid)
                    tag_rows.append({owner_key: target, "tag_id": tid})
                    touched.add(target)
            if is_person and record.organisation:
                oid = self.org_of[match_key(record.organisation)]
                held = have_positions.setdefault(target, set())
                title = match_key(record.title)
                if not any(o == oid and (not title or t == title) for o, t in held):
                    held.add((oid, title))
                    positions.append(_position(target, oid, record.title, self.now))
                    self.updated.positions += 1
                    touched.add(target)
        for target, fields in changes.items():
            version = current[target]["version"]
            entry = {"type": kind, "id": target, "version": version, "before": {}}
            if fields:
                touched.add(target)
                if is_person:
                    merged = {**current[target], **fields}
                    fields["sort_name"] = sort_name_of(
                        merged["given_name"], merged["family_name"], merged["native_name"]
                    )
                    new_email.add(target)
                entry["before"] = {k: current[target][k] for k in fields}
                entry["version"] = version + 1
                done = self.sink.execute(
                    update(table)
                    .where(table.c.id == target, table.c.version == version)
                    .values(**fields, version=version + 1, updated_at=self.now)
                )
                if done != 1:
                    raise Conflict(
                        f"{kind.title()} #{target} changed while the file was being imported; "
                        "nothing was imported. Run the import again."
                    )
            if target in touched:
                self.changes.updated.append(entry)
        if is_person:
            self.updated.people = len(touched)
            # the search column follows new names and email addresses
            if not self.sink.dry:
                _refresh_people_search(self.session, sorted(new_email))
        else:
            self.updated.organisations = len(touched)

    def _new_address_preferred(
        self, keys: dict[tuple[str, str], dict[str, Any]], point: dict[str, Any], record: Record
    ) -> bool:
        """An address added to a record is preferred when it is the first one, when the row
        says so, or when the record's preferred address has less of it (a city with no
        street: letters would go on printing the city alone)."""
        postal = [p for k, p in keys.items() if k[0] == "postal"]
        if not postal:
            return True
        if record.address_preferred is not None:
            return record.address_preferred
        best = next((p for p in postal if p["preferred"]), postal[0])
        return _completeness(point) > _completeness(best)

    def _prefer(self, keys: dict[tuple[str, str], dict[str, Any]], point: dict[str, Any]) -> bool:
        """Make ``point`` the owner's only preferred address; the others recorded as they
        were. False when it already was."""
        changed = not point["preferred"]
        for other in (p for k, p in keys.items() if k[0] == "postal" and p is not point):
            if not other["preferred"]:
                continue
            other["preferred"] = False
            changed = True
            if other.get("id") is not None:  # an existing one (not added by this import)
                self.changes.updated.append(
                    {"type": "contact_point", "id": other["id"], "before": {"preferred": True}}
                )
                self.sink.execute(
                    update(CONTACT_POINTS)
                    .where(CONTACT_POINTS.c.id == other["id"])
                    .values(preferred=False, updated_at=self.now)
                )
        if not point["preferred"] and point.get("id") is not None:
            self.changes.updated.append(
                {"type": "contact_point", "id": point["id"], "before": {"preferred": False}}
            )
            self.sink.execute(
                update(CONTACT_POINTS)
                .where(CONTACT_POINTS.c.id == point["id"])
                .values(preferred=True, updated_at=self.now)
            )
        point["preferred"] = True
        return changed


def _refresh_people_search(session: Session, ids: list[int]) -> None:
    """People merged into: their search column as the directory computes it (with their name
    forms, aliases and the addresses just added)."""
    searchindex.refresh_people(session, ids)
