"""Mail merge: a template × recipients → one draft letter each, rendered to PDF in the background.

``create_merge`` resolves the recipients, hands out reference numbers and freezes each letter's
plain-data context in the request's transaction; ``run_batch`` (a Huey job) renders the letters on
every core, records progress for the web UI, honours a cancel request, then joins the PDFs into
one print-ready file and a zip. Letters remember their exact template version, so re-rendering an
old letter gives the same text.
"""

from __future__ import annotations

import dataclasses
import string
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from babel import Locale
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.campaigns import service as campaigns_service
from app.config import get_settings
from app.contacts import recipients as contacts_recipients
from app.contacts import service as contacts_service
from app.contacts.schemas import SearchFilters
from app.cosigners import service as cosigners_service
from app.db import fold, transaction
from app.errors import Conflict, InvalidInput, NotFound
from app.letters import batch as letters_batch
from app.letters import language as lx
from app.letters import page, render
from app.letters import service as letters_service
from app.letters.addressee import addressee_item, collective_group, recipient_group
from app.letters.context import LANGUAGES as LETTER_LANGUAGES
from app.letters.context import build_context, sender_from_profile
from app.letters.fields import empty_in, with_placeholders
from app.letters.render import LetterJob, RenderedLetter, RenderError
from app.letters.sandbox import own_text, required_fields, used_roots
from app.mail import bounces

# tasks calls back into this module when a job runs, never at import
from app.mailmerge import tasks
from app.mailmerge.schemas import MergeCreate, MergeSource, RecipientRow
from app.models import (
    BatchStatus,
    Campaign,
    Channel,
    Letter,
    LetterStatus,
    LetterTemplate,
    MergeBatch,
    ReferenceCounter,
    Segment,
    TemplateVersion,
    User,
)
from app.platform import children, faults, leases
from app.platform.queueing import enqueue_after_commit
from app.settings_admin import service as profile_service
from app.treaties import service as treaties_service

PATTERN_FIELDS = {"campaign_code", "prefix", "year", "month", "iso3", "iso2", "campaign_id", "seq"}
MAX_RECIPIENTS = 5000
# How often the running job writes progress and looks for a cancel request.
PROGRESS_SECONDS = 0.5


# ----------------------------------------------------------------------------- references


