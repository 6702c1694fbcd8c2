"""Campaigns web UI: list, form, dashboard with countdowns, milestones, calendar feeds."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.auth import service as auth_service
from app.auth.deps import WebCoordinator, WebUser
from app.campaigns import service
from app.campaigns.schemas import CampaignCreate, CampaignUpdate, MilestoneCreate
from app.countries import service as countries_service
from app.dashboard.service import register_panel
from app.db import SessionDep
from app.errors import DomainError
from app.models import Campaign, CampaignStatus, Role, User
from app.treaties import service as treaties_service
from app.treaties.rules import Status
from app.web.forms import FormDep, field_errors, validate
from app.web.pagination import Page, page_query
from app.web.routing import web_router
from app.web.templating import redirect, render

router = web_router(prefix="/campaigns")
PER_PAGE = 25


def _form_payload(form: dict[str, Any]) -> dict[str, Any]:
    """Flat form fields to the nested schema shape."""
    data = {k: v for k, v in form.items() if not k.startswith("filter_")}
    data["target_filter"] = {
        "region": form.get("filter_region", ""),
        "sub_region": form.get("filter_sub_region", ""),
        "statuses": form.get("filter_statuses", []),
        "as_of": form.get("filter_as_of", ""),
    }
    return data


def _form_values(campaign: Campaign | None, user: User) -> dict[str, Any]:
    if campaign is None:
        return {
            "status": "draft",
            "reminder_days": 14,
            "reply_days": 30,
            "filter_statuses": [],
            "owner": user.email,
        }
    flt = campaign.target_filter or {}
    return {
        "name": campaign.name,
        "goal": campaign.goal,
        "treaty": campaign.treaty.short_name if campaign.treaty else "",
        "start_date": campaign.start_date.isoformat() if campaign.start_date else "",
        "end_date": campaign.end_date.isoformat() if campaign.end_date else "",
        "status": campaign.status.value,
        "reminder_days": campaign.reminder_days,
        "reply_days": campaign.reply_days,
        "second_approval": campaign.second_approval,
        "owner": campaign.owner.email,
        "filter_region": flt.get("region", ""),
        "filter_sub_region": flt.get("sub_region", ""),
        "filter_statuses": flt.get("statuses", []),
        "filter_as_of": flt.get("as_of") or "",
        "countries": ", ".join(cc.country.iso3 for cc in campaign.countries),
        "version": campaign.version,
    }


def _form_page(
    request: Request,
    session: SessionDep,
    campaign: Campaign | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    statuses = values.get("filter_statuses") or []
    values["filter_statuses"] = [statuses] if isinstance(statuses, str) else statuses
    regions = countries_service.regions(session)
    ctx = {
        "campaign": campaign,
        "values": values,
        "errors": errors or {},
        "treaty_options": [("", "No treaty")]
        + [(t.short_name, t.short_name) for t in treaties_service.list_treaties(session)],
        "status_options": [(s.value, s.value.title()) for s in CampaignStatus],
        "region_options": [("", "Any region")] + [(r, r) for r, _ in regions],
        "sub_region_options": [("", "Any sub-region")]
        + [(s, s) for _, subs in regions for s in subs],
        "treaty_statuses": list(Status),
        "owner_options": [
            (u.email, u.full_name or u.email)
            for u in auth_service.list_users(session)
            if u.is_active
        ],
    }
    return render(request, "campaigns/form.html", ctx, status_code=422 if errors else 200)


@router.get("", name="campaigns_home")
def campaigns_home(
    request: Request,
    session: SessionDep,
    user: WebUser,
    q: str = "",
    status: str = "",
    page: int = 1,
) -> Response:
    page = max(1, min(page, 100_000))
    chosen = CampaignStatus(status) if status in CampaignStatus.__members__ else None
    rows, total = service.list_campaigns(
        session, search=q[:200], status=chosen, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    ctx = {
        "campaigns": rows,
        "q": q,
        "status": status,
        "page": Page(page=page, per_page=PER_PAGE, total=total),
        "page_query": page_query({"q": q, "status": status}),
        "can_edit": user.role.at_least(Role.coordinator),
        "status_options": [("", "Any status")]
        + [(s.value, s.value.title()) for s in CampaignStatus],
    }
    return render(request, "campaigns/index.html", ctx, block="results")


@router.get("/new", name="campaign_new")
def campaign_new(request: Request, session: SessionDep, user: WebCoordinator) -> Response:
    return _form_page(request, session, None, _form_values(None, user))


@router.post("", name="campaign_create")
def campaign_create(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep
) -> Response:
    data, errors = validate(CampaignCreate, _form_payload(form))
    if data is None:
        return _form_page(request, session, None, dict(form), errors)
    try:
        campaign = service.create(session, data=data, owner=user, actor=user)
    except DomainError as exc:
        return _form_page(request, session, None, dict(form), field_errors(exc))
    return redirect(request, f"/campaigns/{campaign.id}", message="Campaign created.")


@router.get("/calendar", name="my_calendar")
def my_calendar(request: Request, session: SessionDep, user: WebUser) -> Response:
    token = user.calendar_token
    url = str(request.url_for("user_feed", token=token)) if token else ""
    return render(request, "campaigns/calendar.html", {"feed_url": url})


@router.post("/calendar", name="my_calendar_token")
def my_calendar_token(request: Request, session: SessionDep, user: WebUser) -> Response:
    service.ensure_user_calendar_token(session, user, rotate=True)
    return redirect(request, "/campaigns/calendar", message="Your calendar address is ready.")


@router.get("/{campaign_id:int}", name="campaign_detail")
def campaign_detail(
    request: Request, session: SessionDep, user: WebUser, campaign_id: int
) -> Response:
    return _detail(request, session, user, campaign_id)


def _detail(
    request: Request,
    session: SessionDep,
    user: User,
    campaign_id: int,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    campaign = service.get(session, campaign_id)
    board = service.dashboard(session, campaign)
    # Milestones long past (older meetings, the treaty's own entry into force) fold away.
    history_from = min(campaign.start_date or board["today"], board["today"]) - timedelta(days=365)
    ctx = {
        "campaign": campaign,
        **board,
        "history_from": history_from,
        "show_all": request.query_params.get("all") == "1",
        "hidden_count": sum(1 for m in board["milestones"] if m.due_date < history_from),
        "can_edit": user.role.at_least(Role.coordinator),
        "errors": errors or {},
        "form": form or {},
    }
    return render(request, "campaigns/detail.html", ctx, status_code=422 if errors else 200)


@router.get("/{campaign_id:int}/edit", name="campaign_edit")
def campaign_edit(
    request: Request, session: SessionDep, user: WebCoordinator, campaign_id: int
) -> Response:
    campaign = service.get(session, campaign_id)
    return _form_page(request, session, campaign, _form_values(campaign, user))


@router.post("/{campaign_id:int}", name="campaign_update")
def campaign_update(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep, campaign_id: int
) -> Response:
    campaign = service.get(session, campaign_id)
    data, errors = validate(CampaignUpdate, _form_payload(form))
    if data is None:
        return _form_page(request, session, campaign, dict(form), errors)
    try:
        service.update(session, campaign_id=campaign_id, data=data, actor=user)
    except DomainError as exc:
        return _form_page(request, session, campaign, dict(form), field_errors(exc))
    return redirect(request, f"/campaigns/{campaign_id}", message="Campaign saved.")


@router.post("/{campaign_id:int}/delete", name="campaign_delete")
def campaign_delete(
    request: Request, session: SessionDep, user: WebCoordinator, campaign_id: int
) -> Response:
    service.delete(session, campaign_id=campaign_id, actor=user)
    return redirect(request, "/campaigns", message="Campaign deleted.")


@router.post("/{campaign_id:int}/calendar", name="campaign_token")
def campaign_token(
    request: Request, session: SessionDep, user: WebCoordinator, campaign_id: int
) -> Response:
    service.rotate_campaign_token(session, campaign_id=campaign_id, actor=user)
    return redirect(
        request, f"/campaigns/{campaign_id}", message="New calendar address; the old one is dead."
    )


@router.post("/{campaign_id:int}/milestones", name="milestone_create")
def milestone_create(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep, campaign_id: int
) -> Response:
    data, errors = validate(MilestoneCreate, form)
    if data is None:
        return _detail(request, session, user, campaign_id, errors, dict(form))
    service.add_milestone(session, campaign_id=campaign_id, data=data, actor=user)
    return redirect(request, f"/campaigns/{campaign_id}", message="Milestone added.")


@router.post("/{campaign_id:int}/milestones/{milestone_id:int}/delete", name="milestone_delete")
def milestone_delete(
    request: Request,
    session: SessionDep,
    user: WebCoordinator,
    campaign_id: int,
    milestone_id: int,
) -> Response:
    service.delete_milestone(
        session, campaign_id=campaign_id, milestone_id=milestone_id, actor=user
    )
    return redirect(request, f"/campaigns/{campaign_id}", message="Milestone removed.")


@register_panel
def upcoming_panel(session: Any, user: User) -> dict[str, Any] | None:
    rows = service.upcoming_for_owner(session, user)
    if not rows:
        return None
    today = date.today()
    return {
        "title": "Upcoming milestones",
        "template": "campaigns/_panel.html",
        "milestone_rows": [
            (c.id, c.name, m.title, m.due_date, m.countdown(today)) for c, m in rows
        ],
    }
