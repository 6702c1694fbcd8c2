"""Contacts JSON API: people, organisations, positions, contact points, tags, segments, search.

Roles: any signed-in user (campaigner and up) reads, creates and edits; deleting anything
(a person, an organisation, a position, a contact point, a tag, a segment) needs a coordinator.
Edits of people and organisations carry the ``version`` read; a stale one is refused with 409.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import object_session

from app.auth.deps import ApiCoordinator, ApiUser
from app.contacts import aliases, names, recipients, segments, service, tags, timeline
from app.contacts import search as contacts_search
from app.contacts.schemas import (
    LANGUAGE_PATTERN,
    AliasRead,
    ContactPointCreate,
    ContactPointIn,
    ContactPointRead,
    OrganisationCreate,
    OrganisationDetail,
    OrganisationUpdate,
    PersonCreate,
    PersonDetail,
    PersonUpdate,
    PositionCreate,
    PositionRead,
    PositionUpdate,
    RecipientRead,
    SearchFilters,
    SearchPage,
    SegmentIn,
    SegmentRead,
    TagCreate,
    TagRead,
    TagUpdate,
    TimelineEventRead,
    TreatyStatusFilter,
)
from app.db import SessionDep
from app.errors import InvalidInput
from app.models import Organisation, OrganisationType, Person, Segment
from app.validation import IsoDate
from app.web.pagination import Paging
from app.web.routing import api_router

router = api_router(tags=["contacts"])


def search_filters(
    q: Annotated[str, Query(max_length=200, description="Name in any script")] = "",
    kind: Literal["", "person", "organisation"] = "",
    organisation_type: OrganisationType | None = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    country: Annotated[str, Query(max_length=3, description="ISO alpha-2 or alpha-3")] = "",
    region: Annotated[str, Query(max_length=40)] = "",
    sub_region: Annotated[str, Query(max_length=60)] = "",
    tag: Annotated[str, Query(max_length=80)] = "",
    position: Annotated[str, Query(max_length=200)] = "",
    treaty: Annotated[str, Query(max_length=20, description="Treaty short name")] = "",
    treaty_status: TreatyStatusFilter = "",
    treaty_on: Annotated[
        IsoDate | None, Query(description="Read `treaty_status` on this day (default: today)")
    ] = None,
    include_sample: bool = True,
) -> SearchFilters:
    values = dict(locals())
    try:
        return SearchFilters.model_validate(values)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "filters", "message": e["msg"]}
            for e in exc.errors()
        ]
        raise InvalidInput(
            "Invalid search filters: " + "; ".join(e["message"] for e in errors), errors=errors
        ) from exc


Filters = Annotated[SearchFilters, Depends(search_filters)]


def person_read(person: Person) -> PersonDetail:
    return PersonDetail(
        id=person.id,
        honorific=person.honorific,
        given_name=person.given_name,
        family_name=person.family_name,
        native_name=person.native_name,
        name_forms=names.person_forms_dict(person.name_forms),
        gender=person.gender,
        preferred_language=person.preferred_language,
        notes=person.notes,
        salutation_overrides=dict(person.salutation_overrides or {}),
        no_email=person.no_email,
        no_post=person.no_post,
        is_sample=person.is_sample,
        tags=sorted(t.name for t in person.tags),
        version=person.version,
        positions=[PositionRead.model_validate(p) for p in person.positions],
        contact_points=[ContactPointRead.model_validate(c) for c in person.contact_points],
        aliases=_aliases(person, "person"),
    )


def organisation_read(org: Organisation) -> OrganisationDetail:
    return OrganisationDetail(
        id=org.id,
        name=org.name,
        short_name=org.short_name,
        native_name=org.native_name,
        type=org.type,
        parent_id=org.parent_id,
        country=org.country.iso3 if org.country else None,
        host_country=org.host_country.iso3 if org.host_country else None,
        host_city=org.host_city,
        un_location=org.un_location,
        office_title=org.office_title,
        name_forms=names.organisation_forms_of(org.name_forms),
        preferred_language=org.preferred_language,
        website=org.website,
        notes=org.notes,
        no_email=org.no_email,
        no_post=org.no_post,
        is_sample=org.is_sample,
        tags=sorted(t.name for t in org.tags),
        version=org.version,
        positions=[PositionRead.model_validate(p) for p in org.positions],
        contact_points=[ContactPointRead.model_validate(c) for c in org.contact_points],
        aliases=_aliases(org, "organisation"),
    )


def _aliases(record: Person | Organisation, kind: Literal["person", "organisation"]) -> list[Any]:
    """The record's other names, read in the session that loaded it."""
    session = object_session(record)
    if session is None:
        return []
    return [AliasRead.model_validate(a) for a in aliases.list_aliases(session, kind, record.id)]