def check_pattern(pattern: str) -> None:
    """A reference pattern uses known fields only and numbers letters with ``{seq}``."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]
    except ValueError as exc:
        raise _pattern_error(f"Not a valid pattern: {exc}") from exc
    unknown = sorted({n for n in names if n not in PATTERN_FIELDS})
    if unknown:
        known = ", ".join("{" + f + "}" for f in sorted(PATTERN_FIELDS))
        raise _pattern_error(f"Unknown field {{{unknown[0]}}}; use {known}")
    if "seq" not in names:
        raise _pattern_error("The pattern must number the letters with {seq}, e.g. {seq:04d}")
    try:
        format_reference(pattern, _sample_values(), 1)
    except (ValueError, KeyError, IndexError) as exc:
        raise _pattern_error(f"Not a valid pattern: {exc}") from exc


def _pattern_error(message: str) -> InvalidInput:
    return InvalidInput(
        f"reference_pattern: {message}",
        errors=[{"field": "reference_pattern", "message": message}],
    )


def _sample_values() -> dict[str, Any]:
    return {
        "campaign_code": "CMC",
        "prefix": "CMC",
        "year": 2010,
        "month": 3,
        "iso3": "TJK",
        "iso2": "TJ",
        "campaign_id": 1,
    }


def format_reference(pattern: str, values: dict[str, Any], seq: int) -> str:
    return pattern.format(**values, seq=seq)


def counter_key(pattern: str, values: dict[str, Any]) -> str:
    """The counter a reference draws from: the pattern filled in except for its number."""
    out: list[str] = []
    for literal, name, spec, _ in string.Formatter().parse(pattern):
        out.append(literal)
        if name is None:
            continue
        out.append("#" if name == "seq" else format(values[name], spec or ""))
    return "".join(out)[:120]


def _next_numbers(session: Session, key: str, count: int) -> int:
    """Reserve ``count`` numbers under ``key``; returns the first. Concurrency-safe: the
    atomic UPDATE locks the counter row until the transaction ends, and the first insert of a
    key is guarded by its primary key."""
    for _ in range(3):
        last = session.execute(
            update(ReferenceCounter)
            .where(ReferenceCounter.prefix == key)
            .values(last=ReferenceCounter.last + count)
            .returning(ReferenceCounter.last)
        ).scalar_one_or_none()
        if last is not None:
            return int(last) - count + 1
        try:
            with session.begin_nested():
                session.add(ReferenceCounter(prefix=key, last=count))
            return 1
        except IntegrityError:
            continue  # another merge created the counter at the same moment
    raise Conflict("Reference numbers are busy; try again.")


def _free_reference(
    session: Session,
    pattern: str,
    key: str,
    values: dict[str, Any],
    reference: str,
    taken: set[str],
) -> str:
    """The reference, or while it is taken (a number typed by hand elsewhere) the next ones
    drawn under its counter."""
    while reference in taken:
        reference = format_reference(pattern, values, _next_numbers(session, key, 1))
        taken = _taken(session, [reference])
    return reference


def _taken(session: Session, references: Sequence[str]) -> set[str]:
    if not references:
        return set()
    return set(session.scalars(select(Letter.reference).where(Letter.reference.in_(references))))


# ----------------------------------------------------------------------------- recipients


@dataclass
class Candidate:
    key: str
    person_id: int | None
    organisation_id: int | None
    recipient: contacts_recipients.Recipient
    reason: str = ""  # why it gets no letter (excluded) or what to watch (flagged)
    language_note: str = ""  # why the letter is not in the language asked for
    empty_fields: list[str] = field(default_factory=list)


@dataclass
class RecipientPlan:
    letters: list[Candidate] = field(default_factory=list)
    excluded: list[Candidate] = field(default_factory=list)

    @property
    def flagged(self) -> list[Candidate]:
        return [c for c in self.letters if c.reason]


def _source_ids(
    session: Session, source: MergeSource, campaign: Campaign | None
) -> list[tuple[str, int]]:
    if source.kind == "segment":
        if source.segment_id is None:
            raise _source_error("segment_id", "Choose a segment")
        segment = session.get(Segment, source.segment_id)
        if segment is None:
            raise _source_error("segment_id", f"No segment with id {source.segment_id}")
        filters = SearchFilters.model_validate(segment.filters or {})
        people, orgs = contacts_service.search_ids(session, filters)
    elif source.kind == "filters":
        if source.filters is None or source.filters.is_empty():
            raise _source_error("filters", "Give at least one search filter")
        people, orgs = contacts_service.search_ids(session, source.filters)
    elif source.kind == "contacts":
        people, orgs = list(source.person_ids), list(source.organisation_ids)
        if not people and not orgs:
            raise _source_error("person_ids", "Pick at least one person or organisation")
    else:
        if campaign is None:
            raise _source_error("campaign_id", "Choose the campaign whose targets get letters")
        people, orgs = [], []
        for target in campaigns_service.targets(session, campaign):
            _, found = contacts_service.search_ids(
                session,
                SearchFilters(
                    kind="organisation",
                    country=target.country.iso3,
                    organisation_type=source.organisation_type,
                ),
            )
            orgs += found
    ids = [("person", i) for i in people] + [("organisation", i) for i in orgs]
    if len(ids) > MAX_RECIPIENTS:
        raise _source_error(
            "source", f"{len(ids)} recipients; a merge takes at most {MAX_RECIPIENTS}"
        )
    return ids


def _source_error(field_name: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"field": field_name, "message": message}])


def plan_recipients(
    session: Session,
    *,
    source: MergeSource,
    campaign: Campaign | None,
    channel: str,
    on: date | None = None,
    language: str = "recipient",
) -> RecipientPlan:
    """Who gets a letter, and who is shown as excluded or flagged (never silently dropped).

    An office is addressed to whoever held it on the letter's date ``on``; with nobody known to
    hold it that day, to the office itself (never to a later or earlier holder)."""
    plan = RecipientPlan()
    seen: set[str] = set()
    # Addresses a bounce flagged (few): warned about, the letter still made.
    failing = bounces.failing_addresses(session) if channel == "email" else {}
    for kind, ident in _source_ids(session, source, campaign):
        key = f"{kind}:{ident}"
        if key in seen:
            continue
        seen.add(key)
        rec = contacts_recipients.recipient(
            session,
            person_id=ident if kind == "person" else None,
            organisation_id=ident if kind == "organisation" else None,
            on=on,
            language=None if language == "recipient" else language,
        )
        cand = Candidate(key, rec.person_id if kind == "person" else None, None, rec)
        if kind == "organisation":
            cand.organisation_id = ident
        flags = [f for f, on in (("no post", rec.no_post), ("no email", rec.no_email)) if on]
        blocked = "no post" if channel == "post" else "no email"
        if blocked in flags:
            cand.reason = f"flagged “{blocked}”"
            plan.excluded.append(cand)
            continue
        notes = [f"flagged “{f}”" for f in flags]
        if channel == "post" and not rec.address_lines:
            notes.append("no postal address on file")
        if channel == "email" and not rec.email:
            notes.append("no email address on file")
        elif rec.email.strip().lower() in failing:
            notes.append(f"email {rec.email} {failing[rec.email.strip().lower()]}")
        cand.reason = "; ".join(notes)
        plan.letters.append(cand)
    return plan


def recipient_rows(candidates: Iterable[Candidate]) -> list[RecipientRow]:
    return [
        RecipientRow(
            key=c.key,
            name=c.recipient.display_name,
            country=c.recipient.country_name,
            language=c.recipient.language,
            reason=c.reason,
            language_note=c.language_note,
            empty_fields=c.empty_fields,
        )
        for c in candidates
    ]


def choose_version(template: LetterTemplate, wanted: str) -> tuple[TemplateVersion, str]:
    """The template text for a letter in ``wanted``, and the rule applied when the template
    has none in that language (its default language, else its first)."""
    version = letters_service.pick_version(template, wanted)
    asked = (wanted or "").split("-")[0].split("_")[0].lower()
    if version.language == asked:
        return version, ""
    english = Locale.parse("en").languages
    rule = (
        "the template's default language"
        if version.language == template.default_language
        else "the only language the template has"
    )
    return version, (
        f"no {english.get(asked, asked or 'preferred-language')} text in this template: "
        f"written in {english.get(version.language, version.language)}, {rule}"
    )


# ----------------------------------------------------------------------------- context


class _ContextBuilder:
    """Per-merge caches of what every letter shares (sender, treaty, milestone, states)."""

    def __init__(
        self,
        session: Session,
        *,
        campaign: Campaign | None,
        treaty: str,
        letter_date: date,
        style: str = "formal",
        from_line: str = "",
        cosigner_ids: Sequence[int] = (),
        signatory: tuple[str, str] = ("", ""),
        layout: str = "",
    ) -> None:
        self.session = session
        self.layout = layout
        self.letter_date = letter_date
        self.style = style
        self.from_line = from_line  # a memo's From line, as the merge gives it
        self.cosigner_ids = list(cosigner_ids)
        self._cosigners: dict[str, list[dict[str, str]]] = {}
        profile = profile_service.get_profile(session)
        self.sender, self.signatory = sender_from_profile(profile)
        if any(signatory):
            # The merge's own signatory signs every letter as written (no per-language forms).
            typed = {"signatory_name": signatory[0], "signatory_title": signatory[1]}
            self.signatory = {
                "name": signatory[0],
                "title": signatory[1],
                "translations": {lang: dict(typed) for lang in LETTER_LANGUAGES},
            }
        self.code = profile.reference_prefix or profile.short_name or "REF"
        self.campaign = (
            {"name": campaign.name, "goal": campaign.goal} if campaign is not None else {}
        )
        self.campaign_id = campaign.id if campaign is not None else 0
        self.treaty = None
        if treaty:
            try:
                self.treaty = treaties_service.get_by_short_name(session, treaty)
            except NotFound as exc:
                raise _source_error("treaty", f"No treaty '{treaty}'") from exc
        self.milestone: dict[str, Any] = {}
        self.eif: date | None = None
        if self.treaty is not None:
            self.eif = treaties_service.treaty_eif(session, self.treaty)
            self.milestone = letters_service.next_meeting_facts(
                session, self.treaty.short_name, letter_date
            )
        self._states: dict[int, dict[str, Any]] = {}

    def _state(self, country_id: int | None) -> dict[str, Any]:
        if self.treaty is None or country_id is None:
            return {}
        if country_id not in self._states:
            summary = treaties_service.state_summary(self.session, country_id, on=self.letter_date)
            self._states[country_id] = summary.get(self.treaty.short_name, {})
        return self._states[country_id]

    def treaty_data(self, country_id: int | None, language: str) -> dict[str, Any]:
        """The treaty's facts; names come from the shipped data for the treaties it covers,
        else (a treaty added by hand, named in English only) in English letters only."""
        if self.treaty is None:
            return {}
        state = self._state(country_id)
        facts: dict[str, Any] = {
            "status": str(state.get("status", "")),
            "signature_date": state.get("signed_on"),
            "ratification_date": state.get("ratified_on"),
            "eif_date": self.eif,
        }
        if lx.treaty_name(self.treaty.short_name, "en"):
            facts["key"] = self.treaty.short_name
        elif language == "en":
            facts.update(name=self.treaty.name, short_name=self.treaty.short_name)
        return facts

    def cosigners(self, language: str) -> list[dict[str, str]]:
        """The co-signers in the letter's language (the same for every letter in it)."""
        if language not in self._cosigners:
            self._cosigners[language] = (
                cosigners_service.cosigners_context(self.session, self.cosigner_ids, language)
                if self.cosigner_ids
                else []
            )
        return self._cosigners[language]

    def cosigner_gaps(self, language: str) -> list[str]:
        if not self.cosigner_ids:
            return []
        return cosigners_service.cosigners_gaps(self.session, self.cosigner_ids, language)

    def values(self, rec: contacts_recipients.Recipient) -> dict[str, Any]:
        return {
            "campaign_code": self.code,
            "prefix": self.code,
            "year": self.letter_date.year,
            "month": self.letter_date.month,
            "iso3": rec.country_iso3 or "INT",
            "iso2": rec.country_iso3[:2] if rec.country_iso3 else "IN",
            "campaign_id": self.campaign_id,
        }

    def context(
        self,
        rec: contacts_recipients.Recipient,
        *,
        language: str,
        reference: str,
        country_id: int | None,
    ) -> dict[str, Any]:
        recipient = recipient_group(
            rec, language=language, style=self.style, overrides=rec.salutation_overrides
        )
        if self.layout == "note-verbale":
            # A note verbale goes to the institution, not to a person: its window shows the
            # ministry or embassy above the postal address.
            institution = recipient["organisation"] or rec.organisation_name
            recipient["address_block"] = rec.address_block([institution] if institution else [])
        return build_context(
            language=language,
            letter_date=self.letter_date,
            reference=reference,
            recipient=recipient,
            treaty=self.treaty_data(country_id, language),
            campaign=self.campaign,
            milestone=self.milestone,
            sender=self.sender,
            signatory=self.signatory,
            country_iso3=rec.country_iso3,
            memo_from=self.from_line,
            cosigners=self.cosigners(language),
        )


