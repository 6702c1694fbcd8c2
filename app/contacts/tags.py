"""Tags on people and organisations: listing, creating, renaming and deleting them, and the tags
a record names (created on first use)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.db import fold
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Tag, User


def list_tags(session: Session) -> Sequence[Tag]:
    return session.scalars(select(Tag).order_by(Tag.name)).all()


def get_tag(session: Session, tag_id: int) -> Tag:
    tag = session.get(Tag, tag_id)
    if tag is None:
        raise NotFound(f"No tag has the id {tag_id}.")
    return tag


def _tag_name_free(session: Session, name: str, tag_id: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("A tag needs a name.", errors=[{"field": "name", "message": "empty"}])
    clash = session.scalar(select(Tag.id).where(fold(Tag.name) == name.lower()))
    if clash is not None and clash != tag_id:
        raise Conflict(f"A tag named {name!r} already exists.")
    return name


def create_tag(session: Session, *, name: str, actor: User | None) -> Tag:
    tag = Tag(name=_tag_name_free(session, name))
    session.add(tag)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="tag.create",
        entity_type="tag",
        entity_id=tag.id,
        summary=f"Created the tag {tag.name}",
    )
    return tag


def rename_tag(session: Session, *, tag_id: int, name: str, actor: User | None) -> Tag:
    tag = get_tag(session, tag_id)
    before = tag.name
    tag.name = _tag_name_free(session, name, tag_id)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="tag.update",
        entity_type="tag",
        entity_id=tag.id,
        summary=f"Renamed the tag {before} → {tag.name}",
    )
    return tag


def delete_tag(session: Session, *, tag_id: int, actor: User | None) -> None:
    tag = get_tag(session, tag_id)
    name = tag.name
    session.delete(tag)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="tag.delete",
        entity_type="tag",
        entity_id=tag_id,
        summary=f"Deleted the tag {name}",
    )


def named(session: Session, names: list[str]) -> list[Tag]:
    """The tags with these names (trimmed, at most 80 characters), created where missing."""
    wanted = sorted({n.strip()[:80] for n in names if n.strip()}, key=str.lower)
    if not wanted:
        return []
    found = {t.name: t for t in session.scalars(select(Tag).where(Tag.name.in_(wanted)))}
    out = []
    for name in wanted:
        tag = found.get(name)
        if tag is None:
            tag = Tag(name=name)
            session.add(tag)
        out.append(tag)
    session.flush()
    return out
