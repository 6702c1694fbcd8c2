"""JSON API for identities: aliases of people and organisations, likely duplicates, and undoing
a merge.

Roles: any signed-in user reads and adds aliases; removing one needs a coordinator (as deleting
anything in the directory). Duplicates and undoing merges are for coordinators, who merge."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.auth.deps import ApiCoordinator, ApiUser
from app.contacts import aliases, duplicates, unmerge
from app.contacts.schemas import AliasIn, AliasRead
from app.db import SessionDep
from app.web.routing import api_router

router = api_router(tags=["contacts identities"])

Id = Annotated[int, Query(ge=1, le=2**31 - 1)]


# --- aliases -------------------------------------------------------------------------------------


def _list(session: SessionDep, kind: aliases.Kind, owner_id: int) -> list[AliasRead]:
    aliases._check_owner(session, kind, owner_id)
    return [AliasRead.model_validate(a) for a in aliases.list_aliases(session, kind, owner_id)]


def _add(session: SessionDep, kind: aliases.Kind, owner_id: int, body: AliasIn, user: Any) -> Any:
    alias = aliases.add_alias(
        session, kind=kind, owner_id=owner_id, name=body.name, alias_kind=body.kind, actor=user
    )
    return AliasRead.model_validate(alias)


@router.get(
    "/people/{person_id:int}/aliases", response_model=list[AliasRead], summary="A person's aliases"
)
def person_aliases(person_id: int, session: SessionDep, _user: ApiUser) -> Any:
    return _list(session, "person", person_id)


@router.post(
    "/people/{person_id:int}/aliases",
    response_model=AliasRead,
    status_code=201,
    summary="Add another name a person is known by (409 if they already answer to it)",
)
def add_person_alias(person_id: int, body: AliasIn, session: SessionDep, user: ApiUser) -> Any:
    return _add(session, "person", person_id, body, user)


@router.delete(
    "/people/{person_id:int}/aliases/{alias_id:int}",
    status_code=204,
    summary="Remove a person's alias",
)
def remove_person_alias(
    person_id: int, alias_id: int, session: SessionDep, user: ApiCoordinator
) -> Response:
    aliases.remove_alias(session, kind="person", owner_id=person_id, alias_id=alias_id, actor=user)
    return Response(status_code=204)


@router.get(
    "/organisations/{organisation_id:int}/aliases",
    response_model=list[AliasRead],
    summary="An organisation's aliases",
)
def organisation_aliases(organisation_id: int, session: SessionDep, _user: ApiUser) -> Any:
    return _list(session, "organisation", organisation_id)


@router.post(
    "/organisations/{organisation_id:int}/aliases",
    response_model=AliasRead,
    status_code=201,
    summary="Add another name an organisation is known by (409 if it already answers to it)",
)
def add_organisation_alias(
    organisation_id: int, body: AliasIn, session: SessionDep, user: ApiUser
) -> Any:
    return _add(session, "organisation", organisation_id, body, user)


@router.delete(
    "/organisations/{organisation_id:int}/aliases/{alias_id:int}",
    status_code=204,
    summary="Remove an organisation's alias",
)
def remove_organisation_alias(
    organisation_id: int, alias_id: int, session: SessionDep, user: ApiCoordinator
) -> Response:
    aliases.remove_alias(
        session, kind="organisation", owner_id=organisation_id, alias_id=alias_id, actor=user
    )
    return Response(status_code=204)


# --- duplicates ----------------------------------------------------------------------------------


class CandidateRead(BaseModel):
    kind: Literal["person", "organisation"]
    a_id: int
    a_name: str
    b_id: int
    b_name: str
    score: int = Field(description="How alike the folded names are, 0-100")
    reasons: list[str]


class CandidatePageRead(BaseModel):
    items: list[CandidateRead]
    total: int
    page: int
    per_page: int


class DismissIn(BaseModel):
    kind: Literal["person", "organisation"]
    a_id: int = Field(ge=1, le=2**31 - 1)
    b_id: int = Field(ge=1, le=2**31 - 1)


@router.get(
    "/duplicates",
    response_model=CandidatePageRead,
    summary="Likely duplicate people or organisations, most alike first",
)
def list_duplicates(
    session: SessionDep,
    _user: ApiCoordinator,
    kind: Literal["person", "organisation"] = "person",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    found = duplicates.candidate_page(session, kind, page, per_page)
    return CandidatePageRead(
        items=[
            CandidateRead(
                kind=c.kind,
                a_id=c.a_id,
                a_name=c.a_name,
                b_id=c.b_id,
                b_name=c.b_name,
                score=c.score,
                reasons=c.reasons,
            )
            for c in found.items
        ],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
    )


@router.post(
    "/duplicates/dismiss",
    status_code=204,
    summary="Mark two records as not duplicates (not offered again)",
)
def dismiss_duplicate(body: DismissIn, session: SessionDep, user: ApiCoordinator) -> Response:
    duplicates.dismiss(session, kind=body.kind, a_id=body.a_id, b_id=body.b_id, actor=user)
    return Response(status_code=204)


# --- undoing merges ------------------------------------------------------------------------------


class UndoRead(BaseModel):
    kind: Literal["person", "organisation"]
    kept_id: int
    restored_id: int
    restored_name: str
    moved_back: dict[str, int] = Field(description="Rows given back, per table.column")
    recreated: dict[str, int] = Field(description="Rows the merge had deleted, made again")
    gone: dict[str, int] = Field(description="Rows the merge moved that were deleted since")
    kept_edits: list[str] = Field(description="Fields of the kept record edited since: kept")


@router.post(
    "/contacts/merges/{audit_id:int}/undo",
    response_model=UndoRead,
    summary="Undo a merge, from its audit entry (409 when no longer safe, with the reason)",
)
def undo_merge(audit_id: int, session: SessionDep, user: ApiCoordinator) -> Any:
    report = unmerge.undo(session, audit_id=audit_id, actor=user)
    return UndoRead(**report.__dict__)