def _joint_context(
    builder: _ContextBuilder,
    candidates: Sequence[Candidate],
    *,
    language: str,
    reference: str,
    iso3: str,
    country_id: int | None,
) -> dict[str, Any]:
    """One letter to every recipient: the addressee list in the letter's language, a
    collective salutation and close."""
    emails = [c.recipient.email for c in candidates if c.recipient.email]
    return build_context(
        language=language,
        letter_date=builder.letter_date,
        reference=reference,
        recipient=collective_group(language, emails),
        treaty=builder.treaty_data(country_id, language),
        campaign=builder.campaign,
        milestone=builder.milestone,
        sender=builder.sender,
        signatory=builder.signatory,
        organisations=[addressee_item(c.recipient, language) for c in candidates],
        country_iso3=iso3,
        memo_from=builder.from_line,
        cosigners=builder.cosigners(language),
    )


def default_mode(session: Session, template_id: int | None) -> str:
    """A memo, or a template that lists its addressees (the organisations field), is written as
    one letter to all of them; any other as one letter per recipient."""
    if template_id is None or template_id < 1:
        return "per_recipient"
    template = session.get(LetterTemplate, template_id)
    if template is None:
        return "per_recipient"
    bodies = letters_service.current_versions(letters_service.get(session, template.id))
    joint = template.layout == "memo" or any(
        "organisations" in used_roots(v.body) for v in bodies.values()
    )
    return "one_letter" if joint else "per_recipient"


def _joint_target(
    session: Session, template: LetterTemplate, candidates: Sequence[Candidate], wanted: str
) -> tuple[TemplateVersion, str, str, int | None]:
    """The one letter's template text (with the fallback note) and state: its language is the
    one asked for, else the one every recipient prefers, else the template's default; its state
    the one every recipient shares, else none."""
    language = wanted
    if wanted == "recipient":
        preferred = {(c.recipient.language or "en").split("-")[0].lower() for c in candidates}
        language = preferred.pop() if len(preferred) == 1 else template.default_language
    version, note = choose_version(template, language)
    states = {c.recipient.country_iso3 for c in candidates if c.recipient.country_iso3}
    iso3 = states.pop() if len(states) == 1 else ""
    return version, note, iso3, _country_id(session, iso3)


def _check_window(cand: Candidate, context: dict[str, Any], layout: str, channel: Channel) -> None:
    """A letter for the post whose address block cannot fit the envelope window even at the
    smallest type is flagged at drafting (too many lines, or a line too long)."""
    lines = [str(x) for x in (context.get("recipient") or {}).get("address_block") or []]
    if channel != Channel.post or not lines or layout not in page.WINDOWS:
        return
    if page.address_fits(lines, layout):
        return
    note = f"the address ({len(lines)} lines) does not fit the envelope window"
    cand.reason = "; ".join(p for p in (cand.reason, note) if p)


def _options(data: MergeCreate, treaty: str) -> dict[str, Any]:
    """What a merge keeps of its request besides the recipients (the batch's source): the
    preview, the draft and every re-run build their letters from it."""
    return {
        "treaty": treaty,
        "channel": data.channel,
        "pdf_variant": data.pdf_variant,
        "fold_marks": data.fold_marks,
        "recto": data.recto,
        "language": data.language,
        "mode": data.mode,
        "from_line": data.from_line,
        "cosigner_ids": list(data.cosigner_ids),
        "signatory_name": data.signatory_name,
        "signatory_title": data.signatory_title,
    }


