"""A recipient as a letter in one language addresses them: the directory's one definition of the
contact (``contacts_service.Recipient``: who, which address) with the protocol's forms for the
language and style (``protocol``) and the state's names from the shipped data (``language``).

Letters, previews and follow-ups build the ``recipient`` group of a letter's context here, so a
Russian letter opens "Ваше Превосходительство!", addresses "Президенту Республики Таджикистан"
in the dative and names the person in Cyrillic where the directory holds the name that way.
"""

from __future__ import annotations

from typing import Any

from app.contacts import service as contacts_service
from app.letters import language as lx
from app.letters import protocol
from app.letters.language.data import CASES

# Offices whose holder's title already says where they sit: the address block needs no line for
# the organisation ("Office of the President") between the title and the street.
_TITLED = {"head_of_state_office", "government", "ministry", "embassy", "permanent_mission"}
_ARTICLED = ("Republic", "Kingdom", "United", "Federal", "Islamic", "State", "Commonwealth")


def _english_formal(short: str, formal: str) -> str:
    """ "the Republic of Tajikistan", "Japan", "the United Kingdom of …"."""
    if not formal:
        return short
    if formal.startswith("the "):
        return formal
    if formal != short or formal.split(" ")[0] in _ARTICLED:
        return f"the {formal}"
    return formal


def _arabic_li(name: str) -> str:
    """The name after the preposition لـ ("to/of"): ل + ال contracts to لل."""
    if name.startswith("ال"):
        return "لل" + name[2:]
    return "ل" + name if name else ""


def country_forms(iso3: str, lang: str) -> dict[str, str]:
    """The forms of a state's formal name that office titles slot in (see protocol.office_title):
    en "nominative" ("the Republic of Tajikistan"), fr/es "de", ru "genitive" (and the other
    cases), ar "nominative" and "li", zh "nominative". The short name stands in where the data
    has no formal name in that language."""
    code = (iso3 or "").upper()
    if not code:
        return {}
    short = lx.country_name(code, lang, "short")
    formal = lx.country_name(code, lang, "formal") or short
    if not formal:
        return {}
    if lang == "en":
        return {"nominative": _english_formal(short, lx.country_name(code, "en", "formal"))}
    if lang in ("fr", "es"):
        return {
            "nominative": lx.with_article(formal, lang),
            "de": lx.with_article(formal, lang, "de"),
        }
    if lang == "ru":
        base = "formal" if lx.country_name(code, "ru", "formal") else "short"
        return {case: lx.country_name(code, "ru", base, case) for case in CASES}
    if lang == "ar":
        return {"nominative": formal, "li": _arabic_li(formal)}
    return {"nominative": formal}


def recipient_group(
    rec: contacts_service.Recipient,
    *,
    language: str,
    style: str = "formal",
    overrides: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The ``recipient`` group of a letter's context in ``language`` and ``style``, plus
    ``missing``: what the protocol could not form in that language (shown at drafting)."""
    lang = language if language in protocol.LANGUAGES else "en"
    title = rec.title or rec.office_title
    role = protocol.role_of(title)
    name = rec.name_in(lang) if rec.person_id is not None else None
    gender = rec.gender if rec.person_id is not None else ""
    office = protocol.office_title(
        role, lang, country=country_forms(rec.country_iso3, lang), title_en=title, gender=gender
    )
    who = protocol.Addressee(
        role=role,
        gender=gender,
        given_name=name.given if name else "",
        family_name=name.family if name else "",
        patronymic=name.patronymic if name else "",
        honorific=rec.honorific,
        office=office,
        has_holder=rec.person_id is not None,
    )
    forms = protocol.address(who, lang, style)
    name_lines = list(forms.name_lines)
    # In running text the organisation is named in the letter's language or not at all; the
    # address block may keep the name as the directory holds it (postal lines are not prose).
    held = rec.organisation_name_forms.get(lang, "")
    organisation = held or (rec.organisation_name if lang == "en" else "")
    postal_organisation = held or rec.organisation_name
    titled = rec.organisation_type in _TITLED and office
    if postal_organisation and not titled and postal_organisation not in name_lines:
        name_lines.append(postal_organisation)
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
        "phone": getattr(rec, "phone", ""),
        "missing": list(forms.missing),
    }


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


def addressee_item(rec: contacts_service.Recipient, language: str) -> dict[str, str]:
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
