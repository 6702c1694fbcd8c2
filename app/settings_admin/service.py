"""The organisation profile (letterhead, signatory) — one row — and its logo and signature
images (files, see ``images``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.errors import NotFound
from app.models import OrganisationProfile, User
from app.settings_admin import images
from app.settings_admin.images import StoredImage
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


def _kind(kind: str) -> str:
    if kind not in images.KINDS:
        raise NotFound(
            f"No image called {kind!r}; the profile has a {' and a '.join(images.KINDS)}."
        )
    return kind


def letterhead_image(kind: str) -> StoredImage | None:
    """The uploaded logo or signature image, or None."""
    return images.stored(_kind(kind))


def letterhead_images() -> dict[str, StoredImage | None]:
    return {kind: images.stored(kind) for kind in images.KINDS}


def upload_image(session: Session, *, kind: str, data: bytes, actor: User | None) -> StoredImage:
    """Check an uploaded PNG or JPEG (InvalidInput says what is wrong) and make it the letters'
    logo or signature image."""
    label = images.KIND_LABELS[_kind(kind)]
    checked = images.check(data)  # refused before anything is recorded
    profile = get_profile(session)
    audit.record(
        session,
        user=actor,
        action=f"profile.{kind}.upload",
        entity_type="organisation_profile",
        entity_id=profile.id,
        summary=f"Uploaded the {label} image",
        details={
            "content_type": checked.content_type,
            "width": checked.width,
            "height": checked.height,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    # Written last: a failed write fails the request, and its audit entry is rolled back.
    return images.save(kind, data)


def remove_image(session: Session, *, kind: str, actor: User | None) -> None:
    """Remove the uploaded logo (letters show the built-in one) or signature image."""
    profile = get_profile(session)
    label = images.KIND_LABELS[_kind(kind)]
    if images.stored(kind) is None and not images.path_of(kind).exists():
        raise NotFound(f"There is no uploaded {label} image to remove.")
    audit.record(
        session,
        user=actor,
        action=f"profile.{kind}.remove",
        entity_type="organisation_profile",
        entity_id=profile.id,
        summary=f"Removed the {label} image",
    )
    images.remove(kind)


def letterhead_dir() -> Path:
    """The folder of the uploaded images (the letters' fetcher may read them there)."""
    return images.directory()
