"""Letters through their life: approval, sending by email (through the outbox) or by hand,
follow-up of unanswered letters.

States::

    draft ──approve──▶ approved ──send──▶ sent ──(reply logged)──▶ replied
      ▲                   │  (email: "sending" until the outbox reports)   └──close──▶ closed
      └──withdraw/edit────┘                 └──▶ failed / bounced ──send again──▶ sent

A letter is *sending* while it is approved and its email has been requested or queued; the
outbox (``app.mail``) delivers it exactly once and ``sync_from_outbox`` moves the letter to
``sent`` or ``failed``. Approval needs a coordinator; a second coordinator as well when the
setting ``DEMARCHE_LETTER_SECOND_APPROVAL`` or the letter's campaign (``second_approval``) asks.

Each job has its module: ``lifecycle`` (approval, edits, closing, replied and bounced),
``sending`` (email through the outbox, post and other channels), ``followup`` (overdue letters
and reminders) and ``queues`` (the lists by stage). This module holds what they all use: finding
a letter, its displayed status, and the checks and audit entry every change goes through.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.correspondence.addressing import address_token
from app.db import fold
from app.errors import Conflict, NotFound
from app.models import Letter, LetterStatus, Role, User


def get_by_address_token(session: Session, token: str) -> Letter | None:
    """The letter whose reference travels as ``token`` in an address, if any."""
    wanted = token.strip().upper()
    exact = session.scalar(select(Letter).where(func.upper(Letter.reference) == wanted))
    if exact is not None:
        return exact
    candidates = session.scalars(
        select(Letter).where(
            func.upper(func.replace(Letter.reference, "/", "-")) == wanted.replace("/", "-")
        )
    ).all()
    return next((c for c in candidates if address_token(c.reference).upper() == wanted), None)


def get(session: Session, letter_id: int) -> Letter:
    letter = session.get(Letter, letter_id)
    if letter is None:
        raise NotFound(f"No letter has the id {letter_id}.")
    return letter


def get_by_reference(session: Session, reference: str) -> Letter | None:
    return session.scalar(select(Letter).where(Letter.reference == reference))


def is_sending(letter: Letter) -> bool:
    return letter.status == LetterStatus.approved and (
        letter.outbox_id is not None or letter.send_requested_at is not None
    )


def display_status(letter: Letter) -> str:
    """The status people see: adds "sending" and "awaiting second approval"."""
    if is_sending(letter):
        return "sending"
    if letter.status == LetterStatus.draft and letter.approved_by_id is not None:
        return "awaiting second approval"
    return letter.status.value


def check_version(letter: Letter, version: int | None) -> None:
    if version is not None and version != letter.version:
        raise Conflict(
            f"Letter {letter.reference} was changed by someone else since you opened it "
            f"(version {letter.version}, you had {version}); reload and try again."
        )


def flush_letter(session: Session, letter: Letter) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(
            f"Letter {letter.reference} was changed at the same time by someone else; reload."
        ) from None


def record(
    session: Session,
    letter: Letter,
    actor: User | None,
    action: str,
    summary: str,
    **details: Any,
) -> None:
    audit.record(
        session,
        user=actor,
        action=f"letter.{action}",
        entity_type="letter",
        entity_id=letter.id,
        summary=f"{letter.reference}: {summary}",
        details={"status": display_status(letter), **details},
    )


def refuse(letter: Letter, doing: str) -> Conflict:
    return Conflict(
        f"Letter {letter.reference} cannot be {doing}: it is {display_status(letter)}.",
        title="Not allowed in this state",
    )


def require_coordinator(actor: User, doing: str) -> None:
    if not actor.role.at_least(Role.coordinator):
        from app.errors import Forbidden

        raise Forbidden(f"Only a coordinator can {doing} a letter.")


def page(
    session: Session, query: Any, order: Sequence[Any], limit: int, offset: int
) -> tuple[list[Letter], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()
    return list(rows), total


def scoped(query: Any, campaign_id: int | None, batch_id: int | None, q: str) -> Any:
    if campaign_id is not None:
        query = query.where(Letter.campaign_id == campaign_id)
    if batch_id is not None:
        query = query.where(Letter.batch_id == batch_id)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(
            fold(Letter.reference).like(like)
            | fold(Letter.recipient_name).like(like)
            | fold(Letter.subject).like(like)
        )
    return query
