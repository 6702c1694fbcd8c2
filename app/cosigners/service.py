"""Co-signers: list, get, create, update, delete, their logos, and what a letter gets of them.

A logo is checked and stored by ``app.settings_admin.images`` (PNG or JPEG from its bytes), as
a file in the letterhead uploads folder named ``cosigner-<id>-<digest>`` (a new name on every
upload): the PDF fetcher serves exactly such names there (``app.letters.fetcher``; the pattern is
in ``app.letters.uploads``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.cosigners.schemas import CosignerCreate, CosignerUpdate
from app.db import fold
from app.errors import Conflict, InvalidInput, NotFound
from app.letters.context import in_language, language_or_default
from app.letters.uploads import UPLOADED_PATTERN
from app.models import Cosigner, User
from app.settings_admin import images
from app.settings_admin.images import StoredImage

LOGO_PREFIX = "cosigner-"
MAX_PER_LETTER = 12


def list_cosigners(
    session: Session, *, q: str = "", limit: int = 50, offset: int = 0
) -> tuple[Sequence[Cosigner], int]:
    """Co-signers by name (``q``: part of the registered name), one page and the total."""
    query = select(Cosigner)
    if q.strip():
        query = query.where(fold(Cosigner.name).contains(q.strip().lower(), autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(func.lower(Cosigner.name), Cosigner.id).limit(limit).offset(offset)
    ).all()
    return rows, total


def all_cosigners(session: Session) -> Sequence[Cosigner]:
    """Every co-signer by name (for choosing them in a merge)."""
    return session.scalars(select(Cosigner).order_by(func.lower(Cosigner.name), Cosigner.id)).all()


def get(session: Session, cosigner_id: int) -> Cosigner:
    cosigner = session.get(Cosigner, cosigner_id)
    if cosigner is None:
        raise NotFound(f"No co-signer {cosigner_id}.")
    return cosigner


def _same_name(session: Session, name: str, *, other_than: int | None = None) -> bool:
    query = select(Cosigner.id).where(fold(Cosigner.name) == name.lower())
    if other_than is not None:
        query = query.where(Cosigner.id != other_than)
    return session.scalar(query.limit(1)) is not None


def _snapshot(c: Cosigner) -> dict[str, Any]:
    return {
        "name": c.name,
        "signatory_name": c.signatory_name,
        "signatory_title": c.signatory_title,
        "translations": c.translations,
    }


def _taken(name: str) -> Conflict:
    return Conflict(
        f"A co-signer called {name!r} already exists.",
        errors=[{"field": "name", "message": "Another co-signer has this name."}],
    )


def create(session: Session, *, data: CosignerCreate, actor: User | None) -> Cosigner:
    if _same_name(session, data.name):
        raise _taken(data.name)
    cosigner = Cosigner(
        name=data.name,
        signatory_name=data.signatory_name,
        signatory_title=data.signatory_title,
        translations=data.translations,
    )
    session.add(cosigner)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="cosigner.create",
        entity_type="cosigner",
        entity_id=cosigner.id,
        summary=f"Added the co-signer {cosigner.name}",
        details={"after": _snapshot(cosigner)},
    )
    return cosigner


def update(
    session: Session, *, cosigner_id: int, data: CosignerUpdate, actor: User | None
) -> Cosigner:
    cosigner = get(session, cosigner_id)
    if cosigner.version != data.version:
        raise Conflict("Someone else changed this co-signer since you opened it; reload and retry.")
    if _same_name(session, data.name, other_than=cosigner.id):
        raise _taken(data.name)
    before = _snapshot(cosigner)
    cosigner.name = data.name
    cosigner.signatory_name = data.signatory_name
    cosigner.signatory_title = data.signatory_title
    cosigner.translations = data.translations
    after = _snapshot(cosigner)
    if before == after:
        return cosigner
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("Someone else changed this co-signer at the same time; reload.") from None
    audit.record(
        session,
        user=actor,
        action="cosigner.update",
        entity_type="cosigner",
        entity_id=cosigner.id,
        summary=f"Edited the co-signer {cosigner.name}",
        details={"before": before, "after": after},
    )
    return cosigner


def delete(session: Session, *, cosigner_id: int, actor: User | None) -> None:
    """Remove a co-signer and its logo (letters already rendered keep theirs in their PDFs)."""
    cosigner = get(session, cosigner_id)
    logo = cosigner.logo_filename
    audit.record(
        session,
        user=actor,
        action="cosigner.delete",
        entity_type="cosigner",
        entity_id=cosigner.id,
        summary=f"Removed the co-signer {cosigner.name}",
        details={"before": _snapshot(cosigner)},
    )
    session.delete(cosigner)
    session.flush()
    if logo:
        _unlink(logo)


# ----------------------------------------------------------------------------- logos


def is_logo_name(name: str) -> bool:
    """A co-signer's logo file name, as the PDF fetcher allows it."""
    return UPLOADED_PATTERN.fullmatch(name) is not None


def _unlink(name: str) -> None:
    if is_logo_name(name):
        (images.directory() / name).unlink(missing_ok=True)


