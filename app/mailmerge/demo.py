"""Demo mail merge: the appeal to the heads of state of the Central Asia initiative to join the
Convention on Cluster Munitions before its entry into force (idempotent)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.campaigns.demo import DEMO_NAME as CAMPAIGN_NAME
from app.campaigns.demo import OWNER
from app.letters import service as letters_service
from app.mailmerge import service
from app.mailmerge.schemas import MergeCreate, MergeSource
from app.models import Campaign, MergeBatch, Segment

SEGMENT_NAME = "Heads of state — Central Asia initiative"
SEGMENT_FILTERS = {
    "kind": "organisation",
    "organisation_type": "head_of_state_office",
    "tag": "Central Asia initiative",
}
MERGE_NAME = "Appeal to join the CCM before 1 August 2010"
LETTER_DATE = date(2010, 3, 25)


def load(session: Session) -> None:
    if session.scalar(select(MergeBatch.id).where(MergeBatch.name == MERGE_NAME)):
        return
    template = letters_service.get_by_slug(session, "appeal-head-of-state")
    owner = auth_service.get_by_email(session, email=OWNER)
    if template is None or owner is None:
        return
    segment = session.scalar(select(Segment).where(Segment.name == SEGMENT_NAME))
    if segment is None:
        segment = Segment(
            name=SEGMENT_NAME,
            description="Offices of the heads of state tagged for the Central Asia initiative",
            filters=dict(SEGMENT_FILTERS),
        )
        session.add(segment)
        session.flush()
    campaign_id = session.scalar(select(Campaign.id).where(Campaign.name == CAMPAIGN_NAME))
    service.create_merge(
        session,
        data=MergeCreate(
            template_id=template.id,
            source=MergeSource(kind="segment", segment_id=segment.id),
            name=MERGE_NAME,
            campaign_id=campaign_id,
            treaty="CCM",
            letter_date=LETTER_DATE,
        ),
        actor=owner,
    )
