"""Forms of address by diplomatic protocol, in the six UN languages, driven by data tables.

`address(who, lang, style)` gives the name lines of the address block, the salutation, the
complimentary close and the way running text names the addressee; `office_title()` gives an
office's title in a language by grammatical case; `role_of()` reads a role from a stored title.
Nothing here touches the database. The wording lives in `app/letters/data/protocol_*.csv`, each row
with its source (see docs/protocol.md):

- protocol_roles.csv      role key, rank group, treatment, and the pattern `role_of()` matches
- protocol_titles.csv     per role and language: office title by case, short title, in-text forms
- protocol_titles_by_state.csv  the same for a state that titles an office its own way (主席)
- protocol_treatments.csv per treatment (rank) and language: courtesy line, honour, pronoun
- protocol_words.csv      per language: Mr/Ms, господину/госпоже, Estimado señor, المحترم …
- protocol_phrases.csv    per language, style and holder/no holder: layout, salutation, close, text

Template syntax in those tables: `{slot}` is filled from the addressee; `a||b` offers alternatives,
the first whose slots are all filled wins; `masc|fem|neutral` picks by grammatical gender (with two
forms only, an unknown gender gets neither, so the next alternative is tried); ` / ` separates
lines.
An alternative whose gendered form is missing is skipped, which is how unknown genders end up with
the neutral constructions ("Excellency,", "Madame, Monsieur,", "Ваше Превосходительство!").
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pytrovich.enums import Case, NamePart
from pytrovich.enums import Gender as PetrovichGender
from pytrovich.maker import PetrovichDeclinationMaker

STYLES = ("formal", "personal")
LANGUAGES = ("en", "fr", "es", "ru", "ar", "zh")
GENDERS = ("m", "f", "")
# Diplomatic ranks below the head of mission, titled in every language but English, which
# prints the directory's own title ("Counsellor (Disarmament)").
DIPLOMATIC_RANKS = (
    "minister_counsellor",
    "counsellor",
    "first_secretary",
    "second_secretary",
    "third_secretary",
    "attache",
    "consul_general",
    "consul",
)
ROLES = (
    "head_of_state",
    "monarch",
    "head_of_government",
    "minister",
    "foreign_minister",
    "defence_minister",
    "ambassador",
    "charge_d_affaires",
    "permanent_representative",
    "secretary_general",
    "director_general",
    "organisation_president",
    "deputy_permanent_representative",
    *DIPLOMATIC_RANKS,
    "official",
    "unknown",
)
# The cases office_title() can return, as named in protocol_titles.csv (office_<case>).
CASES = ("nominative", "dative", "genitive")

DATA = Path(__file__).parent / "data"
_SLOT = re.compile(r"\{(\??)([a-z_]+)\}")
_ALTERNATIVES = "||"
_GENDERED = "|"
_LINES = " / "
_EXCELLENCY_HONORIFIC = re.compile(r"^\s*(h\.?\s*e\.?|his excellency|her excellency)\s*$", re.I)
# Honorifics as stored in the directory that tell the grammatical gender when none is recorded.
_HONORIFIC_GENDER = {
    "mr": "m",
    "m": "m",
    "monsieur": "m",
    "sr": "m",
    "señor": "m",
    "г-н": "m",
    "господин": "m",
    "ms": "f",
    "mrs": "f",
    "miss": "f",
    "mme": "f",
    "madame": "f",
    "sra": "f",
    "señora": "f",
    "г-жа": "f",
    "госпожа": "f",
}
_HAN = re.compile(r"^[\u3400-\u9fff]+$")


@dataclass(frozen=True)
class Addressee:
    role: str | None
    gender: str  # "m", "f" or "" (unknown)
    given_name: str  # in the letter's script
    family_name: str
    patronymic: str = ""
    honorific: str = ""  # as stored: "H.E.", "Mr", "Ms", "Dr", "Prof."
    office: Mapping[str, str] = field(default_factory=dict)  # by case, from office_title()
    has_holder: bool = True  # False: the letter goes to an office with no named holder
    country_iso3: str = ""  # the state whose office it is (some title their offices their way)


@dataclass(frozen=True)
class Forms:
    name_lines: list[str]
    salutation: str
    closing: str
    in_text: str
    missing: list[str]


# --- data -----------------------------------------------------------------------------------


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def _role_patterns() -> tuple[tuple[str, str, frozenset[str], re.Pattern[str]], ...]:
    """(role, treatment, the states the row is limited to (none: every state), pattern), in
    file order."""
    return tuple(
        (
            row["role"],
            row["treatment"],
            frozenset(row["states"].split()),
            re.compile(row["pattern"], re.I),
        )
        for row in _read("protocol_roles.csv")
    )


@cache
def _treatment_of_role() -> dict[str, str]:
    out: dict[str, str] = {}
    for role, treatment, _, _ in _role_patterns():
        out.setdefault(role, treatment)
    return out


@cache
def _titles() -> dict[tuple[str, str], dict[str, str]]:
    return {(row["role"], row["lang"]): row for row in _read("protocol_titles.csv")}


@cache
def _state_titles() -> dict[tuple[str, str, str], dict[str, str]]:
    """Titles one state gives an office its own way (China's head of State is 主席, not 总统)."""
    rows = _read("protocol_titles_by_state.csv")
    return {(row["role"], row["lang"], row["iso3"]): row for row in rows}


def _title_row(role: str | None, lang: str, iso3: str = "") -> dict[str, str]:
    """The office's title forms in ``lang``: the state's own where it has them."""
    key = role or ""
    return _state_titles().get((key, lang, iso3)) or _titles().get((key, lang)) or {}


@cache
def _treatments() -> dict[tuple[str, str], dict[str, str]]:
    return {(row["treatment"], row["lang"]): row for row in _read("protocol_treatments.csv")}


@cache
def _words() -> dict[tuple[str, str], str]:
    return {(row["lang"], row["word"]): row["value"] for row in _read("protocol_words.csv")}


@cache
def _phrases() -> dict[tuple[str, str, bool], dict[str, str]]:
    return {
        (row["lang"], row["style"], row["holder"] == "yes"): row
        for row in _read("protocol_phrases.csv")
    }


# --- templates ------------------------------------------------------------------------------


def _gendered(value: str, gender: str) -> str:
    forms = value.split(_GENDERED)
    if len(forms) == 1:
        return forms[0]
    if gender == "m":
        return forms[0]
    if gender == "f":
        return forms[1]
    return forms[2] if len(forms) > 2 else ""


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" +([,.:!،])", r"\1", text)
    return text.strip()


