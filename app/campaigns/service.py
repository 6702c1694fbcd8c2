"""Campaigns: targets re-evaluated from a saved filter, derived and custom milestones."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.auth import service as auth_service
from app.campaigns.schemas import CampaignCreate, CampaignUpdate, MilestoneCreate, TargetFilter
from app.countries import service as countries_service
from app.db import fold
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Campaign, CampaignCountry, CampaignStatus, Country, Milestone, User
from app.models.treaties import Treaty
from app.treaties import rules
from app.treaties import service as treaties_service
from app.treaties.rules import Status


def _query() -> Any:
    return select(Campaign).options(
        joinedload(Campaign.treaty),
        joinedload(Campaign.owner),
        selectinload(Campaign.countries).joinedload(CampaignCountry.country),
        selectinload(Campaign.milestones),
    )


def get(session: Session, campaign_id: int) -> Campaign:
    campaign = session.scalar(_query().where(Campaign.id == campaign_id))
    if campaign is None:
        raise NotFound(f"No campaign has the id {campaign_id}.")
    return campaign


def get_by_token(session: Session, token: str) -> Campaign:
    campaign = session.scalar(_query().where(Campaign.calendar_token == token))
    if campaign is None:
        raise NotFound("No calendar is published at this address.")
    return campaign


def list_campaigns(
    session: Session,
    *,
    search: str = "",
    status: CampaignStatus | None = None,
    owner_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Campaign], int]:
    query = select(Campaign)
    if search:
        term = search.strip().lower()
        query = query.where(
            or_(
                fold(Campaign.name).contains(term, autoescape=True),
                fold(Campaign.goal).contains(term, autoescape=True),
            )
        )
    if status is not None:
        query = query.where(Campaign.status == status)
    if owner_id is not None:
        query = query.where(Campaign.owner_id == owner_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = session.scalars(
        query.with_only_columns(Campaign.id)
        .order_by(Campaign.start_date.desc(), Campaign.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    rows = {c.id: c for c in session.scalars(_query().where(Campaign.id.in_(ids)))}
    return [rows[i] for i in ids], total


def _owner(session: Session, email: str) -> User:
    user = auth_service.get_by_email(session, email=email.strip())
    if user is None or not user.is_active:
        raise InvalidInput(
            f"No active user has the email {email!r}.",
            errors=[{"field": "owner", "message": "unknown user"}],
        )
    return user


def _apply(session: Session, campaign: Campaign, data: CampaignCreate | CampaignUpdate) -> None:
    if data.owner:
        campaign.owner = _owner(session, data.owner)
    treaty_id = None
    if data.treaty:
        treaty_id = treaties_service.get_by_short_name(session, data.treaty).id
    campaign.name = data.name
    campaign.goal = data.goal
    campaign.treaty_id = treaty_id
    campaign.start_date = data.start_date
    campaign.end_date = data.end_date
    campaign.status = data.status
    campaign.reminder_days = data.reminder_days
    campaign.reply_days = data.reply_days
    campaign.second_approval = data.second_approval
    campaign.target_filter = data.target_filter.model_dump(mode="json")
    wanted = []
    for code in dict.fromkeys(data.countries):
        try:
            wanted.append(countries_service.get_by_code(session, code))
        except NotFound:
            raise InvalidInput(
                f"{code} is not a country code.", errors=[{"field": "countries", "message": code}]
            ) from None
    have = {cc.country_id: cc for cc in campaign.countries}
    campaign.countries[:] = [
        have.get(c.id) or CampaignCountry(country_id=c.id, country=c) for c in wanted
    ]


def create(session: Session, *, data: CampaignCreate, owner: User, actor: User) -> Campaign:
    campaign = Campaign(owner=owner, countries=[], milestones=[])
    _apply(session, campaign, data)
    session.add(campaign)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="campaign.create",
        entity_type="campaign",
        entity_id=campaign.id,
        summary=f"Created the campaign {campaign.name}",
    )
    return get(session, campaign.id)


def update(session: Session, *, campaign_id: int, data: CampaignUpdate, actor: User) -> Campaign:
    campaign = get(session, campaign_id)
    if campaign.version != data.version:
        raise Conflict("Someone else changed this campaign since you opened it; reload and retry.")
    _apply(session, campaign, data)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("Someone else changed this campaign at the same time; reload.") from None
    audit.record(
        session,
        user=actor,
        action="campaign.update",
        entity_type="campaign",
        entity_id=campaign.id,
        summary=f"Edited the campaign {campaign.name}",
    )
    return get(session, campaign.id)


def delete(session: Session, *, campaign_id: int, actor: User) -> None:
    campaign = get(session, campaign_id)
    session.delete(campaign)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="campaign.delete",
        entity_type="campaign",
        entity_id=campaign_id,
        summary=f"Deleted the campaign {campaign.name}",
    )


def add_milestone(
    session: Session, *, campaign_id: int, data: MilestoneCreate, actor: User
) -> Milestone:
    campaign = get(session, campaign_id)
    milestone = Milestone(**data.model_dump())
    campaign.milestones.append(milestone)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="campaign.milestone.create",
        entity_type="campaign",
        entity_id=campaign.id,
        summary=f"Added the milestone {data.title} ({data.due_date}) to {campaign.name}",
    )
    return milestone


def delete_milestone(session: Session, *, campaign_id: int, milestone_id: int, actor: User) -> None:
    campaign = get(session, campaign_id)
    milestone = next((m for m in campaign.milestones if m.id == milestone_id), None)
    if milestone is None:
        raise NotFound(f"Campaign {campaign_id} has no milestone {milestone_id}.")
    campaign.milestones.remove(milestone)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="campaign.milestone.delete",
        entity_type="campaign",
        entity_id=campaign_id,
        summary=f"Removed the milestone {milestone.title}",
    )


# --- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    country: Country
    status: Status | None
    hand_picked: bool


def targets(session: Session, campaign: Campaign, *, on: date | None = None) -> list[Target]:
    """The filter's states (evaluated now) plus the hand-picked ones, by name."""
    flt = TargetFilter.model_validate(campaign.target_filter or {})
    treaty = campaign.treaty
    statuses = (
        treaties_service.statuses(session, treaty, on=flt.as_of or on or date.today())
        if treaty
        else {}
    )
    picked = {cc.country_id for cc in campaign.countries}
    chosen: dict[int, Country] = {cc.country_id: cc.country for cc in campaign.countries}
    if not flt.is_empty:
        wanted = set(flt.statuses)
        for country in countries_service.list_countries(
            session, states_only=True, region=flt.region or None, sub_region=flt.sub_region or None
        ):
            if not wanted or statuses.get(country.id) in wanted:
                chosen[country.id] = country
    return sorted(
        (
            Target(c, statuses.get(cid) if treaty else None, cid in picked)
            for cid, c in chosen.items()
        ),
        key=lambda t: t.country.name,
    )


