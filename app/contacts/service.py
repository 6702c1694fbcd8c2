"""The contacts directory service: people, organisations, positions and contact points.

Beside it: ``recipients`` (how to address someone: letters, exports and campaigns ask it),
``tags``, ``timeline`` and ``search`` (searching the directory).

Over 600 lines: the four record kinds share the loading, version check, search column and audit
steps every change goes through."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from sqlalchemy import (
    Select,
    func,
    select,
)
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.contacts import addressing, located, names, tags
from app.contacts.schemas import (
    ContactPointCreate,
    ContactPointIn,
    OrganisationBase,
    OrganisationCreate,
    OrganisationUpdate,
    PersonBase,
    PersonCreate,
    PersonUpdate,
    PositionCreate,
    PositionUpdate,
)
from app.contacts.text import search_text
from app.countries import service as countries_service
from app.db import fold
from app.errors import Conflict, InvalidInput, NotFound
from app.models import (
    Alias,
    ContactKind,
    ContactPoint,
    Organisation,
    Person,
    Position,
    User,
)

STALE = (
    "Someone else changed this {what} while you were editing (you had version {mine}, it is now "
    "at version {theirs}). Nothing was saved: reload it, then make your change again."
)


# --- loading -----------------------------------------------------------------------------------


def _person_query() -> Select[Person]:
    return select(Person).options(
        selectinload(Person.tags),
        selectinload(Person.contact_points),
        selectinload(Person.positions)
        .selectinload(Position.organisation)
        .selectinload(Organisation.country),
    )


def _organisation_query() -> Select[Organisation]:
    return select(Organisation).options(
        selectinload(Organisation.tags),
        selectinload(Organisation.contact_points),
        selectinload(Organisation.country),
        selectinload(Organisation.host_country),
        selectinload(Organisation.parent),
        selectinload(Organisation.positions).selectinload(Position.person),
    )


def get_person(session: Session, person_id: int) -> Person:
    # populate_existing: collections changed through foreign keys in this session are reloaded
    person = session.scalar(
        _person_query().where(Person.id == person_id).execution_options(populate_existing=True)
    )
    if person is None:
        raise NotFound(f"No person has the id {person_id}.")
    return person


def get_organisation(session: Session, organisation_id: int) -> Organisation:
    org = session.scalar(
        _organisation_query()
        .where(Organisation.id == organisation_id)
        .execution_options(populate_existing=True)
    )
    if org is None:
        raise NotFound(f"No organisation has the id {organisation_id}.")
    return org


def get_organisation_by_name(session: Session, name: str) -> Organisation | None:
    return session.scalar(
        select(Organisation).where(fold(Organisation.name) == name.strip().lower()).limit(1)
    )


def list_organisation_choices(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(
        select(Organisation.id, Organisation.name).order_by(Organisation.name).limit(5000)
    ).all()
    return [(r[0], r[1]) for r in rows]


def _country_id(session: Session, code: str | None, field_name: str) -> int | None:
    if not code:
        return None
    try:
        return countries_service.get_by_code(session, code).id
    except NotFound as exc:
        raise InvalidInput(
            f"{field_name}: no country has the code {code!r}.",
            errors=[{"field": field_name, "message": f"unknown country code {code!r}"}],
        ) from exc


# --- people ------------------------------------------------------------------------------------


def person_search_parts(
    given: str, family: str, native: str, name_forms: Any, extra: Sequence[str] = ()
) -> str:
    """A person's search column from its values (also for reindexing from plain rows)."""
    return search_text(
        given,
        family,
        native,
        f"{family} {given}",
        *names.name_form_texts(name_forms, None),
        *extra,
    )


def person_search_text(person: Person, extra: Sequence[str] = ()) -> str:
    return person_search_parts(
        person.given_name, person.family_name, person.native_name, person.name_forms, extra
    )


def alias_names(
    session: Session, *, person_id: int | None = None, organisation_id: int | None = None
) -> list[str]:
    """The other names a record is known by (its aliases), oldest first."""
    if person_id is None and organisation_id is None:
        return []
    column = Alias.person_id if person_id is not None else Alias.organisation_id
    owner = person_id if person_id is not None else organisation_id
    return list(session.scalars(select(Alias.name).where(column == owner).order_by(Alias.id)))


def _refresh_person_search(session: Session, person: Person) -> None:
    """Names, aliases, then email addresses: what a search of the directory finds them by."""
    emails = [cp.value for cp in person.contact_points if cp.kind == ContactKind.email]
    aliases = alias_names(session, person_id=person.id)
    person.search_text = person_search_text(person, [*aliases, *emails])
    person.sort_name = (
        " ".join(p for p in (person.family_name, person.given_name) if p) or person.native_name
    ).lower()[:250]


