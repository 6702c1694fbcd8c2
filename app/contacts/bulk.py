"""Bulk actions on the directory: tag, untag, add to a list segment, mark do-not-contact or
export many people and organisations at once, chosen by id or as "every contact matching these
filters".

Each action writes set-wise (a few statements per 2,000 rows, never one ORM object per row) and
records one audit entry with the count and the ids it changed, so that tagging, untagging and
do-not-contact can be undone (``undo``): the undo touches only the rows the action changed.

Segments are saved searches (``Segment.filters``). A segment whose filters hold ``person_ids``
or ``organisation_ids`` is a *list segment*: its members are those records. Adding to a segment
adds ids to a list segment (or creates one under a new name); a saved search cannot take
hand-picked ids, since its members are whoever matches its filters, and is refused.

More than ``BACKGROUND_ROWS`` rows run in the task-queue worker: the request is kept in a small
JSON record under ``<data dir>/files/bulk/`` (status, progress, result) with a lease, kept by
``app.platform.jobstore`` as contacts imports are. The action is one transaction, so a worker
that dies part-way leaves nothing behind and the recovery sweep runs it again (or fails it once
too many workers died on it); its audit entry names the job, which tells whether it committed.

Over 600 lines: the actions' set-wise writes and the undo that reverses exactly those writes
belong together.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit

# bulk_tasks calls back into this module when a job runs, never at import
from app.contacts import bulk_tasks, segments
from app.contacts import search as contacts_search
from app.contacts.schemas import ID_LIST_MAX, SearchFilters, SegmentIn
from app.db import fold, transaction
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.models import AuditEntry, Organisation, Person, Role, Segment, Tag, User
from app.models.contacts import organisation_tags, person_tags
from app.platform import jobstore, leases

Action = Literal["add_tag", "remove_tag", "add_to_segment", "do_not_contact", "export"]
Target = Literal["people", "organisations", "all"]
ExportFormat = Literal["csv", "xlsx", "vcard", "labels", "envelopes"]
ACTION_LABELS: dict[str, str] = {
    "add_tag": "Add a tag",
    "remove_tag": "Remove a tag",
    "add_to_segment": "Add to a list segment",
    "do_not_contact": "Mark do not contact",
    "export": "Export",
}
UNDOABLE = ("add_tag", "remove_tag", "do_not_contact")
AUDIT_ACTION = "contacts.bulk"
UNDO_ACTION = "contacts.bulk.undo"
# Selections larger than this run in the worker, with progress shown.
BACKGROUND_ROWS = 5_000
_CHUNK = 2_000
TOKEN_LENGTH = 32


class BulkRequest(BaseModel):
    """One bulk action: what to do, and to whom (ids, or every contact matching filters)."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    target: Target = Field(
        default="people",
        description='The kind `ids` and `filters` select: "people", "organisations", or "all" '
        "(both kinds); person_ids and organisation_ids are taken as given",
    )
    ids: list[int] | None = Field(
        default=None,
        max_length=ID_LIST_MAX,
        description="Hand-picked ids of the target kind (with target all: use person_ids and "
        "organisation_ids)",
    )
    person_ids: list[int] = Field(default_factory=list, max_length=ID_LIST_MAX)
    organisation_ids: list[int] = Field(default_factory=list, max_length=ID_LIST_MAX)
    filters: SearchFilters | None = Field(
        default=None, description="Every contact of the target kind matching these filters"
    )
    tag: str = Field(default="", max_length=80, description="add_tag, remove_tag")
    segment_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="add_to_segment: a list segment"
    )
    segment_name: str = Field(
        default="", max_length=200, description="add_to_segment: a new list segment's name"
    )
    no_email: bool = Field(default=True, description="do_not_contact: stop emails")
    no_post: bool = Field(default=True, description="do_not_contact: stop post")
    format: ExportFormat = Field(default="csv", description="export: the file's format")

    @field_validator("ids", "person_ids", "organisation_ids")
    @classmethod
    def _positive(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(i < 1 or i > 2**31 - 1 for i in value):
            raise ValueError("ids are positive integers")
        return None if value is None else sorted(set(value))

    @model_validator(mode="after")
    def _complete(self) -> BulkRequest:
        picked = self.ids is not None or self.person_ids or self.organisation_ids
        if bool(picked) == (self.filters is not None):
            raise ValueError('give either the ids picked or "filters", not both')
        if self.ids is not None and self.target == "all":
            raise ValueError('with target "all", give person_ids and organisation_ids')
        if self.action in ("add_tag", "remove_tag") and not self.tag.strip():
            raise ValueError("name the tag to add or remove")
        if self.action == "add_to_segment" and (self.segment_id is None) == (
            not self.segment_name.strip()
        ):
            raise ValueError(
                "give the segment_id of a list segment, or a segment_name for a new one"
            )
        if self.action == "do_not_contact" and not (self.no_email or self.no_post):
            raise ValueError("choose no_email, no_post or both")
        return self


class BulkResult(BaseModel):
    action: Action
    status: Literal["done", "queued"]
    matched: int = Field(description="Contacts selected")
    changed: int = Field(description="Contacts the action changed (the others already were so)")
    people: int = 0
    organisations: int = 0
    audit_id: int | None = None
    undo: bool = Field(default=False, description="Whether POST .../bulk/{audit_id}/undo works")
    job: str = Field(default="", description="A background job's token (status: queued)")
    segment_id: int | None = None
    export_job_id: int | None = None
    summary: str = ""


@dataclass(frozen=True)
class Selection:
    person_ids: list[int]
    organisation_ids: list[int]

    @property
    def total(self) -> int:
        return len(self.person_ids) + len(self.organisation_ids)


# --- the selection ------------------------------------------------------------------------------


def _kinds(target: Target) -> tuple[bool, bool]:
    return target in ("people", "all"), target in ("organisations", "all")


def _existing(
    session: Session, model: type[Person] | type[Organisation], ids: list[int]
) -> list[int]:
    found: list[int] = []
    for chunk in _chunks(ids):
        found += session.scalars(select(model.id).where(model.id.in_(chunk)))
    missing = sorted(set(ids) - set(found))
    if missing:
        what = "person" if model is Person else "organisation"
        shown = ", ".join(str(i) for i in missing[:10]) + (" …" if len(missing) > 10 else "")
        raise InvalidInput(
            f"No {what} has the id{'s' if len(missing) > 1 else ''} {shown}.",
            errors=[{"field": "ids", "message": f"unknown {what} ids: {shown}"}],
        )
    return sorted(found)


def select_contacts(session: Session, req: BulkRequest) -> Selection:
    """The people and organisations the request names, checked to exist."""
    people, orgs = _kinds(req.target)
    if req.filters is not None:
        kind = {"people": "person", "organisations": "organisation", "all": ""}[req.target]
        if req.filters.kind and kind and req.filters.kind != kind:
            return Selection([], [])
        filters = req.filters.model_copy(update={"kind": kind or req.filters.kind})
        person_ids, org_ids = contacts_search.search_ids(session, filters)
        return Selection(person_ids if people else [], org_ids if orgs else [])
    if req.ids is not None:
        person_ids = req.ids if req.target == "people" else []
        org_ids = req.ids if req.target == "organisations" else []
    else:  # both lists as given, whatever the target
        person_ids, org_ids = req.person_ids, req.organisation_ids
    if not person_ids and not org_ids:
        raise InvalidInput(
            "Select at least one contact.", errors=[{"field": "ids", "message": "empty"}]
        )
    return Selection(
        _existing(session, Person, person_ids), _existing(session, Organisation, org_ids)
    )


def _chunks(ids: Sequence[int], size: int = _CHUNK) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


# --- the actions --------------------------------------------------------------------------------

Progress = Callable[[int, int], None]


def _no_progress(done: int, total: int) -> None:
    return None


def check_allowed(req: BulkRequest, user: User) -> None:
    """Editing contacts is for every signed-in user; exporting lists is a coordinator's."""
    if req.action == "export" and not user.role.at_least(Role.coordinator):
        raise Forbidden("Exporting contacts needs a coordinator.")


def _tag(session: Session, name: str, *, create: bool) -> Tag | None:
    name = name.strip()[:80]
    tag = session.scalar(select(Tag).where(fold(Tag.name) == name.lower()))
    if tag is None and create:
        tag = Tag(name=name)
        session.add(tag)
        session.flush()
    return tag


_LINKS: dict[str, tuple[Table, str]] = {
    "person": (person_tags, "person_id"),
    "organisation": (organisation_tags, "organisation_id"),
}


def _tagged(session: Session, kind: str, tag_id: int, ids: Sequence[int]) -> set[int]:
    table, column = _LINKS[kind]
    found: set[int] = set()
    for chunk in _chunks(ids):
        found.update(
            session.scalars(
                select(table.c[column]).where(table.c.tag_id == tag_id, table.c[column].in_(chunk))
            )
        )
    return found


def _link(session: Session, kind: str, tag_id: int, ids: Sequence[int], progress: Progress) -> None:
    table, column = _LINKS[kind]
    for done, chunk in enumerate(_chunks(ids), start=1):
        session.execute(insert(table), [{column: i, "tag_id": tag_id} for i in chunk])
        progress(min(done * _CHUNK, len(ids)), len(ids))


def _unlink(
    session: Session, kind: str, tag_id: int, ids: Sequence[int], progress: Progress
) -> None:
    table, column = _LINKS[kind]
    for done, chunk in enumerate(_chunks(ids), start=1):
        session.execute(delete(table).where(table.c.tag_id == tag_id, table.c[column].in_(chunk)))
        progress(min(done * _CHUNK, len(ids)), len(ids))


def _flags(
    session: Session,
    model: type[Person] | type[Organisation],
    ids: Sequence[int],
    flag: str,
    value: bool,
) -> list[int]:
    """Set ``flag`` to ``value`` where it is not so already; the ids changed. The version is
    bumped, so a form opened before refuses to save over the change."""
    column = getattr(model, flag)
    changed: list[int] = []
    for chunk in _chunks(ids):
        found = list(
            session.scalars(select(model.id).where(model.id.in_(chunk), column.is_(not value)))
        )
        if found:
            session.execute(
                update(model)
                .where(model.id.in_(found))
                .values({flag: value, "version": model.version + 1})
                .execution_options(synchronize_session=False)
            )
        changed += found
    return changed


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _who(people: int, orgs: int) -> str:
    parts = []
    if people:
        parts.append(_plural(people, "person", "people"))
    if orgs:
        parts.append(_plural(orgs, "organisation", "organisations"))
    return " and ".join(parts) or "nobody"


def apply(
    session: Session,
    *,
    req: BulkRequest,
    selection: Selection,
    actor: User,
    job: str = "",
    progress: Progress = _no_progress,
) -> BulkResult:
    """Carry out the action on the selection now, in the caller's transaction, audited."""
    check_allowed(req, actor)
    session.flush()
    people, orgs = selection.person_ids, selection.organisation_ids
    details: dict[str, Any] = {"action": req.action, "matched": selection.total}
    if job:
        details["job"] = job
    result = BulkResult(action=req.action, status="done", matched=selection.total, changed=0)
    if req.action in ("add_tag", "remove_tag"):
        adding = req.action == "add_tag"
        tag = _tag(session, req.tag, create=adding)
        if tag is None:
            raise NotFound(f"No tag is named {req.tag.strip()!r}.")
        changed = {}
        for kind, ids in (("person", people), ("organisation", orgs)):
            tagged = _tagged(session, kind, tag.id, ids)
            todo = [i for i in ids if i not in tagged] if adding else sorted(tagged)
            (_link if adding else _unlink)(session, kind, tag.id, todo, progress)
            changed[kind] = todo
        details.update(tag=tag.name, tag_id=tag.id)
        verb = f"Tagged {tag.name}:" if adding else f"Removed the tag {tag.name} from"
    elif req.action == "do_not_contact":
        flags = [f for f in ("no_email", "no_post") if getattr(req, f)]
        changed = {"person": [], "organisation": []}
        for kind, model, ids in (("person", Person, people), ("organisation", Organisation, orgs)):
            ids_by_flag = {flag: _flags(session, model, ids, flag, True) for flag in flags}
            details[f"{kind}_flags"] = ids_by_flag
            changed[kind] = sorted({i for found in ids_by_flag.values() for i in found})
            progress(len(ids), len(ids))
        details["flags"] = flags
        verb = "Marked do not " + " or ".join(f.removeprefix("no_") for f in flags) + ":"
    elif req.action == "add_to_segment":
        segment, added = _add_to_segment(session, req, selection, actor)
        changed = {"person": added[0], "organisation": added[1]}
        details.update(segment_id=segment.id, segment=segment.name)
        result.segment_id = segment.id
        verb = f"Added to the segment {segment.name}:"
    else:
        return _export(session, req, selection, actor, result, details)
    result.people = len(changed["person"])
    result.organisations = len(changed["organisation"])
    result.changed = result.people + result.organisations
    if req.action in UNDOABLE:
        details["person_ids"] = changed["person"]
        details["organisation_ids"] = changed["organisation"]
    result.summary = f"{verb} {_who(result.people, result.organisations)}"
    if result.changed < selection.total:
        unchanged = selection.total - result.changed
        result.summary += f" ({unchanged:,} of the {selection.total:,} selected already were)"
    entry = audit.record(
        session,
        user=actor,
        action=AUDIT_ACTION,
        entity_type="contacts",
        summary=result.summary,
        details=details,
    )
    result.audit_id = entry.id
    result.undo = req.action in UNDOABLE and result.changed > 0
    return result


def _add_to_segment(
    session: Session, req: BulkRequest, selection: Selection, actor: User
) -> tuple[Segment, tuple[list[int], list[int]]]:
    if not selection.total:
        raise InvalidInput("No contact matches: nothing to add to a segment.")
    if req.segment_id is None:
        filters = SearchFilters(
            person_ids=selection.person_ids, organisation_ids=selection.organisation_ids
        )
        _check_list_size(filters.person_ids, filters.organisation_ids)
        segment = segments.create(
            session,
            data=SegmentIn(
                name=req.segment_name,
                description="A list of contacts picked in the directory.",
                filters=filters,
            ),
            actor=actor,
        )
        return segment, (selection.person_ids, selection.organisation_ids)
    segment = segments.get(session, req.segment_id)
    current = segments.filters_of(segment)
    if not current.by_ids:
        raise Conflict(
            f"The segment {segment.name!r} is a saved search: its members are whoever matches "
            "its filters, so contacts cannot be added to it by hand. Add them to a list segment, "
            "or name a new one.",
            errors=[{"field": "segment_id", "message": "a saved search, not a list"}],
        )
    have_people, have_orgs = set(current.person_ids), set(current.organisation_ids)
    new_people = [i for i in selection.person_ids if i not in have_people]
    new_orgs = [i for i in selection.organisation_ids if i not in have_orgs]
    people = sorted(have_people | set(new_people))
    orgs = sorted(have_orgs | set(new_orgs))
    _check_list_size(people, orgs)
    stored = dict(segment.filters or {})
    stored["person_ids"], stored["organisation_ids"] = people, orgs
    segment.filters = {k: v for k, v in stored.items() if v != []}
    session.flush()
    audit.record(
        session,
        user=actor,
        action="segment.update",
        entity_type="segment",
        entity_id=segment.id,
        summary=f"Added {_who(len(new_people), len(new_orgs))} to the segment {segment.name}",
    )
    return segment, (new_people, new_orgs)


def _check_list_size(people: Sequence[int], orgs: Sequence[int]) -> None:
    if len(people) > ID_LIST_MAX or len(orgs) > ID_LIST_MAX:
        raise InvalidInput(
            f"A list segment holds at most {ID_LIST_MAX:,} people and {ID_LIST_MAX:,} "
            "organisations; save the search as a segment instead (its members are whoever "
            "matches)."
        )


def export_request(req: BulkRequest, selection: Selection) -> Any:
    """The export of the selection, as the exports module takes it: the filters themselves for
    "every contact matching", else the ids picked."""
    from app.exports.schemas import ExportRequest

    if req.filters is not None:
        kind = {"people": "person", "organisations": "organisation", "all": ""}[req.target]
        filters = req.filters.model_copy(update={"kind": kind or req.filters.kind})
    else:
        filters = SearchFilters(
            person_ids=selection.person_ids, organisation_ids=selection.organisation_ids
        )
    return ExportRequest(source="search", filters=filters, format=req.format)


def _export(
    session: Session,
    req: BulkRequest,
    selection: Selection,
    actor: User,
    result: BulkResult,
    details: dict[str, Any],
) -> BulkResult:
    """Hand the selection to the exports module as a background export (the API's way; the web
    form streams small ones at once through ``export_request``)."""
    from app.exports import service as exports

    if not selection.total:
        raise InvalidInput("No contact matches: nothing to export.")
    export = export_request(req, selection).model_copy(update={"background": True})
    job = exports.create_job(session, req=export, user=actor)
    result.export_job_id = job.id
    result.people, result.organisations = len(selection.person_ids), len(selection.organisation_ids)
    result.summary = (
        f"Queued a {req.format.upper()} export of {_who(result.people, result.organisations)}"
    )
    details.update(export_job_id=job.id, format=req.format)
    entry = audit.record(
        session,
        user=actor,
        action=AUDIT_ACTION,
        entity_type="contacts",
        summary=result.summary,
        details=details,
    )
    result.audit_id = entry.id
    return result


# --- undo ---------------------------------------------------------------------------------------


def get_entry(session: Session, audit_id: int) -> AuditEntry:
    entry = session.get(AuditEntry, audit_id)
    if entry is None or entry.action != AUDIT_ACTION:
        raise NotFound(f"No bulk action has the id {audit_id}.")
    return entry


def undone_by(session: Session, audit_id: int) -> AuditEntry | None:
    return session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == UNDO_ACTION,
            AuditEntry.entity_type == "contacts",
            AuditEntry.entity_id == str(audit_id),
        )
    )


