"""The world the merge tests draft letters in: the demo directory, the CMC profile, the appeal
to heads of state and a segment of the six heads of state of the Central Asia initiative."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.contacts import demo as contacts_demo
from app.letters import service as letters_service
from app.mailmerge import demo as mailmerge_demo
from app.models import LetterTemplate, Segment
from app.settings_admin import service as profile_service
from app.settings_admin.schemas import ProfileUpdate

HEADS_OF_STATE = 6  # in the demo directory's Central Asia initiative

CMC_PROFILE = ProfileUpdate(
    name="Cluster Munition Coalition",
    short_name="CMC",
    address="Maison de la Paix\n1202 Geneva\nSwitzerland",
    country_code="CH",
    email="info@cmc.example",
    signatory_name="Thomas Nash",
    signatory_title="Coordinator",
    reference_prefix="CMC",
)


def merge_world(session: Session, segment_name: str) -> dict[str, Any]:
    """Loads the world into ``session`` (flushed, not committed); returns its "segment" (named
    ``segment_name``) and its "template"."""
    profile_service.update_profile(session, data=CMC_PROFILE, actor=None)
    contacts_demo.load(session)
    segment = Segment(name=segment_name, filters=dict(mailmerge_demo.SEGMENT_FILTERS))
    session.add(segment)
    session.flush()
    template = letters_service.get_by_slug(session, "appeal-head-of-state")
    assert isinstance(template, LetterTemplate)
    return {"segment": segment, "template": template}