def _render(template: str, values: Mapping[str, str], gender: str) -> str | None:
    """The first alternative whose gendered form exists and whose slots are all filled."""
    if not template.strip():
        return ""
    for alternative in template.split(_ALTERNATIVES):
        text = _gendered(alternative.strip(), gender)
        if not text:
            continue
        filled = True

        def slot(match: re.Match[str]) -> str:
            nonlocal filled
            value = values.get(match.group(2), "")
            if not value:
                filled = False
            return "" if match.group(1) else value

        out = _SLOT.sub(slot, text)
        if filled:
            return _tidy(out)
    return None


def _slots(template: str) -> set[str]:
    return {m.group(2) for m in _SLOT.finditer(template)}


# --- names ----------------------------------------------------------------------------------


@cache
def _petrovich() -> PetrovichDeclinationMaker:
    return PetrovichDeclinationMaker()


def _decline(text: str, part: NamePart, gender: str, case: Case) -> str:
    """A Russian name part in a case; with unknown gender only if both genders agree."""
    if not text:
        return ""
    if not gender:
        masc = _decline(text, part, "m", case)
        return masc if masc == _decline(text, part, "f", case) else ""
    sex = PetrovichGender.MALE if gender == "m" else PetrovichGender.FEMALE
    words = [
        _petrovich().make(part, sex, case, word) if re.search("[а-яё]", word, re.I) else word
        for word in text.split()
    ]
    return " ".join(words)


def _initials(*names: str) -> str:
    return "".join(f"{n[0]}." for n in names if n)


