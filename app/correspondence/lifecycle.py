"""A letter's states before and after sending: approval by one or two coordinators, edits
(which withdraw an approval), closing, and the replied and bounced marks other domains set."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.correspondence.message import fill_in
from app.correspondence.service import (
    check_version,
    flush_letter,
    get,
    is_sending,
    record,
    refuse,
    require_coordinator,
)
from app.errors import Conflict, InvalidInput
from app.letters.sandbox import own_text
from app.models import AuditEntry, Campaign, Channel, Letter, LetterStatus, Role, User
from app.models.base import utcnow

CLOSABLE = {
    LetterStatus.draft,
    LetterStatus.approved,
    LetterStatus.sent,
    LetterStatus.failed,
    LetterStatus.bounced,
}


def needs_second_approval(session: Session, letter: Letter) -> bool:
    if get_settings().letter_second_approval:
        return True
    if letter.campaign_id is None:
        return False
    return bool(
        session.scalar(select(Campaign.second_approval).where(Campaign.id == letter.campaign_id))
    )


def approve(session: Session, *, letter_id: int, actor: User, version: int | None = None) -> Letter:
    """A coordinator approves a draft; with second approval on, two different coordinators."""
    require_coordinator(actor, "approve")
    letter = get(session, letter_id)
    check_version(letter, version)
    if letter.status != LetterStatus.draft:
        raise refuse(letter, "approved")
    if not letter.subject.strip() or not letter.body_html.strip():
        raise InvalidInput(f"Letter {letter.reference} has no subject or no text to approve.")
    from app.letters.fields import empty_marks, placeholder

    if empty := empty_marks(letter.subject, letter.body_html):
        marks = ", ".join(placeholder(name) for name in empty)
        raise InvalidInput(
            f"Letter {letter.reference} has empty merge fields ({marks}). Fill them in the "
            "letter's text, or mark them optional in the template with | default(...), then "
            "approve it.",
            errors=[{"field": "body_html", "message": f"empty merge fields: {marks}"}],
        )
    now = utcnow()
    if needs_second_approval(session, letter):
        if letter.approved_by_id is None:
            letter.approved_by_id, letter.approved_at = actor.id, now
            flush_letter(session, letter)
            record(session, letter, actor, "approve", "First approval; a second is needed")
            return letter
        if letter.approved_by_id == actor.id:
            raise Conflict(
                f"You already approved {letter.reference}; the second approval must come from "
                "another coordinator.",
                title="Second approver needed",
            )
        letter.second_approved_by_id, letter.second_approved_at = actor.id, now
    else:
        letter.approved_by_id, letter.approved_at = actor.id, now
    letter.status = LetterStatus.approved
    flush_letter(session, letter)
    record(session, letter, actor, "approve", "Approved")
    return letter


def _clear_approval(letter: Letter) -> None:
    letter.status = LetterStatus.draft
    letter.approved_by_id = letter.approved_at = None
    letter.second_approved_by_id = letter.second_approved_at = None


def withdraw_approval(
    session: Session, *, letter_id: int, actor: User, version: int | None = None
) -> Letter:
    letter = get(session, letter_id)
    check_version(letter, version)
    if is_sending(letter):
        raise Conflict(
            f"Letter {letter.reference} is already being sent by email; its approval can no "
            "longer be withdrawn.",
            title="Not allowed in this state",
        )
    partly = letter.status == LetterStatus.draft and letter.approved_by_id is not None
    if letter.status != LetterStatus.approved and not partly:
        raise refuse(letter, "withdrawn from approval")
    _clear_approval(letter)
    flush_letter(session, letter)
    record(session, letter, actor, "withdraw_approval", "Approval withdrawn")
    return letter


def can_edit(letter: Letter, role: Role) -> bool:
    """Drafts are edited by anyone who drafts letters; an approved text only by a coordinator."""
    if letter.status not in {LetterStatus.draft, LetterStatus.approved} or is_sending(letter):
        return False
    return letter.approved_by_id is None or role.at_least(Role.coordinator)


def edit_text(
    session: Session,
    *,
    letter_id: int,
    subject: str,
    body_html: str,
    actor: User,
    version: int | None = None,
) -> Letter:
    """Change a letter's subject or text; an approved letter goes back to draft."""
    from app.letters import service as letters_service

    letter = get(session, letter_id)
    check_version(letter, version)
    if letter.status not in {LetterStatus.draft, LetterStatus.approved} or is_sending(letter):
        raise refuse(letter, "edited")
    if letter.approved_by_id is not None and not actor.role.at_least(Role.coordinator):
        from app.errors import Forbidden

        # Campaigners edit drafts; an approved text changes only with a coordinator, whose
        # edit withdraws the approval.
        raise Forbidden(
            f"Letter {letter.reference} is approved; only a coordinator can change its text."
        )
    if not subject.strip() or not body_html.strip():
        raise InvalidInput(
            "A letter needs a subject and a text.",
            errors=[
                {"field": "subject" if not subject.strip() else "body_html", "message": "required"}
            ],
        )
    letters_service.check_variant(subject=subject, body=body_html)
    # The text must fill in from this letter's context: tried in the renderer, under its
    # limits, before anything changes. The subject is kept filled in, as lists show it.
    filled_subject, _ = fill_in(subject, body_html, letter.context)
    letter.subject, letter.body_html = own_text(filled_subject, "")[0], body_html
    letter.pdf_path, letter.pages = "", 0
    flush_letter(session, letter)  # the before_flush guard withdraws the approval, audit-logged
    record(session, letter, actor, "edit", "Text edited")
    return letter