def _apply_person(session: Session, person: Person, data: PersonBase) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    values = data.model_dump(exclude={"tags", "version"})
    values["name_forms"] = {  # only the parts given
        lang: {part: text for part, text in form.items() if text}
        for lang, form in values["name_forms"].items()
    }
    for key, value in values.items():
        if getattr(person, key, None) != value:
            changes[key] = value
            setattr(person, key, value)
    new_tags = tags.named(session, data.tags)
    if sorted(t.name for t in person.tags) != sorted(t.name for t in new_tags):
        changes["tags"] = [t.name for t in new_tags]
        person.tags = new_tags
    return changes


def create_person(session: Session, *, data: PersonCreate, actor: User | None) -> Person:
    person = Person(tags=[], contact_points=[], positions=[])
    _apply_person(session, person, data)
    _refresh_person_search(session, person)
    session.add(person)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="person.create",
        entity_type="person",
        entity_id=person.id,
        summary=f"Created {display_person(person)}",
    )
    return person


def update_person(
    session: Session, *, person_id: int, data: PersonUpdate, actor: User | None
) -> Person:
    person = get_person(session, person_id)
    if person.version != data.version:
        raise Conflict(STALE.format(what="person", mine=data.version, theirs=person.version))
    changes = _apply_person(session, person, data)
    _refresh_person_search(session, person)
    _flush_versioned(session, "person")
    if changes:
        audit.record(
            session,
            user=actor,
            action="person.update",
            entity_type="person",
            entity_id=person.id,
            summary=f"Edited {', '.join(sorted(changes))}",
            details={"fields": sorted(changes)},
        )
    return person


def delete_person(session: Session, *, person_id: int, actor: User | None) -> None:
    person = get_person(session, person_id)
    name = display_person(person)
    session.delete(person)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="person.delete",
        entity_type="person",
        entity_id=person_id,
        summary=f"Deleted {name}",
    )


def _flush_versioned(session: Session, what: str) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(
            f"Someone else changed this {what} at the same moment; nothing was saved. Reload it."
        ) from exc


def display_person(person: Person) -> str:
    return addressing.display_person(
        person.honorific, person.given_name, person.family_name, person.native_name
    )


# --- organisations -----------------------------------------------------------------------------


def organisation_search_parts(
    name: str,
    short_name: str,
    native_name: str,
    office_title: str,
    host_city: str,
    name_forms: Any,
    extra: Sequence[str] = (),
) -> str:
    """An organisation's search column from its values (also for reindexing from plain rows)."""
    return search_text(
        name,
        short_name,
        native_name,
        office_title,
        host_city,
        *names.name_form_texts(None, name_forms),
        *extra,
    )


def organisation_search_text(org: Organisation, extra: Sequence[str] = ()) -> str:
    return organisation_search_parts(
        org.name,
        org.short_name,
        org.native_name,
        org.office_title,
        org.host_city,
        org.name_forms,
        extra,
    )


def _refresh_org_search(org: Organisation, session: Session | None = None) -> None:
    """Names, aliases, then email addresses (an embassy is found by its address too)."""
    emails: list[str] = []
    aliases: list[str] = []
    if org.id is not None and session is not None:
        emails = list(
            session.scalars(
                select(ContactPoint.value).where(
                    ContactPoint.organisation_id == org.id, ContactPoint.kind == ContactKind.email
                )
            )
        )
        aliases = alias_names(session, organisation_id=org.id)
    org.search_text = organisation_search_text(org, [*aliases, *emails])


def refresh_search(
    session: Session, kind: Literal["person", "organisation"], record_id: int
) -> None:
    """Recompute one record's search column (after its aliases or addresses changed)."""
    session.flush()
    if kind == "person":
        _refresh_person_search(session, get_person(session, record_id))
    else:
        _refresh_org_search(get_organisation(session, record_id), session)
    session.flush()


def _apply_org(session: Session, org: Organisation, data: OrganisationBase) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    values = data.model_dump(exclude={"tags", "version", "country", "host_country"})
    values["country_id"] = _country_id(session, data.country, "country")
    values["host_country_id"] = _country_id(session, data.host_country, "host_country")
    if values["parent_id"] is not None:
        if org.id is not None and values["parent_id"] == org.id:
            raise InvalidInput("An organisation cannot be its own parent.")
        if session.get(Organisation, values["parent_id"]) is None:
            raise InvalidInput(f"parent_id: no organisation has the id {values['parent_id']}.")
    for key, value in values.items():
        if getattr(org, key, None) != value:
            changes[key] = value
            setattr(org, key, value)
    new_tags = tags.named(session, data.tags)
    if sorted(t.name for t in org.tags) != sorted(t.name for t in new_tags):
        changes["tags"] = [t.name for t in new_tags]
        org.tags = new_tags
    _refresh_org_search(org, session)
    return changes


