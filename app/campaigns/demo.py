"""Demo campaign: universalising the CCM in Central Asia (idempotent)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.campaigns import service
from app.campaigns.schemas import CampaignCreate, MilestoneCreate, TargetFilter
from app.models import Campaign, CampaignStatus
from app.treaties.rules import Status

DEMO_NAME = "Universalise the CCM in Central Asia"
OWNER = "coordinator@demarche.example"


def load(session: Session) -> None:
    owner = auth_service.get_by_email(session, email=OWNER)
    if owner is None or session.scalar(select(Campaign.id).where(Campaign.name == DEMO_NAME)):
        return
    today = date.today()
    campaign = service.create(
        session,
        data=CampaignCreate(
            name=DEMO_NAME,
            goal=(
                "Bring Kazakhstan, Kyrgyzstan, Tajikistan, Turkmenistan and Uzbekistan into the "
                "Convention on Cluster Munitions."
            ),
            treaty="CCM",
            start_date=today - timedelta(days=30),
            end_date=today + timedelta(days=365),
            status=CampaignStatus.active,
            target_filter=TargetFilter(
                sub_region="Central Asia", statuses=[Status.non_signatory, Status.signatory]
            ),
            countries=[],
        ),
        owner=owner,
        actor=owner,
    )
    for days, title, note in [
        (10, "Letters to Central Asian foreign ministries", "First round of letters signed"),
        (45, "Regional workshop in Dushanbe", "Invite MFA and MoD officials"),
        (120, "Follow-up meetings with missions in Geneva", ""),
    ]:
        service.add_milestone(
            session,
            campaign_id=campaign.id,
            data=MilestoneCreate(
                title=title, due_date=today + timedelta(days=days), description=note
            ),
            actor=owner,
        )
