"""Treaties JSON API: treaties, status on any date, a country's treaty record, state actions."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Query

from app.auth.deps import ApiAdmin, ApiCoordinator, ApiUser
from app.countries import service as countries_service
from app.db import SessionDep
from app.treaties import actions, service
from app.treaties.rules import Status
from app.treaties.schemas import (
    CountryTreatyRead,
    ExtensionCreate,
    ObligationCreate,
    ObligationRead,
    StateActionCreate,
    StateActionRead,
    StateActionUpdate,
    StatusCount,
    TreatyCreate,
    TreatyRead,
)
from app.validation import IsoDate
from app.web.pagination import Paging
from app.web.routing import api_router

router = api_router(tags=["treaties"])


@router.get("/treaties", response_model=list[TreatyRead], summary="Treaties and obligations")
def list_treaties(session: SessionDep, _user: ApiUser) -> list[TreatyRead]:
    return [TreatyRead.model_validate(t) for t in service.list_treaties(session)]


@router.post("/treaties", response_model=TreatyRead, status_code=201, summary="Add a treaty")
def create_treaty(body: TreatyCreate, session: SessionDep, admin: ApiAdmin) -> TreatyRead:
    return TreatyRead.model_validate(service.create_treaty(session, data=body, actor=admin))


@router.get("/treaties/{short_name}", response_model=TreatyRead, summary="One treaty")
def get_treaty(short_name: str, session: SessionDep, _user: ApiUser) -> TreatyRead:
    return TreatyRead.model_validate(service.get_by_short_name(session, short_name))


@router.post(
    "/treaties/{short_name}/obligations",
    response_model=ObligationRead,
    status_code=201,
    summary="Add an obligation to a treaty",
)
def add_obligation(
    short_name: str, body: ObligationCreate, session: SessionDep, admin: ApiAdmin
) -> ObligationRead:
    treaty = service.get_by_short_name(session, short_name)
    obligation = service.add_obligation(session, treaty=treaty, data=body, actor=admin)
    return ObligationRead.model_validate(obligation)


@router.get(
    "/treaties/{short_name}/status",
    summary="Every state's status on a date (default today)",
)
def treaty_status(
    short_name: str,
    session: SessionDep,
    _user: ApiUser,
    on: IsoDate | None = None,
    status: Status | None = None,
    region: str | None = Query(default=None, max_length=60),
    sub_region: str | None = Query(default=None, max_length=60),
) -> dict[str, Any]:
    treaty = service.get_by_short_name(session, short_name)
    on = on or date.today()
    picture, rows = service.status_table(
        session, treaty, on=on, status=status, region=region, sub_region=sub_region
    )
    return {
        "treaty": treaty.short_name,
        "on": on.isoformat(),
        "entry_into_force": picture.entry_into_force,
        "states": [
            {
                "iso3": country.iso3,
                "name": country.name,
                "region": country.region,
                "sub_region": country.sub_region,
                "status": st.value,
                "entry_into_force": record.entry_into_force if record else None,
            }
            for country, record, st in rows
        ],
    }


@router.get("/treaties/{short_name}/counts", response_model=StatusCount, summary="Status counts")
def treaty_counts(
    short_name: str, session: SessionDep, _user: ApiUser, on: IsoDate | None = None
) -> StatusCount:
    treaty = service.get_by_short_name(session, short_name)
    on = on or date.today()
    return StatusCount(
        treaty=treaty.short_name,
        on=on,
        entry_into_force=service.treaty_eif(session, treaty),
        counts=service.status_counts(session, treaty, on=on),
    )


@router.get(
    "/treaties/{short_name}/meetings", summary="Meetings of States Parties and Review Conferences"
)
def treaty_meetings(short_name: str, session: SessionDep, _user: ApiUser) -> list[dict[str, Any]]:
    treaty = service.get_by_short_name(session, short_name)
    return [
        {
            "name": m.name,
            "city": m.city,
            "country_iso3": m.country_iso3,
            "start_date": m.start_date,
            "end_date": m.end_date,
            "source": m.source,
        }
        for m in service.list_meetings(session, treaty_id=treaty.id)
    ]


@router.get(
    "/countries/{code}/treaties",
    response_model=list[CountryTreatyRead],
    summary="A state's status, entry-into-force date and deadlines under each treaty",
)
def country_treaties(
    code: str, session: SessionDep, _user: ApiUser, on: IsoDate | None = None
) -> list[CountryTreatyRead]:
    country = countries_service.get_by_code(session, code)
    return [
        CountryTreatyRead.model_validate(row)
        for row in service.country_treaties(session, country.id, on=on)
    ]


@router.get("/state-actions", summary="Signatures, instruments and withdrawals")
def list_actions(
    session: SessionDep,
    _user: ApiUser,
    paging: Paging,
    country: str | None = Query(default=None, max_length=3),
    treaty: str | None = Query(default=None, max_length=20),
) -> dict[str, Any]:
    country_id = countries_service.get_by_code(session, country).id if country else None
    treaty_id = service.get_by_short_name(session, treaty).id if treaty else None
    rows, total = actions.list_actions(
        session,
        country_id=country_id,
        treaty_id=treaty_id,
        limit=paging.per_page,
        offset=paging.offset,
    )
    return {
        "total": total,
        "page": paging.page,
        "items": [StateActionRead.model_validate(r).model_dump(mode="json") for r in rows],
    }


@router.post(
    "/state-actions", response_model=StateActionRead, status_code=201, summary="Record an action"
)
def create_action(
    body: StateActionCreate, session: SessionDep, user: ApiCoordinator
) -> StateActionRead:
    return StateActionRead.model_validate(actions.create_action(session, data=body, actor=user))


@router.put(
    "/state-actions/{action_id:int}", response_model=StateActionRead, summary="Correct an action"
)
def update_action(
    action_id: int, body: StateActionUpdate, session: SessionDep, user: ApiCoordinator
) -> StateActionRead:
    action = actions.update_action(session, action_id=action_id, data=body, actor=user)
    return StateActionRead.model_validate(action)


@router.get("/state-actions/{action_id:int}/history", summary="Earlier values of an action")
def action_history(action_id: int, session: SessionDep, _user: ApiUser) -> list[dict[str, Any]]:
    actions.get_action(session, action_id)
    return [
        {"at": e.at, "actor": e.actor, "action": e.action, "details": e.details}
        for e in actions.action_history(session, action_id)
    ]


@router.post("/extensions", status_code=201, summary="Record a deadline extension")
def add_extension(
    body: ExtensionCreate, session: SessionDep, user: ApiCoordinator
) -> dict[str, Any]:
    ext = actions.add_extension(session, data=body, actor=user)
    return {"id": ext.id, "new_deadline": ext.new_deadline, "granted_by": ext.granted_by}
