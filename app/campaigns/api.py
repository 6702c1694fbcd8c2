"""Campaigns JSON API."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Query
from fastapi.responses import Response

from app.auth.deps import ApiCoordinator, ApiUser
from app.campaigns import service
from app.campaigns.schemas import (
    CampaignCreate,
    CampaignRead,
    CampaignUpdate,
    MilestoneCreate,
    MilestoneRead,
    TargetRead,
)
from app.config import get_settings
from app.db import SessionDep
from app.models import Campaign, CampaignStatus
from app.validation import IsoDate
from app.web.pagination import Paging
from app.web.routing import api_router

router = api_router(prefix="/campaigns", tags=["campaigns"])


def read(campaign: Campaign) -> CampaignRead:
    base = get_settings().base_url.rstrip("/")
    return CampaignRead(
        id=campaign.id,
        name=campaign.name,
        goal=campaign.goal,
        treaty=campaign.treaty.short_name if campaign.treaty else None,
        owner=campaign.owner.email,
        start_date=campaign.start_date,
        end_date=campaign.end_date,
        status=campaign.status,
        reminder_days=campaign.reminder_days,
        reply_days=campaign.reply_days,
        second_approval=campaign.second_approval,
        target_filter=campaign.target_filter,
        countries=[cc.country.iso3 for cc in campaign.countries],
        version=campaign.version,
        calendar_url=f"{base}/calendar/campaigns/{campaign.calendar_token}.ics",
    )


@router.get("", summary="Campaigns")
def list_campaigns(
    session: SessionDep,
    _user: ApiUser,
    paging: Paging,
    q: str = Query(default="", max_length=200),
    status: CampaignStatus | None = None,
) -> dict[str, Any]:
    rows, total = service.list_campaigns(
        session, search=q, status=status, limit=paging.per_page, offset=paging.offset
    )
    return {"total": total, "page": paging.page, "items": [read(c) for c in rows]}


@router.post("", response_model=CampaignRead, status_code=201, summary="Create a campaign")
def create_campaign(
    body: CampaignCreate, session: SessionDep, user: ApiCoordinator
) -> CampaignRead:
    return read(service.create(session, data=body, owner=user, actor=user))


@router.get("/{campaign_id:int}", response_model=CampaignRead, summary="One campaign")
def get_campaign(campaign_id: int, session: SessionDep, _user: ApiUser) -> CampaignRead:
    return read(service.get(session, campaign_id))


@router.put("/{campaign_id:int}", response_model=CampaignRead, summary="Update a campaign")
def update_campaign(
    campaign_id: int, body: CampaignUpdate, session: SessionDep, user: ApiCoordinator
) -> CampaignRead:
    return read(service.update(session, campaign_id=campaign_id, data=body, actor=user))


@router.delete("/{campaign_id:int}", status_code=204, summary="Delete a campaign")
def delete_campaign(campaign_id: int, session: SessionDep, user: ApiCoordinator) -> Response:
    service.delete(session, campaign_id=campaign_id, actor=user)
    return Response(status_code=204)


@router.get(
    "/{campaign_id:int}/targets", response_model=list[TargetRead], summary="Target states now"
)
def campaign_targets(campaign_id: int, session: SessionDep, _user: ApiUser) -> list[TargetRead]:
    campaign = service.get(session, campaign_id)
    return [
        TargetRead(
            iso3=t.country.iso3,
            name=t.country.name,
            sub_region=t.country.sub_region,
            status=t.status,
            hand_picked=t.hand_picked,
        )
        for t in service.targets(session, campaign)
    ]


@router.get(
    "/{campaign_id:int}/milestones",
    response_model=list[MilestoneRead],
    summary="Custom and derived milestones with countdowns",
)
def campaign_milestones(
    campaign_id: int, session: SessionDep, _user: ApiUser, today: IsoDate | None = None
) -> list[MilestoneRead]:
    campaign = service.get(session, campaign_id)
    today = today or date.today()
    return [
        MilestoneRead.model_validate(m.as_dict(today))
        for m in service.milestones(session, campaign, today=today)
    ]


@router.post(
    "/{campaign_id:int}/milestones",
    response_model=MilestoneRead,
    status_code=201,
    summary="Add a custom milestone",
)
def add_milestone(
    campaign_id: int, body: MilestoneCreate, session: SessionDep, user: ApiCoordinator
) -> MilestoneRead:
    m = service.add_milestone(session, campaign_id=campaign_id, data=body, actor=user)
    view = service.MilestoneView(
        f"custom:{m.id}", "custom", m.title, m.due_date, m.description, m.id
    )
    return MilestoneRead.model_validate(view.as_dict(date.today()))


@router.delete(
    "/{campaign_id:int}/milestones/{milestone_id:int}", status_code=204, summary="Remove one"
)
def delete_milestone(
    campaign_id: int, milestone_id: int, session: SessionDep, user: ApiCoordinator
) -> Response:
    service.delete_milestone(
        session, campaign_id=campaign_id, milestone_id=milestone_id, actor=user
    )
    return Response(status_code=204)