def edits_withdraw_approval(session: Session, _ctx: Any, _instances: Any) -> None:
    """Whoever edits an approved letter's subject or text (this package or another), the
    approval goes: the text approved is no longer the text to be sent. A session hook (before
    flush), installed on every session by app.hooks at startup."""
    for obj in list(session.dirty):
        if not isinstance(obj, Letter) or obj.approved_by_id is None:
            continue
        if obj.status not in {LetterStatus.approved, LetterStatus.draft} or is_sending(obj):
            continue
        state = inspect(obj)
        changed = []
        for name in ("subject", "body_html"):
            hist = state.attrs[name].history
            if hist.added and (not hist.deleted or hist.deleted[0] != hist.added[0]):
                changed.append(name)
        if not changed:
            continue
        _clear_approval(obj)
        session.add(
            AuditEntry(
                user_id=None,
                actor="system",
                action="letter.withdraw_approval",
                entity_type="letter",
                entity_id=str(obj.id),
                summary=f"{obj.reference}: approval withdrawn because the text was edited",
                details={"changed": changed, "status": "draft"},
            )
        )


def close(
    session: Session, *, letter_id: int, actor: User, note: str = "", version: int | None = None
) -> Letter:
    """No more follow-up: the letter is closed (an unsent draft is abandoned)."""
    letter = get(session, letter_id)
    check_version(letter, version)
    if letter.status not in CLOSABLE or is_sending(letter):
        raise refuse(letter, "closed")
    letter.status = LetterStatus.closed
    if note:
        letter.sent_note = note[:1000]
    flush_letter(session, letter)
    record(session, letter, actor, "close", "Closed" + (f": {note}" if note else ""))
    return letter


def mark_replied(session: Session, *, letter_id: int, actor: User | None) -> Letter:
    """For the replies domain: a reply to this letter was logged."""
    letter = get(session, letter_id)
    if letter.status == LetterStatus.replied:
        return letter
    if letter.status not in {
        LetterStatus.sent,
        LetterStatus.closed,
        LetterStatus.failed,
        LetterStatus.bounced,
    }:
        raise refuse(letter, "marked as replied")
    letter.status = LetterStatus.replied
    flush_letter(session, letter)
    record(session, letter, actor, "replied", "A reply was logged")
    return letter


def mark_bounced(session: Session, *, letter_id: int, reason: str, actor: User | None) -> Letter:
    """For inbound delivery reports: the email came back."""
    letter = get(session, letter_id)
    if letter.status != LetterStatus.sent or letter.channel != Channel.email:
        raise refuse(letter, "marked as bounced")
    letter.status = LetterStatus.bounced
    letter.sent_note = reason[:1000]
    flush_letter(session, letter)
    record(session, letter, actor, "bounced", f"Email bounced: {reason}")
    return letter
