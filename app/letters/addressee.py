"""A recipient as a letter in one language addresses them: the directory's one definition of the
contact (``contacts_recipients.Recipient``: who, which address) with the protocol's forms for the
language and style (``protocol``) and the state's names from the shipped data (``language``).

Letters, previews and follow-ups build the ``recipient`` group of a letter's context here, so a
Russian letter opens "Ваше Превосходительство!", addresses "Президенту Республики Таджикистан"
in the dative and names the person in Cyrillic where the directory holds the name that way.
"""

from __future__ import annotations

from typing import Any

from app.contacts import recipients as contacts_recipients
from app.letters import language as lx
from app.letters import protocol

# Offices whose holder's title already says where they sit ("Minister for Foreign Affairs of
# Kazakhstan"): the address block needs no line for the organisation ("Office of the President")
# between the title and the street. Other titles ("Counsellor") keep the organisation's line.
_TITLED = {"head_of_state_office", "government", "ministry", "embassy", "permanent_mission"}


def recipient_group(
    rec: contacts_recipients.Recipient,
    *,
    language: str,
    style: str = "formal",
    overrides: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The ``recipient`` group of a letter's context in ``language`` and ``style``, plus
    ``missing``: what the protocol could not form in that language (shown at drafting)."""
    lang = language if language in protocol.LANGUAGES else "en"
    name = rec.name_in(lang) if rec.person_id is not None else None
    title = rec.title or rec.office_title
    forms, office = protocol.forms_for(
        title=title,
        gender=rec.gender,
        given_name=name.given if name else "",
        family_name=name.family if name else "",
        patronymic=name.patronymic if name else "",
        honorific=rec.honorific,
        country_iso3=rec.country_iso3,
        has_holder=rec.person_id is not None,
        lang=lang,
        style=style,
    )
    name_lines = list(forms.name_lines)
    # In running text the organisation is named in the letter's language or not at all; the
    # address block may keep the name as the directory holds it (postal lines are not prose).
    held = rec.organisation_name_forms.get(lang, "")
    organisation = held or (rec.organisation_name if lang == "en" else "")
    postal_organisation = held or rec.organisation_name
    names_its_state = bool(office) and protocol.office_names_its_state(
        protocol.role_of(title, rec.country_iso3), lang, rec.country_iso3
    )
    titled = rec.organisation_type in _TITLED and names_its_state
    of_organisation = (
        _russian_office_of(name_lines, office, held) if lang == "ru" and not names_its_state else []
    )
    if of_organisation:
        # "Первому секретарю Постоянного представительства …": the office and the organisation
        # it is held in make one line in the dative, so the organisation has no line of its own
        name_lines = of_organisation
    elif postal_organisation and not titled and postal_organisation not in name_lines:
        # Chinese names the organisation first, then the office and the person (单位, 职务, 姓名)
        name_lines.insert(0 if lang == "zh" else len(name_lines), postal_organisation)
    override = (overrides or {}).get(lang, "")
    full_name = name.full() if name else ""
    return {
        "name": full_name,
        "honorific": rec.honorific,
        "salutation": override or forms.salutation,
        "closing": forms.closing,
        "in_text": forms.in_text,
        "address_block": rec.address_block(name_lines) if rec.postal else name_lines,
        "position": office.get("nominative", ""),
        "organisation": organisation,
        "country": lx.country_name(rec.country_iso3, lang, "short") if rec.country_iso3 else "",
        "language": lang,
        "email": rec.email,
        "phone": rec.phone,
        "missing": list(forms.missing),
    }


def _russian_office_of(
    name_lines: list[str], office: dict[str, str], organisation: str
) -> list[str]:
    """The Russian name lines with the office (in the dative, a title the protocol forms without
    the state: "Первому секретарю") followed by the organisation in the genitive, when the
    directory holds the organisation's Russian name; [] otherwise."""
    dative = office.get("dative", "")
    if not organisation or not dative or dative not in name_lines or organisation in dative:
        return []
    genitive = lx.inflect(organisation, "genitive", "ru")
    if genitive == organisation:  # nothing could be inflected: two lines say it better
        return []
    return [f"{dative} {genitive}" if line == dative else line for line in name_lines]


# Several addressees at once (a joint letter or memo): the collective salutation and close of
# the language, as conference and circular letters use them.
COLLECTIVE: dict[str, tuple[str, str]] = {
    "en": (
        "Excellencies, Ladies and Gentlemen,",
        "Please accept the assurances of our highest consideration.",
    ),
    "fr": (
        "Excellences, Mesdames et Messieurs,",
        "Veuillez agréer l'assurance de notre très haute considération.",
    ),
    "es": (
        "Excelencias, señoras y señores:",
        "Les reiteramos las seguridades de nuestra más alta consideración.",
    ),
    "ru": (
        "Ваши Превосходительства, дамы и господа!",
        "Примите уверения в нашем самом высоком уважении.",
    ),
    "ar": ("أصحاب المعالي والسعادة، السيدات والسادة،", "وتفضلوا بقبول فائق الاحترام والتقدير."),
    "zh": ("各位阁下，女士们、先生们：", "顺致崇高的敬意。"),
}


def addressee_item(rec: contacts_recipients.Recipient, language: str) -> dict[str, str]:
    """One addressee of a joint letter: the organisation (or the person) as the letter's
    language names it where the directory holds it, and the state's short name."""
    lang = language if language in protocol.LANGUAGES else "en"
    if rec.organisation_name:
        name = rec.organisation_name_forms.get(lang) or rec.organisation_name
    else:
        name = rec.name_in(lang).full() or rec.display_name
    state = lx.country_name(rec.country_iso3, lang, "short") if rec.country_iso3 else ""
    return {"name": name, "country": state}


def collective_group(language: str, emails: list[str]) -> dict[str, Any]:
    """The ``recipient`` group of a letter to several addressees at once."""
    lang = language if language in COLLECTIVE else "en"
    salutation, closing = COLLECTIVE[lang]
    return {
        "salutation": salutation,
        "closing": closing,
        "address_block": [],
        "language": lang,
        "email": ", ".join(emails),
    }