def _builder(
    session: Session,
    template: LetterTemplate,
    campaign: Campaign | None,
    letter_date: date,
    options: dict[str, Any],
) -> _ContextBuilder:
    return _ContextBuilder(
        session,
        campaign=campaign,
        treaty=str(options.get("treaty", "")),
        letter_date=letter_date,
        style=template.style,
        from_line=str(options.get("from_line", "")),
        cosigner_ids=[int(i) for i in options.get("cosigner_ids", [])],
        signatory=(
            str(options.get("signatory_name", "")),
            str(options.get("signatory_title", "")),
        ),
        layout=template.layout,
    )


def _country_id(session: Session, iso3: str) -> int | None:
    if not iso3:
        return None
    from app.countries import service as countries_service

    try:
        return countries_service.get_by_code(session, iso3).id
    except NotFound:
        return None


# ----------------------------------------------------------------------------- creating


@dataclass
class MergePreview:
    template: LetterTemplate
    letters: list[RecipientRow]
    flagged: list[RecipientRow]
    excluded: list[RecipientRow]
    one_letter: bool = False  # a single letter naming every recipient


def _campaign(session: Session, campaign_id: int | None) -> Campaign | None:
    if campaign_id is None:
        return None
    try:
        return campaigns_service.get(session, campaign_id)
    except NotFound as exc:
        raise _source_error("campaign_id", f"No campaign with id {campaign_id}") from exc


def _template(session: Session, template_id: int) -> LetterTemplate:
    try:
        return letters_service.get(session, template_id)
    except NotFound as exc:
        raise _source_error("template_id", f"No letter template with id {template_id}") from exc


def _trial_fill(version: TemplateVersion, context: dict[str, Any]) -> None:
    """Fill a template version in once, for one recipient, in the renderer under its limits: a
    text that meets a limit (a loop that never ends, a value too large) is refused before any
    letter is made from it. Other problems show on the letters, as before."""
    job = render.TextJob(
        subject=version.subject,
        body=version.body,
        context=with_placeholders(context, _required(version)),
        limits=render.default_limits(),
    )
    try:
        render.fill_isolated(job)
    except render.RenderLimit as exc:
        raise _source_error(
            "template_id", f"The template cannot be filled in ({version.language}): {exc}"
        ) from exc
    except RenderError:
        pass


def preview_merge(session: Session, *, data: MergeCreate) -> MergePreview:
    """The recipient list a merge would produce, with the excluded and flagged ones; each
    language version of the template is tried once in the renderer (``_trial_fill``)."""
    check_pattern(data.reference_pattern)
    template = _template(session, data.template_id)
    campaign = _campaign(session, data.campaign_id)
    letter_date = data.letter_date or date.today()
    plan = plan_recipients(
        session,
        source=data.source,
        campaign=campaign,
        channel=data.channel,
        on=letter_date,
        language=data.language,
    )
    treaty = data.treaty or (campaign.treaty.short_name if campaign and campaign.treaty else "")
    builder = _builder(session, template, campaign, letter_date, _options(data, treaty))
    if data.mode == "one_letter":
        _check_joint(plan.letters, data.channel)
        version, note, iso3, country_id = _joint_target(
            session, template, plan.letters, data.language
        )
        ctx = _joint_context(
            builder,
            plan.letters,
            language=version.language,
            reference="…",
            iso3=iso3,
            country_id=country_id,
        )
        gaps = _gaps(builder, ctx, version)
        _trial_fill(version, ctx)
        for cand in plan.letters:
            cand.language_note, cand.empty_fields = note, gaps
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
            countries[iso3] = _country_id(session, iso3)
        ctx = builder.context(
            cand.recipient, language=version.language, reference="…", country_id=countries[iso3]
        )
        _check_window(cand, ctx, template.layout, Channel(data.channel))
        cand.empty_fields = _gaps(builder, ctx, version)
        if version.id not in tried:
            tried.add(version.id)
            _trial_fill(version, ctx)
    return MergePreview(
        template=template,
        letters=recipient_rows(plan.letters),
        flagged=recipient_rows(plan.flagged),
        excluded=recipient_rows(plan.excluded),
    )


def create_merge(session: Session, *, data: MergeCreate, actor: User | None) -> MergeBatch:
    """The batch and one draft letter per recipient; rendering is queued after the commit."""
    check_pattern(data.reference_pattern)
    template = _template(session, data.template_id)
    campaign = _campaign(session, data.campaign_id)
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
    if not plan.letters:
        raise _source_error(
            "source", "No recipient can receive this letter (see the excluded list)."
        )
    batch = MergeBatch(
        name=data.name or f"{template.name} — {letter_date.isoformat()}",
        campaign_id=campaign.id if campaign else None,
        template_id=template.id,
        source={**data.source.model_dump(mode="json"), **_options(data, treaty)},
        reference_pattern=data.reference_pattern,
        letter_date=letter_date,
        status=BatchStatus.queued,
        created_by_id=actor.id if actor else None,
    )
    session.add(batch)
    session.flush()
    builder = _builder(session, template, campaign, letter_date, _options(data, treaty))
    if data.mode == "one_letter":
        _check_joint(plan.letters, data.channel)
        added = _add_joint_letter(session, batch, template, plan.letters, builder, data.language)
    else:
        added = _add_letters(session, batch, template, plan.letters, builder)
    batch.total = added
    batch.report = {
        "excluded": [r.model_dump() for r in recipient_rows(plan.excluded)],
        "flagged": [r.model_dump() for r in recipient_rows(plan.flagged)],
    }
    session.flush()
    audit.record(
        session,
        user=actor,
        action="merge.create",
        entity_type="merge_batch",
        entity_id=batch.id,
        summary=f"Drafted {added} letters from '{template.name}'",
        details={"excluded": len(plan.excluded), "flagged": len(plan.flagged)},
    )
    enqueue_after_commit(session, tasks.render_merge, batch.id)
    return batch


MAX_JOINT = 200