# --- milestones -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MilestoneView:
    key: str
    kind: str  # custom, treaty_eif, state_eif, meeting, deadline, annual
    title: str
    due_date: date
    description: str = ""
    id: int | None = None

    def countdown(self, today: date) -> str:
        what = "entry into force" if self.kind in {"treaty_eif", "state_eif"} else ""
        return rules.countdown(self.due_date, today, what)

    def as_dict(self, today: date) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "title": self.title,
            "due_date": self.due_date,
            "countdown": self.countdown(today),
            "description": self.description,
            "id": self.id,
        }


def _treaty_milestones(
    session: Session, treaty_id: int, today: date
) -> tuple[Treaty, list[MilestoneView]]:
    """The treaty's own dates: its entry into force, its meetings, the next annual reports."""
    full = treaties_service.get(session, treaty_id)
    out: list[MilestoneView] = []
    eif = treaties_service.treaty_eif(session, full)
    if eif:
        out.append(
            MilestoneView(
                f"eif:{full.short_name}",
                "treaty_eif",
                f"Entry into force of the {full.short_name}",
                eif,
            )
        )
    for m in treaties_service.list_meetings(session, treaty_id=full.id):
        where = f" ({m.city})" if m.city else ""
        out.append(
            MilestoneView(
                f"meeting:{m.id}",
                "meeting",
                f"{full.short_name} {m.name}{where}",
                m.start_date,
                f"{m.start_date.isoformat()} to {m.end_date.isoformat()}",
            )
        )
    for o in full.obligations:
        if o.annual_month and o.annual_day:
            due = rules.deadline(
                rules.ObligationRule(
                    o.code, o.label, annual_month=o.annual_month, annual_day=o.annual_day
                ),
                today,
                on=today,
            )
            out.append(
                MilestoneView(
                    f"annual:{full.short_name}:{o.code}:{due.year}",
                    "annual",
                    f"{o.label} due ({full.short_name} {o.article})",
                    due,
                )
            )
    return full, out