def segment_read(segment: Segment) -> SegmentRead:
    return SegmentRead(
        id=segment.id,
        name=segment.name,
        description=segment.description,
        filters=segments.filters_of(segment),
    )


def _recipient(rec: recipients.Recipient) -> RecipientRead:
    data = rec.as_dict()
    return RecipientRead.model_validate(data)


def _timeline(events: list[timeline.TimelineEvent]) -> list[TimelineEventRead]:
    return [
        TimelineEventRead(when=e.when, kind=e.kind, title=e.title, detail=e.detail, url=e.url)
        for e in events
    ]


Language = Annotated[str | None, Query(pattern=LANGUAGE_PATTERN, max_length=20)]


# --- search -------------------------------------------------------------------------------------


@router.get("/contacts/search", response_model=SearchPage, summary="Search the directory")
def search_contacts(session: SessionDep, _user: ApiUser, filters: Filters, paging: Paging) -> Any:
    return contacts_search.search(session, filters, paging.page, paging.per_page)


# --- people -------------------------------------------------------------------------------------


@router.get("/people", response_model=SearchPage, summary="People (with the search filters)")
def list_people(session: SessionDep, _user: ApiUser, filters: Filters, paging: Paging) -> Any:
    filters = filters.model_copy(update={"kind": "person"})
    return contacts_search.search(session, filters, paging.page, paging.per_page)


@router.post("/people", response_model=PersonDetail, status_code=201, summary="Create a person")
def create_person(body: PersonCreate, session: SessionDep, user: ApiUser) -> PersonDetail:
    person = service.create_person(session, data=body, actor=user)
    return person_read(service.get_person(session, person.id))


@router.get("/people/{person_id:int}", response_model=PersonDetail, summary="One person")
def get_person(person_id: int, session: SessionDep, _user: ApiUser) -> PersonDetail:
    return person_read(service.get_person(session, person_id))


@router.put(
    "/people/{person_id:int}",
    response_model=PersonDetail,
    summary="Update a person (send the version you read; a stale one gives 409)",
)
def update_person(
    person_id: int, body: PersonUpdate, session: SessionDep, user: ApiUser
) -> PersonDetail:
    service.update_person(session, person_id=person_id, data=body, actor=user)
    return person_read(service.get_person(session, person_id))


@router.delete("/people/{person_id:int}", status_code=204, summary="Delete a person")
def delete_person(person_id: int, session: SessionDep, user: ApiCoordinator) -> Response:
    service.delete_person(session, person_id=person_id, actor=user)
    return Response(status_code=204)


@router.get(
    "/people/{person_id:int}/recipient",
    response_model=RecipientRead,
    summary="How to address the person: salutations and address block",
)
def person_recipient(
    person_id: int,
    session: SessionDep,
    _user: ApiUser,
    language: Language = None,
    on: IsoDate | None = None,
) -> RecipientRead:
    return _recipient(recipients.recipient(session, person_id=person_id, on=on, language=language))


@router.get(
    "/people/{person_id:int}/timeline",
    response_model=list[TimelineEventRead],
    summary="Positions, letters, replies and edits, newest first",
)
def person_timeline(person_id: int, session: SessionDep, _user: ApiUser) -> Any:
    service.get_person(session, person_id)
    return _timeline(timeline.timeline(session, kind="person", entity_id=person_id))


# --- organisations ------------------------------------------------------------------------------


@router.get(
    "/organisations", response_model=SearchPage, summary="Organisations (with the search filters)"
)
def list_organisations(
    session: SessionDep, _user: ApiUser, filters: Filters, paging: Paging
) -> Any:
    filters = filters.model_copy(update={"kind": "organisation"})
    return contacts_search.search(session, filters, paging.page, paging.per_page)