def _check_joint(candidates: Sequence[Candidate], channel: str) -> None:
    if len(candidates) > MAX_JOINT:
        raise _source_error(
            "mode",
            f"{len(candidates)} addressees; one letter names at most {MAX_JOINT} "
            "(use one letter per recipient)",
        )
    emails = ", ".join(c.recipient.email for c in candidates if c.recipient.email)
    if channel == "email" and len(emails) > 320:
        raise _source_error(
            "mode", "Too many email addresses for one email; send it by post or per recipient"
        )


def _add_joint_letter(
    session: Session,
    batch: MergeBatch,
    template: LetterTemplate,
    candidates: Sequence[Candidate],
    builder: _ContextBuilder,
    language: str,
) -> int:
    """The one letter of a "one letter for all recipients" merge (once per batch)."""
    if session.scalar(select(Letter.id).where(Letter.batch_id == batch.id)) is not None:
        return 0
    version, _, iso3, country_id = _joint_target(session, template, candidates, language)
    values = {**builder.values(candidates[0].recipient), "iso3": iso3 or "INT"}
    values["iso2"] = iso3[:2] if iso3 else "IN"
    pattern = batch.reference_pattern
    key = counter_key(pattern, values)
    reference = format_reference(pattern, values, _next_numbers(session, key, 1))
    reference = _free_reference(
        session, pattern, key, values, reference, _taken(session, [reference])
    )
    channel = Channel(batch.source.get("channel", "post"))
    context = _joint_context(
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


def _add_letters(
    session: Session,
    batch: MergeBatch,
    template: LetterTemplate,
    candidates: Sequence[Candidate],
    builder: _ContextBuilder,
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
        first = _next_numbers(session, key, len(group))
        references = [format_reference(pattern, v, first + i) for i, (_, v) in enumerate(group)]
        clash = _taken(session, references)
        for (cand, values), reference in zip(group, references, strict=True):
            reference = _free_reference(session, pattern, key, values, reference, clash)
            rec = cand.recipient
            version, cand.language_note = choose_version(template, rec.language)
            iso3 = rec.country_iso3
            if iso3 not in countries:
                countries[iso3] = _country_id(session, iso3)
            country_id = countries[iso3]
            ctx = builder.context(
                rec, language=version.language, reference=reference, country_id=country_id
            )
            _check_window(cand, ctx, template.layout, channel)
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


def rerun(session: Session, *, batch_id: int, actor: User | None) -> MergeBatch:
    """Run a merge again: letters only for recipients it has none for, then render what is
    missing. Never duplicates a letter (one per recipient per batch)."""
    batch = get_batch(session, batch_id)
    if batch.status == BatchStatus.queued or (
        batch.status == BatchStatus.running and not leases.Lease.of(batch).stale()
    ):
        raise Conflict("This merge is still running; wait for it or cancel it first.")
    template = _template(session, batch.template_id)
    campaign = _campaign(session, batch.campaign_id)
    source = MergeSource.model_validate(
        {k: v for k, v in batch.source.items() if k in MergeSource.model_fields}
    )
    channel = str(batch.source.get("channel", "post"))
    plan = plan_recipients(
        session,
        source=source,
        campaign=campaign,
        channel=channel,
        on=batch.letter_date or date.today(),
        language=str(batch.source.get("language", "recipient")),
    )
    builder = _builder(session, template, campaign, batch.letter_date or date.today(), batch.source)
    if batch.source.get("mode") == "one_letter":
        language = str(batch.source.get("language", "recipient"))
        added = _add_joint_letter(session, batch, template, plan.letters, builder, language)
    else:
        added = _add_letters(session, batch, template, plan.letters, builder)
    batch.total = session.scalar(select(func.count()).where(Letter.batch_id == batch.id)) or 0
    batch.status = BatchStatus.queued
    batch.cancel_requested = False
    # a new run, not a resumption: every letter without a PDF is rendered again
    batch.lease_owner, batch.lease_expires_at, batch.attempts = "", None, 0
    batch.report = {
        **(batch.report or {}),
        "excluded": [r.model_dump() for r in recipient_rows(plan.excluded)],
        "flagged": [r.model_dump() for r in recipient_rows(plan.flagged)],
    }
    session.flush()
    audit.record(
        session,
        user=actor,
        action="merge.rerun",
        entity_type="merge_batch",
        entity_id=batch.id,
        summary=f"Ran the merge '{batch.name}' again ({added} new letters)",
    )
    enqueue_after_commit(session, tasks.render_merge, batch.id)
    return batch


def request_cancel(session: Session, *, batch_id: int, actor: User | None) -> MergeBatch:
    batch = get_batch(session, batch_id)
    if batch.status not in (BatchStatus.queued, BatchStatus.running):
        raise Conflict(f"This merge is {batch.status.value}; there is nothing to cancel.")
    batch.cancel_requested = True
    if batch.status == BatchStatus.queued or leases.Lease.of(batch).stale():
        # Nobody renders it (not started, or its worker died): cancelled now. A worker that
        # still runs it after its lease ran out finds the lease gone and stops.
        batch.status = BatchStatus.cancelled
        batch.finished_at = datetime.now(UTC)
        batch.lease_owner, batch.lease_expires_at = "", None
        batch.rendered, batch.failed = _counts(session, batch.id)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="merge.cancel",
        entity_type="merge_batch",
        entity_id=batch.id,
        summary=f"Cancelled the merge '{batch.name}'",
    )
    return batch


# ----------------------------------------------------------------------------- queries


def list_segments(session: Session) -> Sequence[Segment]:
    return session.scalars(select(Segment).order_by(Segment.name)).all()


def get_batch(session: Session, batch_id: int) -> MergeBatch:
    batch = session.get(MergeBatch, batch_id)
    if batch is None:
        raise NotFound(f"No merge with id {batch_id}.")
    return batch


def list_batches(
    session: Session, *, campaign_id: int | None = None, limit: int = 25, offset: int = 0
) -> tuple[Sequence[MergeBatch], int]:
    stmt = select(MergeBatch)
    if campaign_id is not None:
        stmt = stmt.where(MergeBatch.campaign_id == campaign_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(MergeBatch.id.desc()).limit(limit).offset(offset)).all()
    return rows, total


def postal_recipients(session: Session, batch_id: int) -> tuple[list[int], list[int]]:
    """Who the batch's letters for the post go to: (person ids, organisation ids), for the
    address labels that go with its print pack."""
    get_batch(session, batch_id)  # NotFound for an unknown batch
    people: list[int] = []
    orgs: list[int] = []
    for key, person_id, org_id in session.execute(
        select(Letter.recipient_key, Letter.person_id, Letter.organisation_id)
        .where(Letter.batch_id == batch_id, Letter.channel == Channel.post)
        .order_by(Letter.id)
    ):
        # recipient_key says whom the letter addresses: a person, or an office (organisation)
        if key.startswith("person:") and person_id is not None:
            people.append(person_id)
        elif key.startswith("organisation:") and org_id is not None:
            orgs.append(org_id)
    return people, orgs


def list_postal_batches(session: Session, limit: int = 200) -> list[tuple[int, str]]:
    """Batches with letters for the post, newest first: (id, name)."""
    rows = session.execute(
        select(MergeBatch.id, MergeBatch.name)
        .where(
            select(Letter.id)
            .where(Letter.batch_id == MergeBatch.id, Letter.channel == Channel.post)
            .exists()
        )
        .order_by(MergeBatch.id.desc())
        .limit(limit)
    ).all()
    return [(r.id, r.name or f"Batch {r.id}") for r in rows]


def failures(session: Session, batch_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Letter.id, Letter.reference, Letter.recipient_name, Letter.render_error)
        .where(Letter.batch_id == batch_id, Letter.render_error != "")
        .order_by(Letter.id)
    ).all()
    return [
        {
            "letter_id": r.id,
            "reference": r.reference,
            "recipient": r.recipient_name,
            "error": r.render_error,
        }
        for r in rows
    ]