def create_organisation(
    session: Session, *, data: OrganisationCreate, actor: User | None
) -> Organisation:
    org = Organisation(tags=[], contact_points=[], positions=[])
    _apply_org(session, org, data)
    session.add(org)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="organisation.create",
        entity_type="organisation",
        entity_id=org.id,
        summary=f"Created {org.name}",
    )
    return org


def update_organisation(
    session: Session, *, organisation_id: int, data: OrganisationUpdate, actor: User | None
) -> Organisation:
    org = get_organisation(session, organisation_id)
    if org.version != data.version:
        raise Conflict(STALE.format(what="organisation", mine=data.version, theirs=org.version))
    changes = _apply_org(session, org, data)
    _flush_versioned(session, "organisation")
    if changes:
        audit.record(
            session,
            user=actor,
            action="organisation.update",
            entity_type="organisation",
            entity_id=org.id,
            summary=f"Edited {', '.join(sorted(changes))}",
            details={"fields": sorted(changes)},
        )
    return org


def delete_organisation(session: Session, *, organisation_id: int, actor: User | None) -> None:
    org = get_organisation(session, organisation_id)
    children = session.scalar(
        select(func.count()).select_from(Organisation).where(Organisation.parent_id == org.id)
    )
    name = org.name
    session.delete(org)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="organisation.delete",
        entity_type="organisation",
        entity_id=organisation_id,
        summary=f"Deleted {name}"
        + (f" ({children} sub-organisations detached)" if children else ""),
    )


# --- positions ---------------------------------------------------------------------------------


def get_position(session: Session, position_id: int) -> Position:
    pos = session.get(Position, position_id)
    if pos is None:
        raise NotFound(f"No position has the id {position_id}.")
    return pos


def create_position(session: Session, *, data: PositionCreate, actor: User | None) -> Position:
    person = session.get(Person, data.person_id)
    org = session.get(Organisation, data.organisation_id)
    if person is None:
        raise InvalidInput(f"person_id: no person has the id {data.person_id}.")
    if org is None:
        raise InvalidInput(f"organisation_id: no organisation has the id {data.organisation_id}.")
    pos = Position(**data.model_dump())
    session.add(pos)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="position.create",
        entity_type="person",
        entity_id=person.id,
        summary=f"Position added: {pos.title}, {org.name}",
        details={"position_id": pos.id, "organisation_id": org.id},
    )
    return pos


def update_position(
    session: Session, *, position_id: int, data: PositionUpdate, actor: User | None
) -> Position:
    pos = get_position(session, position_id)
    for key, value in data.model_dump().items():
        setattr(pos, key, value)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="position.update",
        entity_type="person",
        entity_id=pos.person_id,
        summary=f"Position edited: {pos.title}",
        details={"position_id": pos.id},
    )
    return pos


def end_position(session: Session, *, position_id: int, on: date, actor: User | None) -> Position:
    """The person left the position on ``on``; the record stays for the history."""
    pos = get_position(session, position_id)
    if pos.start_date and on < pos.start_date:
        raise InvalidInput(
            "The end date is before the start date.",
            errors=[{"field": "end_date", "message": "before the start date"}],
        )
    pos.end_date = on
    session.flush()
    audit.record(
        session,
        user=actor,
        action="position.end",
        entity_type="person",
        entity_id=pos.person_id,
        summary=f"Position ended on {on.isoformat()}: {pos.title}",
        details={"position_id": pos.id},
    )
    return pos


def delete_position(session: Session, *, position_id: int, actor: User | None) -> None:
    pos = get_position(session, position_id)
    person_id, title = pos.person_id, pos.title
    session.delete(pos)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="position.delete",
        entity_type="person",
        entity_id=person_id,
        summary=f"Position removed: {title}",
    )


def office_holder(
    session: Session, *, organisation_id: int, on: date | None = None
) -> Position | None:
    """Who held the organisation's office on a date (the latest-started holder that day)."""
    on = on or date.today()
    query = (
        select(Position)
        .join(Organisation, Organisation.id == Position.organisation_id)
        .options(selectinload(Position.person))
        .where(
            Position.organisation_id == organisation_id,
            addressing.holds_office_clause(),
            *addressing.active_clauses(on),
        )
        .order_by(*addressing.order_clauses(addressing.POSITION_ORDER, Position))
        .limit(1)
    )
    return session.scalar(query)


def current_position(person: Person, on: date | None = None) -> Position | None:
    """The person's position on a date: an office holder's first, then the latest started."""
    return addressing.choose_position(person.positions, on or date.today())


# --- contact points ----------------------------------------------------------------------------


def _owner_entity(cp: ContactPoint) -> tuple[str, int]:
    if cp.person_id is not None:
        return "person", cp.person_id
    assert cp.organisation_id is not None
    return "organisation", cp.organisation_id