def logo(cosigner: Cosigner) -> StoredImage | None:
    """The co-signer's uploaded logo, or None."""
    if not is_logo_name(cosigner.logo_filename):
        return None
    return images.stored_at(images.directory() / cosigner.logo_filename, "logo")


def upload_logo(
    session: Session, *, cosigner_id: int, data: bytes, actor: User | None
) -> StoredImage:
    """Check an uploaded PNG or JPEG (InvalidInput says what is wrong) and make it the
    co-signer's logo."""
    cosigner = get(session, cosigner_id)
    checked = images.check(data)  # refused before anything is recorded
    digest = hashlib.sha256(data).hexdigest()
    name = f"{LOGO_PREFIX}{cosigner.id}-{digest[:16]}"
    previous = cosigner.logo_filename
    cosigner.logo_filename = name
    session.flush()
    audit.record(
        session,
        user=actor,
        action="cosigner.logo.upload",
        entity_type="cosigner",
        entity_id=cosigner.id,
        summary=f"Uploaded the logo of the co-signer {cosigner.name}",
        details={
            "content_type": checked.content_type,
            "width": checked.width,
            "height": checked.height,
            "bytes": len(data),
            "sha256": digest,
        },
    )
    # Written last: a failed write fails the request, and the row and audit entry roll back.
    stored = images.save_at(images.directory() / name, "logo", data)
    if previous and previous != name:
        _unlink(previous)
    return stored


def remove_logo(session: Session, *, cosigner_id: int, actor: User | None) -> None:
    cosigner = get(session, cosigner_id)
    if not cosigner.logo_filename:
        raise NotFound(f"The co-signer {cosigner.name} has no logo to remove.")
    name = cosigner.logo_filename
    cosigner.logo_filename = ""
    session.flush()
    audit.record(
        session,
        user=actor,
        action="cosigner.logo.remove",
        entity_type="cosigner",
        entity_id=cosigner.id,
        summary=f"Removed the logo of the co-signer {cosigner.name}",
    )
    _unlink(name)


def logo_urls(cosigners: Iterable[Any], *, inline: bool) -> dict[str, str]:
    """For a letter's ``cosigners`` context: each logo file name that is stored, with the URL a
    layout shows it by (a file URL the PDF fetcher serves, or a ``data:`` URL for a browser)."""
    from weasyprint.urls import path2url

    out: dict[str, str] = {}
    for item in cosigners or ():
        name = str(item.get("logo") or "") if isinstance(item, dict) else ""
        if not is_logo_name(name) or name in out:
            continue
        image = images.stored_at(images.directory() / name, "logo")
        if image is not None:
            out[name] = image.data_url() if inline else path2url(str(image.path))
    return out


# ----------------------------------------------------------------------------- letters


def _localised(cosigner: Cosigner, lang: str) -> dict[str, str]:
    facts = {"translations": cosigner.translations or {}}
    return {
        "name": in_language(facts, "name", cosigner.name, lang),
        "signatory_name": in_language(facts, "signatory_name", cosigner.signatory_name, lang),
        "signatory_title": in_language(facts, "signatory_title", cosigner.signatory_title, lang),
        "logo": cosigner.logo_filename if is_logo_name(cosigner.logo_filename) else "",
    }


def _chosen(session: Session, ids: Iterable[int]) -> list[Cosigner]:
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if len(wanted) > MAX_PER_LETTER:
        raise InvalidInput(f"A letter takes at most {MAX_PER_LETTER} co-signers.")
    if not wanted:
        return []
    found = {c.id: c for c in session.scalars(select(Cosigner).where(Cosigner.id.in_(wanted)))}
    if missing := [i for i in wanted if i not in found]:
        raise InvalidInput(
            f"No co-signer {', '.join(str(i) for i in missing)}.",
            errors=[{"field": "cosigner_ids", "message": "Choose co-signers from the list."}],
        )
    return [found[i] for i in wanted]


def cosigners_context(session: Session, ids: list[int], language: str) -> list[dict[str, str]]:
    """What a letter in ``language`` gets of the chosen co-signers, in the order given (repeats
    dropped): ``{"name", "signatory_name", "signatory_title", "logo"}`` each. A language the
    co-signer lacks gives an empty name and title (never the English in another language); the
    signatory's own name stands in English, French and Spanish letters. ``logo`` is the file
    name of its logo ("" for none). Unknown ids are refused (InvalidInput, 422)."""
    lang = language_or_default(language)
    return [_localised(c, lang) for c in _chosen(session, ids)]


def cosigners_gaps(session: Session, ids: list[int], language: str) -> list[str]:
    """The co-signers' texts that a letter in ``language`` lacks though the co-signer has them
    in English ("cosigners.name: Handicap International"), for a merge's empty-field list."""
    lang = language_or_default(language)
    out = []
    for cosigner in _chosen(session, ids):
        shown = _localised(cosigner, lang)
        for key in ("name", "signatory_name", "signatory_title"):
            if getattr(cosigner, key) and not shown[key]:
                out.append(f"cosigners.{key}: {cosigner.name}")
    return out
