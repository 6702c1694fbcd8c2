"""The merge fields of one letter: the template text in the letter's language, and the frozen
context (sender, recipient or addressee list, treaty, campaign, co-signers) it is filled in from."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import Any

from babel import Locale
from sqlalchemy.orm import Session

from app.contacts import recipients as contacts_recipients
from app.contacts.addressing import LANGUAGE_NAMES
from app.cosigners import service as cosigners_service
from app.errors import NotFound
from app.letters import language as lx
from app.letters import page
from app.letters import service as letters_service
from app.letters.addressee import addressee_item, collective_group, recipient_group
from app.letters.context import LANGUAGES as LETTER_LANGUAGES
from app.letters.context import build_context, sender_from_profile
from app.letters.fields import empty_in
from app.letters.sandbox import used_roots
from app.letters.stored import required_in
from app.mailmerge.recipients import Candidate, source_error
from app.mailmerge.schemas import MergeCreate
from app.models import Campaign, Channel, LetterTemplate, TemplateVersion
from app.settings_admin import service as profile_service
from app.treaties import service as treaties_service


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


class ContextBuilder:
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
                raise source_error("treaty", f"No treaty '{treaty}'") from exc
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


def joint_context(
    builder: ContextBuilder,
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


def joint_target(
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
    return version, note, iso3, country_id_for(session, iso3)


def _flag(cand: Candidate, note: str) -> None:
    """What to watch in this letter, after what was noted already (shown in the preview)."""
    cand.reason = "; ".join(p for p in (cand.reason, note) if p)


def check_window(cand: Candidate, context: dict[str, Any], layout: str, channel: Channel) -> None:
    """A letter for the post whose address block cannot fit the envelope window even at the
    smallest type is flagged at drafting (too many lines, or a line too long)."""
    lines = [str(x) for x in (context.get("recipient") or {}).get("address_block") or []]
    if channel != Channel.post or not lines or layout not in page.WINDOWS:
        return
    if page.address_fits(lines, layout):
        return
    note = f"the address ({len(lines)} lines) does not fit the envelope window"
    _flag(cand, note)


# The script each non-Latin letter language is written in, as the directory's name forms hold
# names for it (a person's name in Russian letters is stored in Cyrillic, say).
_SCRIPTS = {"ru": "Cyrillic", "ar": "Arabic script", "zh": "Chinese characters"}


def check_name_script(cand: Candidate, language: str) -> None:
    """A letter in Russian, Arabic or Chinese to a person the directory names only in Latin
    letters is flagged at drafting: it would print "Уважаемая госпожа Baig!". Nothing is
    transliterated: a foreign ministry reads the name as its own officials write it."""
    rec = cand.recipient
    if rec.person_id is None or language not in _SCRIPTS:
        return
    text = rec.name_in(language).full()
    if not any(ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN") for ch in text):
        return
    note = (
        f"the name {text} is in Latin letters in a letter in {LANGUAGE_NAMES[language]}: "
        f"add it in {_SCRIPTS[language]} on the contact"
    )
    _flag(cand, note)


def check_addressee_name(cand: Candidate, language: str) -> None:
    """An addressee of a joint letter or memo, which lists every addressee by name in its text,
    is flagged when the directory holds its organisation's name in no form for the letter's
    language: the letter would list it as stored ("Ministry of Foreign Affairs of the Russian
    Federation" in a French memo). A person without an organisation: as check_name_script."""
    rec = cand.recipient
    if not rec.organisation_name:
        check_name_script(cand, language)
        return
    if language == "en" or rec.organisation_name_forms.get(language):
        return
    name = LANGUAGE_NAMES[language]
    note = (
        f"the organisation has no name in {name} in the directory: the letter lists it as "
        f"{rec.organisation_name}; add its {name} name on the organisation"
    )
    _flag(cand, note)


def batch_options(data: MergeCreate, treaty: str) -> dict[str, Any]:
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


def builder_for(
    session: Session,
    template: LetterTemplate,
    campaign: Campaign | None,
    letter_date: date,
    options: dict[str, Any],
) -> ContextBuilder:
    return ContextBuilder(
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


def country_id_for(session: Session, iso3: str) -> int | None:
    if not iso3:
        return None
    from app.countries import service as countries_service

    try:
        return countries_service.get_by_code(session, iso3).id
    except NotFound:
        return None


def letter_gaps(
    builder: ContextBuilder, context: dict[str, Any], version: TemplateVersion
) -> list[str]:
    """What a letter would leave empty: the template's required fields, the signature block's
    parts the profile has in English but not in the letter's language (Settings → each letter
    language), and co-signers without a name in it."""
    stored = {
        "signatory.name": builder.signatory.get("name"),
        "signatory.title": builder.signatory.get("title"),
    }
    signature = [name for name in empty_in(context, list(stored)) if stored[name]]
    return (
        empty_in(context, required_in(version))
        + signature
        + builder.cosigner_gaps(version.language)
    )