def _touch_owner(session: Session, cp: ContactPoint) -> None:
    if cp.person_id is not None:
        person = get_person(session, cp.person_id)
        _refresh_person_search(session, person)
    elif cp.organisation_id is not None:
        _refresh_org_search(get_organisation(session, cp.organisation_id), session)


def _describe(cp: ContactPoint | ContactPointIn) -> str:
    if cp.kind == ContactKind.postal:
        return f"{cp.street_address}, {cp.city}"
    return cp.value


def _check_postal(data: ContactPointIn) -> None:
    """Postal addresses follow the destination country's rules (required fields, postcodes)."""
    if data.kind != ContactKind.postal:
        return
    problems = addressing.postal_errors(
        street_address=data.street_address,
        city=data.city,
        city_area=data.city_area,
        postal_code=data.postal_code,
        country_area=data.country_area,
        country_code=data.country_code,
    )
    if problems:
        raise InvalidInput(
            "The address does not follow its country's postal rules: "
            + "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in problems.items())
            + ".",
            errors=[{"field": k, "message": v} for k, v in problems.items()],
        )


def create_contact_point(
    session: Session, *, data: ContactPointCreate, actor: User | None
) -> ContactPoint:
    located.locate(session, data, person_id=data.person_id, organisation_id=data.organisation_id)
    _check_postal(data)
    if data.person_id is not None and session.get(Person, data.person_id) is None:
        raise InvalidInput(f"person_id: no person has the id {data.person_id}.")
    if data.organisation_id is not None and session.get(Organisation, data.organisation_id) is None:
        raise InvalidInput(f"organisation_id: no organisation has the id {data.organisation_id}.")
    cp = ContactPoint(**data.model_dump())
    session.add(cp)
    session.flush()
    if cp.preferred:
        _only_preferred(session, cp)
    _touch_owner(session, cp)
    kind, owner = _owner_entity(cp)
    audit.record(
        session,
        user=actor,
        action="contact_point.create",
        entity_type=kind,
        entity_id=owner,
        summary=f"Added {cp.kind.value} {_describe(cp)}",
        details={"contact_point_id": cp.id},
    )
    return cp


def get_contact_point(session: Session, contact_point_id: int) -> ContactPoint:
    cp = session.get(ContactPoint, contact_point_id)
    if cp is None:
        raise NotFound(f"No contact point has the id {contact_point_id}.")
    return cp


def update_contact_point(
    session: Session, *, contact_point_id: int, data: ContactPointIn, actor: User | None
) -> ContactPoint:
    cp = get_contact_point(session, contact_point_id)
    located.locate(session, data, person_id=cp.person_id, organisation_id=cp.organisation_id)
    _check_postal(data)
    before = _describe(cp)
    for key, value in data.model_dump().items():
        setattr(cp, key, value)
    session.flush()
    if cp.preferred:
        _only_preferred(session, cp)
    _touch_owner(session, cp)
    kind, owner = _owner_entity(cp)
    after = _describe(cp)
    audit.record(
        session,
        user=actor,
        action="contact_point.update",
        entity_type=kind,
        entity_id=owner,
        summary=f"Changed {cp.kind.value} {before} → {after}"
        if before != after
        else f"Edited {cp.kind.value} {after}",
        details={"contact_point_id": cp.id, "before": before, "after": after},
    )
    return cp


def delete_contact_point(session: Session, *, contact_point_id: int, actor: User | None) -> None:
    cp = get_contact_point(session, contact_point_id)
    kind, owner = _owner_entity(cp)
    text = f"Removed {cp.kind.value} {_describe(cp)}"
    session.delete(cp)
    session.flush()
    if kind == "person":
        _refresh_person_search(session, get_person(session, owner))
    else:
        _refresh_org_search(get_organisation(session, owner), session)
    audit.record(
        session,
        user=actor,
        action="contact_point.delete",
        entity_type=kind,
        entity_id=owner,
        summary=text,
    )


def _only_preferred(session: Session, cp: ContactPoint) -> None:
    owner = (
        ContactPoint.person_id == cp.person_id
        if cp.person_id is not None
        else ContactPoint.organisation_id == cp.organisation_id
    )
    for other in session.scalars(
        select(ContactPoint).where(owner, ContactPoint.kind == cp.kind, ContactPoint.id != cp.id)
    ):
        other.preferred = False
    session.flush()


def points_of(
    session: Session, *, person_id: int | None = None, organisation_id: int | None = None
) -> Sequence[ContactPoint]:
    """A person's or an organisation's contact points."""
    column = ContactPoint.person_id if person_id is not None else ContactPoint.organisation_id
    owner = person_id if person_id is not None else organisation_id
    return session.scalars(select(ContactPoint).where(column == owner)).all()