@router.post(
    "/organisations",
    response_model=OrganisationDetail,
    status_code=201,
    summary="Create an organisation",
)
def create_organisation(
    body: OrganisationCreate, session: SessionDep, user: ApiUser
) -> OrganisationDetail:
    org = service.create_organisation(session, data=body, actor=user)
    return organisation_read(service.get_organisation(session, org.id))


@router.get(
    "/organisations/{organisation_id:int}",
    response_model=OrganisationDetail,
    summary="One organisation",
)
def get_organisation(organisation_id: int, session: SessionDep, _user: ApiUser) -> Any:
    return organisation_read(service.get_organisation(session, organisation_id))


@router.put(
    "/organisations/{organisation_id:int}",
    response_model=OrganisationDetail,
    summary="Update an organisation (send the version you read; a stale one gives 409)",
)
def update_organisation(
    organisation_id: int, body: OrganisationUpdate, session: SessionDep, user: ApiUser
) -> OrganisationDetail:
    service.update_organisation(session, organisation_id=organisation_id, data=body, actor=user)
    return organisation_read(service.get_organisation(session, organisation_id))


@router.delete(
    "/organisations/{organisation_id:int}", status_code=204, summary="Delete an organisation"
)
def delete_organisation(
    organisation_id: int, session: SessionDep, user: ApiCoordinator
) -> Response:
    service.delete_organisation(session, organisation_id=organisation_id, actor=user)
    return Response(status_code=204)


@router.get(
    "/organisations/{organisation_id:int}/recipient",
    response_model=RecipientRead,
    summary="How to address the organisation's office (its holder on the date)",
)
def organisation_recipient(
    organisation_id: int,
    session: SessionDep,
    _user: ApiUser,
    language: Language = None,
    on: IsoDate | None = None,
) -> RecipientRead:
    rec = recipients.recipient(session, organisation_id=organisation_id, on=on, language=language)
    return _recipient(rec)


@router.get(
    "/organisations/{organisation_id:int}/timeline",
    response_model=list[TimelineEventRead],
    summary="Positions, letters, replies and edits, newest first",
)
def organisation_timeline(organisation_id: int, session: SessionDep, _user: ApiUser) -> Any:
    service.get_organisation(session, organisation_id)
    return _timeline(timeline.timeline(session, kind="organisation", entity_id=organisation_id))


# --- positions ----------------------------------------------------------------------------------


@router.post(
    "/positions", response_model=PositionRead, status_code=201, summary="Add a position held"
)
def create_position(body: PositionCreate, session: SessionDep, user: ApiUser) -> Any:
    return PositionRead.model_validate(service.create_position(session, data=body, actor=user))


@router.get("/positions/{position_id:int}", response_model=PositionRead, summary="One position")
def get_position(position_id: int, session: SessionDep, _user: ApiUser) -> Any:
    return PositionRead.model_validate(service.get_position(session, position_id))


@router.put(
    "/positions/{position_id:int}",
    response_model=PositionRead,
    summary="Edit a position (set end_date to end it)",
)
def update_position(
    position_id: int, body: PositionUpdate, session: SessionDep, user: ApiUser
) -> Any:
    pos = service.update_position(session, position_id=position_id, data=body, actor=user)
    return PositionRead.model_validate(pos)


@router.delete("/positions/{position_id:int}", status_code=204, summary="Delete a position")
def delete_position(position_id: int, session: SessionDep, user: ApiCoordinator) -> Response:
    service.delete_position(session, position_id=position_id, actor=user)
    return Response(status_code=204)


# --- contact points -----------------------------------------------------------------------------


@router.post(
    "/contact-points",
    response_model=ContactPointRead,
    status_code=201,
    summary="Add a postal address, email, phone or fax",
)
def create_contact_point(body: ContactPointCreate, session: SessionDep, user: ApiUser) -> Any:
    cp = service.create_contact_point(session, data=body, actor=user)
    return ContactPointRead.model_validate(cp)