def _full_name(who: Addressee, lang: str) -> str:
    given, family = who.given_name.strip(), who.family_name.strip()
    if lang == "zh" and given and family:
        # A Chinese name (one- or two-character parts) is written family name first, unbroken;
        # a transliterated foreign name given·family with the interpunct.
        if _HAN.match(given) and _HAN.match(family) and len(given) <= 2 and len(family) <= 2:
            return family + given
        return f"{given}·{family}"
    return " ".join(p for p in (given, family) if p)


def _gender(who: Addressee) -> str:
    if who.gender in ("m", "f"):
        return who.gender
    return _HONORIFIC_GENDER.get(who.honorific.strip().lower().rstrip("."), "")


# --- public API -----------------------------------------------------------------------------


def role_of(title: str, iso3: str = "") -> str | None:
    """The role key for a position or office title as stored in the directory, held for the state
    ``iso3`` (a few titles mean one office in one state: the United States' Secretary of State is
    its foreign minister)."""
    for role, _, states, pattern in _role_patterns():
        if states and iso3.upper() not in states:
            continue
        if title and pattern.search(title):
            return role
    return None


def office_title(
    role: str | None,
    lang: str,
    *,
    country: Mapping[str, str],
    title_en: str = "",
    gender: str = "",
    iso3: str = "",
) -> dict[str, str]:
    """The office's title in `lang` by case, with the country's (or organisation's) name slotted in.

    `country` holds the forms the language's templates ask for (docs/protocol.md): en
    "nominative"; fr and es "de"; ru "genitive"; ar "nominative" and "li"; zh "nominative"; and,
    for ambassadors, chargés d'affaires and permanent representatives, "to" (the receiving State
    or organisation, worded for the language). An unknown gender gives the office's conventional
    (masculine) title. {} when the table has no such title; English only for English.
    """
    _check_language(lang)
    row = _title_row(role, lang, iso3)
    out: dict[str, str] = {}
    if row:
        for case in CASES:
            template = row.get(f"office_{case}", "")
            text = _render(template, country, gender or "m") if template else None
            if text:
                out[case] = text
    if not out and lang == "en" and title_en.strip():
        out["nominative"] = title_en.strip()
    return out


def office_names_its_state(role: str | None, lang: str, iso3: str = "") -> bool:
    """Whether the office's title in ``lang`` names the state or organisation it serves ("Minister
    for Foreign Affairs of Kazakhstan"), so that an address block needs no line for the
    organisation; a title the protocol does not form ("Counsellor") names neither."""
    row = _title_row(role, lang, iso3)
    return any("{" in row.get(f"office_{case}", "") for case in CASES)


def address(who: Addressee, lang: str, style: str = "formal") -> Forms:
    """Name lines, salutation, complimentary close and in-text name for `who` in `lang`."""
    _check_language(lang)
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {STYLES}")
    holder = who.has_holder
    gender = _gender(who) if holder else ""
    role = who.role if who.role in ROLES else "unknown"
    treatment = _treatment_of_role().get(role, "none")
    # The directory's "H.E.": an envoy of ambassadorial rank the table cannot tell from the
    # title, such as a deputy permanent representative who holds the rank of ambassador.
    if treatment in ("none", "official") and _EXCELLENCY_HONORIFIC.match(who.honorific):
        treatment = "excellency"
    values = _values(who, lang, role, gender, holder)
    missing: list[str] = []
    if holder and not values["name"]:
        missing.append("name")

    treat = _treatments().get((treatment, lang), {})
    for slot in ("courtesy", "honour", "honour_personal", "pron", "regard"):
        values[slot] = _render(treat.get(slot, ""), values, gender) or ""
    person = _lines(treat.get("person", ""), values, gender) if holder else []

    phrase = _phrases()[(lang, style, holder)]
    name_lines: list[str] = []
    for line in phrase["name_lines"].split(_LINES):
        if line.strip() == "{person}":
            name_lines.extend(person)
            continue
        text = _render(line, values, gender)
        if text:
            name_lines.append(text)
        elif _slots(line) & {"office", "office_dative"} and "office title" not in missing:
            missing.append("office title")
    salutation = _render(phrase["salutation"], values, gender) or ""
    closing = _render(phrase["closing"], values, gender) or ""
    in_text = _render(phrase["in_text"], values, gender) or ""
    for label, text in (
        ("salutation", salutation),
        ("closing", closing),
        ("in-text name", in_text),
    ):
        if not text:
            missing.append(label)
    return Forms(name_lines, salutation, closing, in_text, missing)