def percent(batch: MergeBatch) -> int:
    if not batch.total:
        return 100 if batch.status == BatchStatus.done else 0
    return min(100, round(100 * (batch.rendered + batch.failed) / batch.total))


def get_letter(session: Session, letter_id: int) -> Letter:
    letter = session.scalar(
        select(Letter).where(Letter.id == letter_id).options(selectinload(Letter.batch))
    )
    if letter is None:
        raise NotFound(f"No letter with id {letter_id}.")
    return letter


def list_letters(
    session: Session,
    *,
    batch_id: int | None = None,
    campaign_id: int | None = None,
    status: LetterStatus | None = None,
    q: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Letter], int]:
    stmt = select(Letter)
    if batch_id is not None:
        stmt = stmt.where(Letter.batch_id == batch_id)
    if campaign_id is not None:
        stmt = stmt.where(Letter.campaign_id == campaign_id)
    if status is not None:
        stmt = stmt.where(Letter.status == status)
    for word in q.lower().split()[:8]:
        like = f"%{word}%"
        stmt = stmt.where(
            or_(
                fold(Letter.reference).like(like),
                fold(Letter.recipient_name).like(like),
                fold(Letter.subject).like(like),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    # A merge's letters in reference order; across merges, the newest first.
    order = Letter.reference if batch_id is not None else Letter.id.desc()
    rows = session.scalars(stmt.order_by(order).limit(limit).offset(offset)).all()
    return rows, total


def template_version(session: Session, letter: Letter) -> TemplateVersion | None:
    if letter.template_version_id is None:
        return None
    return session.get(TemplateVersion, letter.template_version_id)


# ----------------------------------------------------------------------------- rendering


def files_root() -> Path:
    return get_settings().files_dir


def batch_dir(batch_id: int) -> Path:
    return files_root() / "merges" / str(batch_id)


def _source(letter: Letter, version: TemplateVersion) -> tuple[str, str, bool]:
    """What a letter prints: its own subject and text once it has them (the merge's output or a
    hand edit), the template version's only for a letter not yet merged (then True). Re-merging
    from the template is a separate, explicit act (``remerge``)."""
    if letter.body_html.strip():
        return letter.subject, letter.body_html, False
    return version.subject, version.body, True


def _required(version: TemplateVersion) -> tuple[str, ...]:
    return required_fields(version.subject) + required_fields(version.body)


def _gaps(builder: _ContextBuilder, context: dict[str, Any], version: TemplateVersion) -> list[str]:
    """What a letter would leave empty: the template's required fields, the signature block's
    parts the profile has in English but not in the letter's language (Settings → each letter
    language), and co-signers without a name in it."""
    stored = {
        "signatory.name": builder.signatory.get("name"),
        "signatory.title": builder.signatory.get("title"),
    }
    signature = [name for name in empty_in(context, list(stored)) if stored[name]]
    return (
        empty_in(context, _required(version)) + signature + builder.cosigner_gaps(version.language)
    )


def _job(
    letter: Letter,
    version: TemplateVersion,
    layout: str,
    variant: str,
    options: tuple[str, ...] = (),
) -> LetterJob:
    subject, body, first = _source(letter, version)
    context = letter.context
    if first:  # an empty field shows as a mark to fill in
        context = with_placeholders(context, _required(version))
    return LetterJob(
        body=body,
        subject=subject,
        context=context,
        language=letter.language,
        layout=layout,
        pdf_variant=variant or None,
        options=options,
        limits=render.default_limits(),
    )


def letter_job(session: Session, letter: Letter) -> LetterJob:
    """The letter's render job: its own text (or its template version's before the first
    render) with its frozen context."""
    jobs = _jobs_for(session, [letter])
    if letter.id not in jobs:
        raise Conflict("This letter has no template version to render from.")
    return jobs[letter.id]


def _jobs_for(session: Session, letters: Sequence[Letter]) -> dict[int, LetterJob]:
    version_ids = {x.template_version_id for x in letters if x.template_version_id}
    versions = {
        v.id: v
        for v in session.scalars(select(TemplateVersion).where(TemplateVersion.id.in_(version_ids)))
    }
    templates = {
        t.id: t
        for t in session.scalars(
            select(LetterTemplate).where(
                LetterTemplate.id.in_({v.template_id for v in versions.values()})
            )
        )
    }
    jobs = {}
    for letter in letters:
        version = versions.get(letter.template_version_id or 0)
        if version is None:
            continue
        batch = session.get(MergeBatch, letter.batch_id) if letter.batch_id else None
        source = batch.source if batch is not None else {}
        variant = str(source.get("pdf_variant", ""))
        options = ("fold_marks",) if source.get("fold_marks") else ()
        layout = templates[version.template_id].layout
        jobs[letter.id] = _job(letter, version, layout, variant, options)
    return jobs


def keep_text(letter: Letter, subject: str, body: str) -> None:
    """A letter's first render becomes its own text; later renders never write over it (a hand
    edit stays the letter). The filled-in text is stored so that rendering it again prints it
    as it is: a brace that came from the directory ("{{ 7*7 }}" in a name) is not a field."""
    if letter.body_html.strip():
        return
    letter.subject, letter.body_html = own_text(subject, body)


def remerge_preview(session: Session, letter: Letter) -> tuple[str, str]:
    """The subject and text a re-merge would give this letter (from its template version and
    frozen context), to show beside its own text before anyone confirms."""
    version = template_version(session, letter)
    if version is None:
        raise Conflict("This letter has no template version to merge again from.")
    job = letter_job(session, letter)
    fresh = dataclasses.replace(
        job,
        body=version.body,
        subject=version.subject,
        # as at the first render: an empty field shows as a mark to fill in
        context=with_placeholders(letter.context, _required(version)),
    )
    try:
        rendered = render.render_isolated(fresh)  # bounded in time, like every web render
    except RenderError as exc:
        raise InvalidInput(f"The template could not be filled in: {exc}") from exc
    return rendered.subject, rendered.body


def remerge(session: Session, *, letter: Letter, actor: User | None) -> Letter:
    """Replace a draft letter's own text with its template filled in again: the one path that
    reads the template after the first render, asked for by a person and audit-logged with the
    text it replaced."""
    if letter.status != LetterStatus.draft:
        raise Conflict(
            f"Letter {letter.reference} is {letter.status.value}; only a draft can be merged "
            "again from its template."
        )
    subject, body = remerge_preview(session, letter)
    before = {"subject": letter.subject, "body_html": letter.body_html}
    letter.subject, letter.body_html = own_text(subject, body)
    letter.pdf_path, letter.pages, letter.render_error = "", 0, ""
    session.flush()
    audit.record(
        session,
        user=actor,
        action="letter.remerge",
        entity_type="letter",
        entity_id=letter.id,
        summary=f"{letter.reference}: text merged again from the template",
        details={"replaced": before},
    )
    return letter


def rerender(session: Session, letter: Letter) -> RenderedLetter:
    """Render a letter again from its stored template version and frozen context."""
    try:
        return render.render_isolated(letter_job(session, letter))
    except RenderError as exc:
        raise InvalidInput(f"The letter could not be rendered: {exc}") from exc


def letter_html(session: Session, letter: Letter) -> str:
    try:
        return render.render_html_isolated(letter_job(session, letter))
    except RenderError as exc:
        raise InvalidInput(f"The letter could not be rendered: {exc}") from exc


def letter_pdf(session: Session, letter: Letter) -> Path:
    """The letter's PDF on disk; rendered now (and kept) if the merge has not made it yet."""
    if letter.pdf_path:
        path = files_root() / letter.pdf_path
        if path.is_file():
            return path
    rendered = rerender(session, letter)
    folder = batch_dir(letter.batch_id or 0)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / letters_batch.letter_filename(letter.reference, letter.recipient_name)
    path.write_bytes(rendered.pdf)
    letter.pdf_path = str(path.relative_to(files_root()))
    letter.pages = rendered.pages
    keep_text(letter, rendered.subject, rendered.body)
    letter.render_error = ""
    session.flush()
    return path


def pdf_filename(letter: Letter) -> str:
    return letters_batch.letter_filename(letter.reference, letter.recipient_name)


def download_path(batch: MergeBatch, kind: str) -> Path:
    rel = batch.combined_pdf_path if kind == "pdf" else batch.zip_path
    path = files_root() / rel if rel else None
    if path is None or not path.is_file():
        raise NotFound("This merge has no such download yet.")
    return path


class _Progress:
    """Records each letter as soon as it comes back, so a letter recorded is never rendered
    again, even when the worker dies; a few times a second it writes the counters, renews the
    job's lease (the heartbeat) and looks for a cancel request."""

    def __init__(self, batch_id: int, lease: leases.RowLease) -> None:
        self.batch_id = batch_id
        self.lease = lease
        self.last = 0.0
        self.cancel = False
        self.lost = False  # another worker holds the merge now, or it was cancelled

    def add(self, result: letters_batch.ItemResult) -> None:
        with transaction() as session:
            _record(session, result)
            if time.monotonic() - self.last >= PROGRESS_SECONDS:
                self._sync(session)
        faults.fault("merge.letter")

    def should_cancel(self) -> bool:
        if time.monotonic() - self.last >= PROGRESS_SECONDS:
            self.flush()
        return self.cancel or self.lost

    def flush(self) -> None:
        with transaction() as session:
            self._sync(session)

    def _sync(self, session: Session) -> None:
        self.last = time.monotonic()
        rendered, failed = _counts(session, self.batch_id)
        if not self.lease.renew(session, rendered=rendered, failed=failed):
            self.lost = True
            return
        self.cancel = bool(
            session.scalar(
                select(MergeBatch.cancel_requested).where(MergeBatch.id == self.batch_id)
            )
        )


def _record(session: Session, result: letters_batch.ItemResult) -> None:
    """One letter's outcome: its PDF (path, pages, the text as filled in) or why it failed."""
    letter = session.get(Letter, int(result.key))
    if letter is None:
        return
    if result.error:
        letter.render_error = result.error[:1000]
        letter.pdf_path = ""
        letter.pages = 0
    else:
        assert result.path is not None
        letter.render_error = ""
        letter.pdf_path = str(result.path.relative_to(files_root()))
        letter.pages = result.pages
        keep_text(letter, result.subject, result.body)
    session.flush()


def _counts(session: Session, batch_id: int) -> tuple[int, int]:
    rendered = (
        session.scalar(
            select(func.count()).where(Letter.batch_id == batch_id, Letter.pdf_path != "")
        )
        or 0
    )
    failed = (
        session.scalar(
            select(func.count()).where(Letter.batch_id == batch_id, Letter.render_error != "")
        )
        or 0
    )
    return rendered, failed


def _claim(lease: leases.RowLease) -> bool:
    """queued → running, by one job only (a second delivery of the job does nothing); the job
    holds the merge's lease from here on."""
    return lease.claim(
        MergeBatch.status == BatchStatus.queued,
        MergeBatch.cancel_requested.is_(False),
        status=BatchStatus.running,
        started_at=datetime.now(UTC),
        finished_at=None,
    )


def _held(session: Session, lease: leases.RowLease) -> MergeBatch | None:
    """The batch, locked, if this job still holds it (None: cancelled or taken over)."""
    batch = session.get(MergeBatch, lease.row_id, with_for_update=True, populate_existing=True)
    return batch if batch is not None and batch.lease_owner == lease.owner else None


def run_batch(batch_id: int, *, workers: int | None = None, pool: Any = None) -> BatchStatus:
    """The render job: every letter without a PDF, on a process pool; idempotent.

    A merge taken over from a worker that died (``attempts`` > 1) resumes: only the letters
    that worker did not record are rendered, each once."""
    lease = leases.RowLease(MergeBatch, batch_id)
    if not _claim(lease):
        with transaction() as session:
            return get_batch(session, batch_id).status
    started = time.monotonic()
    with transaction() as session:
        batch = get_batch(session, batch_id)
        letters = session.scalars(
            select(Letter)
            .where(Letter.batch_id == batch_id)
            .options(selectinload(Letter.batch))
            .order_by(Letter.reference)
        ).all()
        root = files_root()
        todo = [x for x in letters if not (x.pdf_path and (root / x.pdf_path).is_file())]
        if batch.attempts > 1:
            # resuming: a letter the stopped worker recorded as failed was tried in this run
            todo = [x for x in todo if not x.render_error]
            resumes = list((batch.report or {}).get("resumes", []))
            resumes.append({"attempt": batch.attempts, "done": len(letters) - len(todo)})
            batch.report = {**(batch.report or {}), "resumes": resumes}
        for letter in todo:  # a PDF that went missing is made again
            letter.pdf_path = ""
        jobs = _jobs_for(session, todo)
        missing = [x for x in todo if x.id not in jobs]
        for letter in missing:
            letter.render_error = "The letter's template version no longer exists"
        items = [
            letters_batch.BatchItem(str(x.id), pdf_filename(x), jobs[x.id])
            for x in todo
            if x.id in jobs
        ]
        batch.total = len(letters)
    out_dir = batch_dir(batch_id) / "letters"
    progress = _Progress(batch_id, lease)
    try:
        report = letters_batch.render_batch(
            items,
            out_dir,
            total=len(items),
            workers=workers,
            pool=pool,
            should_cancel=progress.should_cancel,
            on_result=progress.add,
        )
        progress.flush()
    except BaseException as exc:
        if children.stopping():
            # The worker is stopping: the next one resumes the merge where this one stopped.
            lease.abandon()
            raise
        # Never leave a merge "running" for ever: record why it stopped, then let it raise.
        with transaction() as session:
            held = _held(session, lease)
            if held is not None:
                held.status = BatchStatus.failed
                held.finished_at = datetime.now(UTC)
                held.report = {**(held.report or {}), "error": f"{type(exc).__name__}: {exc}"}
                held.lease_owner, held.lease_expires_at = "", None
        raise
    if progress.lost:  # cancelled while its worker seemed gone, or taken over: not ours now
        with transaction() as session:
            return get_batch(session, batch_id).status
    rendered_at = time.monotonic()
    with transaction() as session:
        held = _held(session, lease)
        if held is None:
            return get_batch(session, batch_id).status
        batch = held
        ordered = session.scalars(
            select(Letter.pdf_path)
            .where(Letter.batch_id == batch_id, Letter.pdf_path != "")
            .order_by(Letter.reference)
        ).all()
        paths = [root / p for p in ordered]
        folder = batch_dir(batch_id)
        stem = letters_batch.letter_filename(batch.name, "")[:-4] or f"merge-{batch_id}"
        if paths and not report.cancelled:
            combined = folder / f"{stem}.pdf"
            letters_batch.combine_pdfs(paths, combined, recto=bool(batch.source.get("recto")))
            archive = folder / f"{stem}.zip"
            letters_batch.zip_pdfs(paths, archive)
            batch.combined_pdf_path = str(combined.relative_to(root))
            batch.zip_path = str(archive.relative_to(root))
        batch.rendered, batch.failed = _counts(session, batch_id)
        if report.cancelled:
            batch.status = BatchStatus.cancelled
        elif batch.rendered == 0 and batch.failed:
            batch.status = BatchStatus.failed
        else:
            batch.status = BatchStatus.done
        batch.finished_at = datetime.now(UTC)
        batch.report = {
            **(batch.report or {}),
            "seconds": round(time.monotonic() - started, 2),
            "render_seconds": round(rendered_at - started, 2),
            "assemble_seconds": round(time.monotonic() - rendered_at, 2),
            "cancelled_after": report.done if report.cancelled else None,
        }
        batch.lease_owner, batch.lease_expires_at = "", None
        return batch.status


def recover_stale(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Merges whose worker died: cancelled if a cancel was asked for, failed with the reason
    once ``leases.MAX_ATTEMPTS`` workers died on it, else queued again for a new worker, which
    resumes it (see ``run_batch``)."""
    counts = {"resumed": 0, "failed": 0, "cancelled": 0}
    stale = leases.stale_rows(
        session, MergeBatch, MergeBatch.status == BatchStatus.running, now=now
    )
    for batch in stale:
        lease = leases.Lease.of(batch)
        rendered, failed = _counts(session, batch.id)
        values: dict[str, Any] = {"rendered": rendered, "failed": failed}
        if batch.cancel_requested:
            outcome = "cancelled"
            values.update(status=BatchStatus.cancelled, finished_at=datetime.now(UTC))
        elif lease.exhausted():
            outcome = "failed"
            reason = leases.stopped_reason("merge", lease)
            values.update(
                status=BatchStatus.failed,
                finished_at=datetime.now(UTC),
                report={**(batch.report or {}), "error": reason},
            )
        else:
            outcome = "resumed"
            values.update(status=BatchStatus.queued)
        if leases.take_back(session, batch, **values):
            counts[outcome] += 1
            if outcome == "resumed":
                enqueue_after_commit(session, tasks.render_merge, batch.id)
    return counts