@router.get(
    "/contact-points/{contact_point_id:int}",
    response_model=ContactPointRead,
    summary="One contact point",
)
def get_contact_point(contact_point_id: int, session: SessionDep, _user: ApiUser) -> Any:
    return ContactPointRead.model_validate(service.get_contact_point(session, contact_point_id))


@router.put(
    "/contact-points/{contact_point_id:int}",
    response_model=ContactPointRead,
    summary="Edit a contact point",
)
def update_contact_point(
    contact_point_id: int, body: ContactPointIn, session: SessionDep, user: ApiUser
) -> Any:
    cp = service.update_contact_point(
        session, contact_point_id=contact_point_id, data=body, actor=user
    )
    return ContactPointRead.model_validate(cp)


@router.delete(
    "/contact-points/{contact_point_id:int}", status_code=204, summary="Delete a contact point"
)
def delete_contact_point(
    contact_point_id: int, session: SessionDep, user: ApiCoordinator
) -> Response:
    service.delete_contact_point(session, contact_point_id=contact_point_id, actor=user)
    return Response(status_code=204)


# --- tags ---------------------------------------------------------------------------------------


@router.get("/tags", response_model=list[TagRead], summary="Every tag")
def list_tags(session: SessionDep, _user: ApiUser) -> Any:
    return [TagRead.model_validate(t) for t in tags.list_tags(session)]


@router.post("/tags", response_model=TagRead, status_code=201, summary="Create a tag")
def create_tag(body: TagCreate, session: SessionDep, user: ApiUser) -> Any:
    return TagRead.model_validate(tags.create_tag(session, name=body.name, actor=user))


@router.put("/tags/{tag_id:int}", response_model=TagRead, summary="Rename a tag")
def rename_tag(tag_id: int, body: TagUpdate, session: SessionDep, user: ApiUser) -> Any:
    tag = tags.rename_tag(session, tag_id=tag_id, name=body.name, actor=user)
    return TagRead.model_validate(tag)


@router.delete("/tags/{tag_id:int}", status_code=204, summary="Delete a tag (untags everyone)")
def delete_tag(tag_id: int, session: SessionDep, user: ApiCoordinator) -> Response:
    tags.delete_tag(session, tag_id=tag_id, actor=user)
    return Response(status_code=204)


# --- segments -----------------------------------------------------------------------------------


@router.get("/segments", summary="Saved searches")
def list_segments(
    session: SessionDep,
    _user: ApiUser,
    paging: Paging,
    q: Annotated[str, Query(max_length=200)] = "",
) -> dict[str, Any]:
    rows, total = segments.list_segments(
        session, search=q, limit=paging.per_page, offset=paging.offset
    )
    return {"total": total, "page": paging.page, "items": [segment_read(s) for s in rows]}


@router.post(
    "/segments", response_model=SegmentRead, status_code=201, summary="Save a search as a segment"
)
def create_segment(body: SegmentIn, session: SessionDep, user: ApiUser) -> Any:
    return segment_read(segments.create(session, data=body, actor=user))


@router.get("/segments/{segment_id:int}", response_model=SegmentRead, summary="One segment")
def get_segment(segment_id: int, session: SessionDep, _user: ApiUser) -> Any:
    return segment_read(segments.get(session, segment_id))


@router.put("/segments/{segment_id:int}", response_model=SegmentRead, summary="Edit a segment")
def update_segment(segment_id: int, body: SegmentIn, session: SessionDep, user: ApiUser) -> Any:
    return segment_read(segments.update(session, segment_id=segment_id, data=body, actor=user))


@router.delete("/segments/{segment_id:int}", status_code=204, summary="Delete a segment")
def delete_segment(segment_id: int, session: SessionDep, user: ApiCoordinator) -> Response:
    segments.delete(session, segment_id=segment_id, actor=user)
    return Response(status_code=204)


@router.get(
    "/segments/{segment_id:int}/members",
    response_model=SearchPage,
    summary="The segment's people and organisations, evaluated now",
)
def segment_members(segment_id: int, session: SessionDep, _user: ApiUser, paging: Paging) -> Any:
    return segments.members(
        session, segment_id=segment_id, page=paging.page, per_page=paging.per_page
    )
