"""The organisation profile (letterhead, signatory) — one row."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.models import OrganisationProfile, User
from app.settings_admin.schemas import ProfileUpdate


def get_profile(session: Session) -> OrganisationProfile:
    profile = session.scalar(select(OrganisationProfile).order_by(OrganisationProfile.id).limit(1))
    if profile is None:
        profile = OrganisationProfile(name="Our campaign")
        session.add(profile)
        session.flush()
    return profile


def update_profile(
    session: Session, *, data: ProfileUpdate, actor: User | None
) -> OrganisationProfile:
    profile = get_profile(session)
    changes = {}
    for field, value in data.model_dump().items():
        if field == "country_code":
            value = value.upper()
        if getattr(profile, field) != value:
            changes[field] = value
            setattr(profile, field, value)
    session.flush()
    if changes:
        audit.record(
            session,
            user=actor,
            action="profile.update",
            entity_type="organisation_profile",
            entity_id=profile.id,
            summary="Updated the organisation profile",
            details={"fields": sorted(changes)},
        )
    return profile
