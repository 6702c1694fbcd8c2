"""Drafting a merge's letters: the preview of what a merge would make, and the draft letters
themselves (one per recipient, or one naming every recipient), each with its reference and
frozen context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns import service as campaigns_service
from app.errors import NotFound
from app.letters import service as letters_service
from app.mailmerge.context import (
    ContextBuilder,
    batch_options,
    builder_for,
    check_addressee_name,
    check_name_script,
    check_window,
    choose_version,
    country_id_for,
    joint_context,
    joint_target,
    letter_gaps,
)
from app.mailmerge.recipients import (
    Candidate,
    RecipientPlan,
    plan_recipients,
    recipient_rows,
    source_error,
)
from app.mailmerge.references import (
    check_pattern,
    counter_key,
    format_reference,
    free_reference,
    next_numbers,
    taken_references,
)
from app.mailmerge.rendering import trial_fill
from app.mailmerge.schemas import MergeCreate, RecipientRow
from app.models import Campaign, Channel, Letter, LetterStatus, LetterTemplate, MergeBatch

MAX_JOINT = 200


@dataclass
class MergePreview:
    template: LetterTemplate
    letters: list[RecipientRow]
    flagged: list[RecipientRow]
    excluded: list[RecipientRow]
    one_letter: bool = False  # a single letter naming every recipient


def find_campaign(session: Session, campaign_id: int | None) -> Campaign | None:
    if campaign_id is None:
        return None
    try:
        return campaigns_service.get(session, campaign_id)
    except NotFound as exc:
        raise source_error("campaign_id", f"No campaign with id {campaign_id}") from exc


def find_template(session: Session, template_id: int) -> LetterTemplate:
    try:
        return letters_service.get(session, template_id)
    except NotFound as exc:
        raise source_error("template_id", f"No letter template with id {template_id}") from exc


def resolve_request(
    session: Session, data: MergeCreate
) -> tuple[LetterTemplate, Campaign | None, date, str, RecipientPlan]:
    """What a merge request names, looked up (refused with the field at fault): its template,
    campaign, letter date, treaty, and the recipients it writes to on that date."""
    check_pattern(data.reference_pattern)
    template = find_template(session, data.template_id)
    campaign = find_campaign(session, data.campaign_id)
    treaty = data.treaty or (campaign.treaty.short_name if campaign and campaign.treaty else "")
    letter_date = data.letter_date or date.today()
    plan = plan_recipients(
        session,
        source=data.source,
        campaign=campaign,
        channel=data.channel,
        on=letter_date,
        language=data.language,
    )
    return template, campaign, letter_date, treaty, plan


def recipient_report(plan: RecipientPlan) -> dict[str, Any]:
    """The recipients a batch shows beside its letters: excluded, and flagged."""
    return {
        "excluded": [r.model_dump() for r in recipient_rows(plan.excluded)],
        "flagged": [r.model_dump() for r in recipient_rows(plan.flagged)],
    }


def preview_merge(session: Session, *, data: MergeCreate) -> MergePreview:
    """The recipient list a merge would produce, with the excluded and flagged ones; each
    language version of the template is tried once in the renderer (``trial_fill``)."""
    template, campaign, letter_date, treaty, plan = resolve_request(session, data)
    builder = builder_for(session, template, campaign, letter_date, batch_options(data, treaty))
    if data.mode == "one_letter":
        check_joint(plan.letters, data.channel)
        version, note, iso3, country_id = joint_target(
            session, template, plan.letters, data.language
        )
        ctx = joint_context(
            builder,
            plan.letters,
            language=version.language,
            reference="…",
            iso3=iso3,
            country_id=country_id,
        )
        gaps = letter_gaps(builder, ctx, version)
        trial_fill(version, ctx)
        for cand in plan.letters:
            cand.language_note, cand.empty_fields = note, gaps
            check_addressee_name(cand, version.language)
        return MergePreview(
            template=template,
            letters=recipient_rows(plan.letters),
            flagged=recipient_rows(plan.flagged),
            excluded=recipient_rows(plan.excluded),
            one_letter=True,
        )
    countries: dict[str, int | None] = {}
    tried: set[int] = set()
    for cand in plan.letters:
        version, cand.language_note = choose_version(template, cand.recipient.language)
        iso3 = cand.recipient.country_iso3
        if iso3 not in countries:
            countries[iso3] = country_id_for(session, iso3)
        ctx = builder.context(
            cand.recipient, language=version.language, reference="…", country_id=countries[iso3]
        )
        check_window(cand, ctx, template.layout, Channel(data.channel))
        check_name_script(cand, version.language)
        cand.empty_fields = letter_gaps(builder, ctx, version)
        if version.id not in tried:
            tried.add(version.id)
            trial_fill(version, ctx)
    return MergePreview(
        template=template,
        letters=recipient_rows(plan.letters),
        flagged=recipient_rows(plan.flagged),
        excluded=recipient_rows(plan.excluded),
    )


def check_joint(candidates: Sequence[Candidate], channel: str) -> None:
    if len(candidates) > MAX_JOINT:
        raise source_error(
            "mode",
            f"{len(candidates)} addressees; one letter names at most {MAX_JOINT} "
            "(use one letter per recipient)",
        )
    emails = ", ".join(c.recipient.email for c in candidates if c.recipient.email)
    if channel == "email" and len(emails) > 320:
        raise source_error(
            "mode", "Too many email addresses for one email; send it by post or per recipient"
        )


def add_joint_letter(
    session: Session,
    batch: MergeBatch,
    template: LetterTemplate,
    candidates: Sequence[Candidate],
    builder: ContextBuilder,
    language: str,
) -> int:
    """The one letter of a "one letter for all recipients" merge (once per batch)."""
    if session.scalar(select(Letter.id).where(Letter.batch_id == batch.id)) is not None:
        return 0
    version, _, iso3, country_id = joint_target(session, template, candidates, language)
    values = {**builder.values(candidates[0].recipient), "iso3": iso3 or "INT"}
    values["iso2"] = iso3[:2] if iso3 else "IN"
    pattern = batch.reference_pattern
    key = counter_key(pattern, values)
    reference = format_reference(pattern, values, next_numbers(session, key, 1))
    reference = free_reference(
        session, pattern, key, values, reference, taken_references(session, [reference])
    )
    channel = Channel(batch.source.get("channel", "post"))
    for cand in candidates:
        check_addressee_name(cand, version.language)
    context = joint_context(
        builder,
        candidates,
        language=version.language,
        reference=reference,
        iso3=iso3,
        country_id=country_id,
    )
    session.add(
        Letter(
            reference=reference,
            campaign_id=batch.campaign_id,
            batch_id=batch.id,
            template_version_id=version.id,
            language=version.language,
            recipient_key="all",
            person_id=None,
            organisation_id=None,
            country_id=country_id,
            recipient_name=f"{len(candidates)} addressees: "
            + "; ".join(c.recipient.display_name for c in candidates)[:260],
            context=context,
            letter_date=builder.letter_date,
            status=LetterStatus.draft,
            channel=channel,
            email_to=context["recipient"]["email"] if channel == Channel.email else "",
        )
    )
    session.flush()
    return 1


def add_letters(
    session: Session,
    batch: MergeBatch,
    template: LetterTemplate,
    candidates: Sequence[Candidate],
    builder: ContextBuilder,
) -> int:
    """Draft letters for recipients the batch has none for yet; returns how many were added."""
    existing = set(session.scalars(select(Letter.recipient_key).where(Letter.batch_id == batch.id)))
    fresh = [c for c in candidates if c.key not in existing]
    pattern = batch.reference_pattern
    by_counter: dict[str, list[tuple[Candidate, dict[str, Any]]]] = {}
    for cand in fresh:
        values = builder.values(cand.recipient)
        by_counter.setdefault(counter_key(pattern, values), []).append((cand, values))
    channel = Channel(batch.source.get("channel", "post"))
    countries: dict[str, int | None] = {}
    added = 0
    for key, group in by_counter.items():
        first = next_numbers(session, key, len(group))
        references = [format_reference(pattern, v, first + i) for i, (_, v) in enumerate(group)]
        clash = taken_references(session, references)
        for (cand, values), reference in zip(group, references, strict=True):
            reference = free_reference(session, pattern, key, values, reference, clash)
            rec = cand.recipient
            version, cand.language_note = choose_version(template, rec.language)
            iso3 = rec.country_iso3
            if iso3 not in countries:
                countries[iso3] = country_id_for(session, iso3)
            country_id = countries[iso3]
            ctx = builder.context(
                rec, language=version.language, reference=reference, country_id=country_id
            )
            check_window(cand, ctx, template.layout, channel)
            check_name_script(cand, version.language)
            session.add(
                Letter(
                    reference=reference,
                    campaign_id=batch.campaign_id,
                    batch_id=batch.id,
                    template_version_id=version.id,
                    language=version.language,
                    recipient_key=cand.key,
                    person_id=rec.person_id,
                    organisation_id=cand.organisation_id or rec.organisation_id,
                    country_id=country_id,
                    recipient_name=rec.display_name[:300],
                    context=ctx,
                    letter_date=builder.letter_date,
                    status=LetterStatus.draft,
                    channel=channel,
                    email_to=rec.email if channel == Channel.email else "",
                )
            )
            added += 1
    session.flush()
    return added
