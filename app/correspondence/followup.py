"""Following up letters nobody answered: the overdue list (sent, past the reply date, no reply
linked) and the reminder drafted from the follow-up template with the original's context."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.correspondence.service import get, get_by_reference, page, record, refuse, scoped
from app.errors import NotFound
from app.models import Letter, LetterStatus, ReplyLetter, User

FOLLOW_UP_TEMPLATE = "follow-up-reminder"


def list_overdue(
    session: Session,
    *,
    campaign_id: int | None = None,
    batch_id: int | None = None,
    q: str = "",
    today: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Letter], int]:
    """Sent letters past their reply date with no reply linked to them, longest waiting first."""
    today = today or date.today()
    query = scoped(select(Letter), campaign_id, batch_id, q).where(
        Letter.status == LetterStatus.sent,
        Letter.reply_due_on.is_not(None),
        Letter.reply_due_on < today,
        ~exists().where(ReplyLetter.letter_id == Letter.id),
    )
    return page(session, query, [Letter.reply_due_on, Letter.id], limit, offset)


def _next_follow_up_reference(session: Session, reference: str) -> str:
    n = 1
    while get_by_reference(session, f"{reference}/R{n}") is not None:
        n += 1
    return f"{reference}/R{n}"


def _milestone_context(
    session: Session, letter: Letter, today: date, language: str
) -> dict[str, Any] | None:
    if letter.campaign_id is None:
        return None
    from app.campaigns import service as campaigns_service
    from app.letters.context import local_date

    campaign = campaigns_service.get(session, letter.campaign_id)
    upcoming = [
        m
        for m in campaigns_service.milestones(session, campaign, today=today)
        if m.due_date >= today
    ]
    if not upcoming:
        return None
    m = upcoming[0]
    return {
        "name": m.title,
        "date": local_date(m.due_date, language),
        "days_left": (m.due_date - today).days,
    }


def follow_up(
    session: Session, *, letter_id: int, actor: User, today: date | None = None
) -> Letter:
    """One step: a draft reminder from the follow-up template, addressed like the original,
    its context carried over (new reference and date, the next milestone)."""
    from app.letters import localise
    from app.letters import service as letters_service
    from app.letters.context import build_context, local_date

    today = today or date.today()
    original = get(session, letter_id)
    if original.status not in {LetterStatus.sent, LetterStatus.bounced}:
        raise refuse(original, "followed up (only sent letters without a reply can be)")
    template = letters_service.get_by_slug(session, FOLLOW_UP_TEMPLATE)
    if template is None:
        raise NotFound(
            f"The follow-up reminder template ('{FOLLOW_UP_TEMPLATE}') is missing; "
            "run `demarche migrate` to load the built-in letter library."
        )
    version = letters_service.pick_version(template, original.language)
    reference = _next_follow_up_reference(session, original.reference)
    lang = version.language
    # Every registered field present (blank), then the original letter's values over them.
    context = build_context(language=lang, letter_date=today, reference=reference)
    for group, value in (original.context or {}).items():
        if isinstance(value, dict) and isinstance(context.get(group), dict):
            context[group] = {**context[group], **value}
        else:
            context[group] = value
    letter_ctx = dict(context.get("letter") or {})
    letter_ctx.update(
        reference=reference,
        date=local_date(today, lang),
        language=lang,
        original_reference=original.reference,
        original_date=local_date(original.sent_on or original.letter_date, lang),
    )
    context["letter"] = letter_ctx
    # The treaty's next meeting, named in the letter's language; without one, the campaign's
    # next milestone in English letters (its title is English).
    treaty_key = str((context.get("treaty") or {}).get("key") or "")
    facts = letters_service.next_meeting_facts(session, treaty_key, today) if treaty_key else {}
    if facts:
        context["milestone"] = localise.milestone(facts, lang, today)
    elif lang == "en" and (milestone := _milestone_context(session, original, today, lang)):
        context["milestone"] = {**(context.get("milestone") or {}), **milestone}
    letter = Letter(
        reference=reference,
        campaign_id=original.campaign_id,
        batch_id=None,
        template_version_id=version.id,
        follow_up_of_id=original.id,
        language=lang,
        recipient_key=original.recipient_key,
        person_id=original.person_id,
        organisation_id=original.organisation_id,
        country_id=original.country_id,
        recipient_name=original.recipient_name,
        context=context,
        subject="",
        body_html="",
        letter_date=today,
        status=LetterStatus.draft,
        channel=original.channel,
        email_to=original.email_to,
    )
    # Its own text from the start, filled in from the carried-over context (gaps marked).
    letter.subject, letter.body_html = letters_service.fill(version.subject, version.body, context)
    session.add(letter)
    session.flush()
    record(
        session,
        letter,
        actor,
        "follow_up",
        f"Follow-up drafted for {original.reference}",
        follow_up_of=original.id,
    )
    record(session, original, actor, "followed_up", f"Follow-up {reference} drafted")
    return letter