# --- helpers --------------------------------------------------------------------------------


def _check_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"no forms of address for language {lang!r}; expected one of {LANGUAGES}")


def _lines(template: str, values: Mapping[str, str], gender: str) -> list[str]:
    out = []
    for line in template.split(_LINES):
        text = _render(line, values, gender)
        if text:
            out.append(text)
    return out


def _values(who: Addressee, lang: str, role: str, gender: str, holder: bool) -> dict[str, str]:
    values: dict[str, str] = {}
    title = _title_row(role, lang, who.country_iso3)
    for slot in ("short", "in_text", "vocative"):
        values[slot] = _gendered(title.get(slot, ""), gender)
    values["office_ref"] = _gendered(title.get("office_ref", ""), gender or "m")
    values["office"] = who.office.get("nominative", "")
    values["office_dative"] = who.office.get("dative", "")
    for (word_lang, word), value in _words().items():
        if word_lang == lang and (word == "mister_dat" or not word.startswith("mister_")):
            values[word] = _gendered(value, gender) if holder else ""
    honorific = who.honorific.strip().lower().rstrip(".")
    academic = _words().get((lang, f"mister_{honorific}"))
    if academic and holder:
        values["mister"] = academic
    if not holder:
        return values
    given, family = who.given_name.strip(), who.family_name.strip()
    values["name"] = _full_name(who, lang)
    values["family"] = family
    values["surname"] = family or values["name"]
    if lang == "ru":
        values["initials"] = _initials(given, who.patronymic.strip())
        values["family_dat"] = _decline(family, NamePart.LASTNAME, gender, Case.DATIVE)
        given_dat = _decline(given, NamePart.FIRSTNAME, gender, Case.DATIVE)
        if (not given or given_dat) and (not family or values["family_dat"]):
            values["name_dat"] = " ".join(p for p in (given_dat, values["family_dat"]) if p)
    return values


# --- a contact's forms from the directory's facts -------------------------------------------

# English formal names that take "the" ("the Republic of Tajikistan", "the United Kingdom …").
_ARTICLED = ("Republic", "Kingdom", "United", "Federal", "Islamic", "State", "Commonwealth")


def _english_formal(short: str, formal: str) -> str:
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
    """The forms of a state's formal name that office titles slot in (see office_title): en
    "nominative" ("the Republic of Tajikistan"), fr/es "nominative" and "de", ru every case,
    ar "nominative" and "li", zh "nominative". The short name stands in where the names data
    has no formal name in that language."""
    from app.letters import language as lx
    from app.letters.language.data import CASES as NAME_CASES

    code = (iso3 or "").upper()
    if not code or lang not in LANGUAGES:
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
        return {case: lx.country_name(code, "ru", base, case) for case in NAME_CASES}
    if lang == "ar":
        return {"nominative": formal, "li": _arabic_li(formal)}
    return {"nominative": formal}


def forms_for(
    *,
    title: str,
    gender: str,
    given_name: str,
    family_name: str,
    patronymic: str = "",
    honorific: str = "",
    country_iso3: str = "",
    has_holder: bool = True,
    lang: str,
    style: str = "formal",
) -> tuple[Forms, dict[str, str]]:
    """A contact's forms of address in ``lang`` from what the directory holds (the title as
    stored, the name in the letter's script, the state): the protocol's Forms and the office
    title by case. The one rule letters, exports and the contact page use."""
    lang = lang if lang in LANGUAGES else "en"
    role = role_of(title, country_iso3)
    holder_gender = gender if has_holder else ""
    office = office_title(
        role,
        lang,
        country=country_forms(country_iso3, lang),
        title_en=title,
        gender=holder_gender,
        iso3=country_iso3,
    )
    who = Addressee(
        role=role,
        gender=holder_gender,
        given_name=given_name if has_holder else "",
        family_name=family_name if has_holder else "",
        patronymic=patronymic if has_holder else "",
        honorific=honorific,
        office=office,
        has_holder=has_holder,
        country_iso3=country_iso3,
    )
    return address(who, lang, style), office
