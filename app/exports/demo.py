"""Demo data for exports: a saved segment to take lists from (idempotent)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Segment

DEMO_SEGMENT = "Central Asia initiative: offices"


def load(session: Session) -> None:
    if session.scalar(select(Segment.id).where(Segment.name == DEMO_SEGMENT)) is not None:
        return
    session.add(
        Segment(
            name=DEMO_SEGMENT,
            description="Heads of state's offices and ministries tagged for the initiative",
            filters={"tag": "Central Asia initiative", "kind": "organisation"},
        )
    )
    session.flush()