def milestones(
    session: Session,
    campaign: Campaign,
    *,
    today: date | None = None,
    memo: dict[Any, Any] | None = None,
) -> list[MilestoneView]:
    """Custom milestones and those derived from the treaty and the target states, by date.

    ``memo`` shares the treaty's own dates between the campaigns of one listing."""
    today = today or date.today()
    memo = {} if memo is None else memo
    out = [
        MilestoneView(f"custom:{m.id}", "custom", m.title, m.due_date, m.description, m.id)
        for m in campaign.milestones
    ]
    treaty = campaign.treaty
    if treaty is not None:
        key = ("treaty", treaty.id, today)
        if key not in memo:
            memo[key] = _treaty_milestones(session, treaty.id, today)
        full, shared = memo[key]
        out.extend(shared)
        target_list = targets(session, campaign, on=today)
        names = {t.country.id: t.country.name for t in target_list}
        deadlines = treaties_service.deadlines_for(session, full, list(names), on=today)
        picture_eif = treaties_service.state_eifs(session, full, list(names))
        for cid, eif_date in picture_eif.items():
            if eif_date and eif_date >= today:
                out.append(
                    MilestoneView(
                        f"state_eif:{treaty.short_name}:{cid}",
                        "state_eif",
                        f"{treaty.short_name} enters into force for {names[cid]}",
                        eif_date,
                    )
                )
        for cid, items in deadlines.items():
            for d in items:
                if d.code.startswith("annual"):
                    continue
                extended = f" (extended; originally {d.original.isoformat()})" if d.extended else ""
                out.append(
                    MilestoneView(
                        f"deadline:{treaty.short_name}:{cid}:{d.code}",
                        "deadline",
                        f"{names[cid]}: {d.label}",
                        d.current,
                        f"Deadline{extended}",
                    )
                )
    return sorted(out, key=lambda m: (m.due_date, m.title))


def dashboard(session: Session, campaign: Campaign, *, today: date | None = None) -> dict[str, Any]:
    today = today or date.today()
    all_milestones = milestones(session, campaign, today=today)
    target_list = targets(session, campaign, on=today)
    by_status = Counter(t.status.value if t.status else "none" for t in target_list)
    week_end = today + timedelta(days=7)
    return {
        "today": today,
        "targets": target_list,
        "targets_by_status": dict(sorted(by_status.items())),
        "next_milestones": [m for m in all_milestones if m.due_date >= today][:8],
        "due_this_week": [m for m in all_milestones if today <= m.due_date <= week_end],
        "recent_milestones": [
            m for m in all_milestones if today - timedelta(days=30) <= m.due_date < today
        ],
        "milestones": all_milestones,
    }


def upcoming_for_owner(
    session: Session, user: User, *, today: date | None = None, days: int = 60, limit: int = 8
) -> list[tuple[Campaign, MilestoneView]]:
    today = today or date.today()
    campaigns, _ = list_campaigns(session, owner_id=user.id, limit=50)
    rows = []
    memo: dict[Any, Any] = {}
    for campaign in campaigns:
        if campaign.status is CampaignStatus.closed:
            continue
        for m in milestones(session, campaign, today=today, memo=memo):
            if today <= m.due_date <= today + timedelta(days=days):
                rows.append((campaign, m))
    return sorted(rows, key=lambda r: r[1].due_date)[:limit]


def active_campaigns(session: Session) -> Sequence[Campaign]:
    return session.scalars(
        _query().where(Campaign.status != CampaignStatus.closed).order_by(Campaign.id)
    ).all()


def ensure_user_calendar_token(session: Session, user: User, *, rotate: bool = False) -> str:
    if rotate:
        user.calendar_token = None
    token = auth_service.ensure_calendar_token(user)
    session.flush()
    return token


def rotate_campaign_token(session: Session, *, campaign_id: int, actor: User) -> Campaign:
    from app.models.campaigns import new_token

    campaign = get(session, campaign_id)
    campaign.calendar_token = new_token()
    session.flush()
    audit.record(
        session,
        user=actor,
        action="campaign.calendar_token",
        entity_type="campaign",
        entity_id=campaign.id,
        summary=f"Replaced the calendar address of {campaign.name}",
    )
    return campaign


def user_by_calendar_token(session: Session, token: str) -> User:
    user = session.scalar(
        select(User).where(User.calendar_token == token, User.is_active.is_(True))
    )
    if user is None:
        raise NotFound("No calendar is published at this address.")
    return user
