"""The only routes reachable without a session: calendar feeds behind unguessable tokens."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.campaigns import calendar, service
from app.db import SessionDep

router = APIRouter(prefix="/calendar", include_in_schema=False)
ICS = "text/calendar; charset=utf-8"


@router.get("/campaigns/{token}.ics", name="campaign_feed")
def campaign_feed(token: str, session: SessionDep) -> Response:
    campaign = service.get_by_token(session, token)
    items = [(campaign, m) for m in service.milestones(session, campaign)]
    return Response(calendar.feed(campaign.name, items), media_type=ICS)


@router.get("/users/{token}.ics", name="user_feed")
def user_feed(token: str, session: SessionDep) -> Response:
    user = service.user_by_calendar_token(session, token)
    campaigns, _ = service.list_campaigns(session, owner_id=user.id, limit=200)
    items = [(c, m) for c in campaigns for m in service.milestones(session, c)]
    return Response(
        calendar.feed(f"Demarche — {user.full_name or user.email}", items), media_type=ICS
    )