def can_undo(session: Session, entry: AuditEntry) -> bool:
    details = entry.details or {}
    return (
        details.get("action") in UNDOABLE
        and bool(details.get("person_ids") or details.get("organisation_ids"))
        and undone_by(session, entry.id) is None
    )


def undo(session: Session, *, audit_id: int, actor: User) -> BulkResult:
    """Reverse a tag, untag or do-not-contact action on the rows it changed (records deleted
    since are skipped); once only."""
    entry = get_entry(session, audit_id)
    details = entry.details or {}
    action = details.get("action")
    if action not in UNDOABLE:
        raise Conflict("Only adding or removing a tag and do-not-contact can be undone.")
    if undone_by(session, audit_id) is not None:
        raise Conflict("This bulk action has already been undone.")
    people = [int(i) for i in details.get("person_ids", [])]
    orgs = [int(i) for i in details.get("organisation_ids", [])]
    people = list(session.scalars(select(Person.id).where(Person.id.in_(people)))) if people else []
    orgs = (
        list(session.scalars(select(Organisation.id).where(Organisation.id.in_(orgs))))
        if orgs
        else []
    )
    restored = {"person": people, "organisation": orgs}
    if action in ("add_tag", "remove_tag"):
        tag = session.get(Tag, int(details.get("tag_id", 0)))
        if tag is None:
            raise Conflict(
                f"The tag {details.get('tag')!r} has been deleted since; nothing to undo."
            )
        for kind, ids in restored.items():
            if action == "add_tag":
                _unlink(session, kind, tag.id, ids, _no_progress)
            else:
                tagged = _tagged(session, kind, tag.id, ids)
                _link(session, kind, tag.id, [i for i in ids if i not in tagged], _no_progress)
        summary = f"Undid: {entry.summary}"
    else:
        for kind, model in (("person", Person), ("organisation", Organisation)):
            alive = set(restored[kind])
            for flag, ids in (details.get(f"{kind}_flags") or {}).items():
                _flags(session, model, [int(i) for i in ids if int(i) in alive], flag, False)
        summary = f"Undid: {entry.summary}"
    session.flush()
    done = audit.record(
        session,
        user=actor,
        action=UNDO_ACTION,
        entity_type="contacts",
        entity_id=audit_id,
        summary=summary[:500],
        details={"of": audit_id, "person_ids": people, "organisation_ids": orgs},
    )
    return BulkResult(
        action=action,
        status="done",
        matched=len(people) + len(orgs),
        changed=len(people) + len(orgs),
        people=len(people),
        organisations=len(orgs),
        audit_id=done.id,
        summary=summary,
    )


# --- background jobs ----------------------------------------------------------------------------


STORE = jobstore.JobStore(
    "bulk",
    what="bulk action",
    missing="No such bulk action.",
    unexpected="The action failed on an unexpected error and nothing was changed; it has been "
    "logged.",
)
load_job = STORE.load
abandon_held = STORE.abandon_held


def job_for(token: str, user: User) -> dict[str, Any]:
    """A job record, for the user who started it only."""
    record = load_job(token)
    if record.get("user_id") != user.id:
        raise NotFound("No such bulk action.")
    return record


def queue(req: BulkRequest, selection: Selection, actor: User) -> BulkResult:
    """Keep a large action for the worker; the caller enqueues ``tasks.run_bulk(token)``."""
    check_allowed(req, actor)
    token = secrets.token_hex(TOKEN_LENGTH // 2)
    with STORE.locked():
        STORE.save(
            token,
            {
                "user_id": actor.id,
                "request": req.model_dump(mode="json"),
                "person_ids": selection.person_ids,
                "organisation_ids": selection.organisation_ids,
                "created_at": leases.now_utc().isoformat(),
                "job": {"status": "queued", "done": 0, "total": selection.total},
            },
        )
    return BulkResult(
        action=req.action,
        status="queued",
        matched=selection.total,
        changed=0,
        job=token,
        summary=f"{ACTION_LABELS[req.action]}: {selection.total:,} contacts queued",
    )


def run_job(token: str) -> str:
    """The worker's part: carry out a queued action in one transaction, with progress."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5:
            last[0] = now
            STORE.write(token, status="running", done=done, total=total)

    def work(session: Session, record: dict[str, Any]) -> dict[str, Any]:
        req = BulkRequest.model_validate(record["request"])
        selection = Selection(record["person_ids"], record["organisation_ids"])
        actor = session.get(User, record["user_id"])
        if actor is None or not actor.is_active:
            raise Forbidden("The user who started this bulk action can no longer sign in.")
        result = apply(
            session, req=req, selection=selection, actor=actor, job=token, progress=progress
        )
        return result.model_dump(mode="json")

    return STORE.run(token, work)


def _committed(token: str, _record: dict[str, Any]) -> dict[str, Any] | None:
    """The audit entry of the job's transaction, if it committed."""
    with transaction() as session:
        for entry in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == AUDIT_ACTION)
            .order_by(AuditEntry.id.desc())
            .limit(200)
        ):
            if (entry.details or {}).get("job") == token:
                return {"audit_id": entry.id, "summary": entry.summary}
    return None


def recover_stale(*, now: datetime | None = None) -> dict[str, int]:
    """Bulk actions whose worker died: done if their transaction committed after all, else
    queued again (nothing was written) or failed once too many workers died on them."""
    counts, _ = STORE.recover_stale(
        committed=_committed, resume=lambda token, _record: bulk_tasks.run_bulk(token), now=now
    )
    return counts


# --- one entry point ----------------------------------------------------------------------------


def start(session: Session, *, req: BulkRequest, actor: User) -> BulkResult:
    """Select, then act now or queue for the worker (over ``BACKGROUND_ROWS`` rows; exports
    are queued by the exports module itself)."""
    check_allowed(req, actor)
    selection = select_contacts(session, req)
    if req.action != "export" and selection.total > BACKGROUND_ROWS:
        return queue(req, selection, actor)
    return apply(session, req=req, selection=selection, actor=actor)
