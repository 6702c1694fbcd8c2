"""The merge fields a letter template may use: name, description and an example for each.

The registry is the single source for validation (unknown fields are refused), for the editor's
sidebar, for the API's field list and for the sample context used in previews.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MergeField:
    name: str
    description: str
    example: Any


_GROUPS: dict[str, list[tuple[str, str, Any]]] = {
    "recipient": [
        (
            "name",
            "Full name, in the letter's script where the directory holds it",
            "Emomali Rahmon",
        ),
        ("honorific", "Honorific or style as stored", "H.E."),
        ("salutation", "Opening salutation, by protocol, in the letter's language", "Excellency,"),
        (
            "closing",
            "Complimentary close, by protocol, in the letter's language",
            "Please accept, Excellency, the assurances of my highest consideration.",
        ),
        (
            "in_text",
            "How running text names the addressee (the office when nobody holds it)",
            "President Rahmon",
        ),
        (
            "address_block",
            "Address block: protocol name lines and the postal address (use a for loop)",
            [
                "His Excellency Emomali Rahmon",
                "President of the Republic of Tajikistan",
                "Rudaki Avenue 80",
                "734023 Dushanbe",
                "TAJIKISTAN",
            ],
        ),
        (
            "position",
            "Office title in the letter's language",
            "President of the Republic of Tajikistan",
        ),
        (
            "organisation",
            "Organisation, in the letter's language where held",
            "Executive Office of the President",
        ),
        ("country", "The recipient's state, short name in the letter's language", "Tajikistan"),
        ("language", "Language of the letter", "en"),
        ("email", "The recipient's email address", "info@president.tj"),
        ("phone", "The recipient's telephone", "+992 37 221 34 14"),
    ],
    "organisations": [],  # filled below: a list of addressees for joint letters
    "cosigners": [],  # filled below: the organisations signing with the sender
    "country": [
        ("name", "The recipient's state, short name", "Tajikistan"),
        ("formal_name", "Formal name (UNTERM)", "Republic of Tajikistan"),
        ("name_with_article", "French/Spanish: with its article (le Tadjikistan)", "Tajikistan"),
        (
            "formal_name_with_article",
            "French/Spanish: formal name with its article",
            "Republic of Tajikistan",
        ),
        ("iso3", "ISO 3166 code", "TJK"),
    ],
    "treaty": [
        ("name", "Full treaty name in the letter's language", "Convention on Cluster Munitions"),
        ("short_name", "Short title in the letter's language", "Convention on Cluster Munitions"),
        ("abbreviation", "Abbreviation where the language has one (empty otherwise)", "CCM"),
        ("key", "The treaty's key in Demarche", "CCM"),
        ("status", "The recipient state's status, as running text says it", "not a signatory"),
        ("is_party", "Whether the state is a State Party (for {% if treaty.is_party %})", False),
        ("signature_date", "Date the state signed, written the local way", ""),
        ("ratification_date", "Date the state ratified or acceded", ""),
        ("eif_date", "Entry-into-force date of the treaty", "1 August 2010"),
        ("days_to_eif", "Days from the letter date to entry into force (0 once in force)", 92),
    ],
    "campaign": [
        ("name", "Campaign name", "Universalise the CCM"),
        ("goal", "Campaign goal", "Every state joins the Convention on Cluster Munitions"),
    ],
    "milestone": [
        (
            "name",
            "The next meeting's name in the letter's language",
            "First Meeting of States Parties to the Convention on Cluster Munitions",
        ),
        ("short_name", "Its short name", "1MSP"),
        ("city", "Host city, in the letter's language", "Vientiane"),
        ("host_country", "Host state, short name in the letter's language", "Laos"),
        ("host_country_with_article", "French/Spanish: host state with its article", "Laos"),
        ("date", "Opening date, written the local way", "9 November 2010"),
        ("end_date", "Closing date", "12 November 2010"),
        ("dates", "Opening to closing date", "9–12 November 2010"),
        ("period", "Opening to closing date as a sentence says it", "from 9 to 12 November 2010"),
        ("days_left", "Days from the letter date to the opening", 192),
    ],
    "sender": [
        ("name", "Sending organisation, in the letter's language", "Cluster Munition Coalition"),
        (
            "own_name",
            "Sending organisation as registered (letterhead)",
            "Cluster Munition Coalition",
        ),
        ("short_name", "Short name", "CMC"),
        ("address_lines", "Postal address as a list of lines", ["1 Rue de Varembé", "Geneva"]),
        ("city", "City the letter is written from, in the letter's language", "Geneva"),
        ("email", "Contact email", "info@stopclustermunitions.org"),
        ("phone", "Telephone", "+41 22 920 03 25"),
        ("website", "Website", "www.stopclustermunitions.org"),
    ],
    "signatory": [
        ("name", "Who signs the letter, in the letter's script", "Thomas Nash"),
        ("title", "The signatory's title, in the letter's language", "Coordinator"),
    ],
    # A note verbale names its sender and recipient as institutions, in the third person
    # (app/letters/language/notes.py); the recipient is their organisation in the letter's
    # language, and every form is empty where that name is not held in the language.
    "note": [
        (
            "opening",
            'Note verbale: the opening formula, up to "has the honour" (the text goes on '
            '"to request …", "de solliciter …", "просить …", "بطلب …", "请…")',
            "The Cluster Munition Coalition presents its compliments to the Ministry of Foreign "
            "Affairs of the Republic of Tajikistan and has the honour",
        ),
        (
            "closing",
            "Note verbale: the closing formula (renewing the assurances of consideration)",
            "The Cluster Munition Coalition avails itself of this opportunity to renew to the "
            "Ministry of Foreign Affairs of the Republic of Tajikistan the assurances of its "
            "highest consideration.",
        ),
        (
            "institution",
            "The recipient's institution with its article (le Ministère …, el Ministerio …)",
            "the Ministry of Foreign Affairs of the Republic of Tajikistan",
        ),
        (
            "to_institution",
            'The institution after "to": au Ministère …, à l\'Ambassade …, al Ministerio …, '
            "the Russian dative, Arabic لـ",
            "to the Ministry of Foreign Affairs of the Republic of Tajikistan",
        ),
        (
            "sender",
            "The sending organisation with its article, in the letter's language",
            "the Cluster Munition Coalition",
        ),
    ],
    "memo": [
        (
            "from",
            "A memo's From line: the merge's \"From\" text, else the sender's name",
            "Cluster Munition Coalition",
        ),
        (
            "to",
            "A memo's To line: every addressee of a joint memo, else the recipient's organisation",
            "Ministry of Foreign Affairs, Ministry of Defence",
        ),
    ],
    "letter": [
        ("reference", "The letter's reference number", "CMC/2010/TJK/0001"),
        ("date", "The letter date, written the local way", "1 May 2010"),
        ("date_line", "Place and date, the local way", "Geneva, 1 May 2010"),
        ("language", "Language of the letter", "en"),
    ],
}

# The filters a template may apply to fields, with examples (shown in the editor and the API).
FILTERS: list[tuple[str, str, dict[str, str]]] = [
    (
        'case("dative")',
        "Russian: the name in a grammatical case (genitive, dative, accusative, instrumental, "
        "prepositional); other languages unchanged",
        {"ru": '{{ treaty.name | case("dative") }} → Конвенции по кассетным боеприпасам'},
    ),
    (
        "article",
        'French/Spanish: with its article, or contracted with a preposition: article("de"), '
        'article("à"), article("a")',
        {
            "fr": '{{ country.name | article("à") }} → au Tadjikistan',
            "es": '{{ treaty.name | article("de") }} → de la Convención sobre Municiones en Racimo',
        },
    ),
    (
        "days",
        "A number of days with the language's plural agreement",
        {
            "en": "{{ milestone.days_left | days }} → 192 days",
            "ru": "{{ milestone.days_left | days }} → 192 дня",
            "es": "{{ treaty.days_to_eif | days }} → 92 días",
        },
    ),
    (
        'count("week")',
        "A number of days, weeks, months or years with plural agreement",
        {"fr": '{{ 3 | count("month") }} → 3 mois'},
    ),
    (
        "local_date",
        "A date (ISO text) written the letter language's way",
        {"fr": '{{ "2010-05-01" | local_date }} → 1er mai 2010'},
    ),
    (
        'default("…", true)',
        "Marks a field optional: the text given prints when the field is empty, and the letter "
        "is not held back for it",
        {"en": '{{ treaty.signature_date | default("not yet", true) }}'},
    ),
]

ORGANISATION_ITEM_FIELDS = ("name", "country")
COSIGNER_ITEM_FIELDS = ("name", "signatory_name", "signatory_title")

FIELDS: dict[str, MergeField] = {
    f"{group}.{name}": MergeField(f"{group}.{name}", description, example)
    for group, entries in _GROUPS.items()
    for name, description, example in entries
}
FIELDS["organisations"] = MergeField(
    "organisations",
    "Joint letters: the list of addressed organisations (each with .name and .country)",
    [
        {"name": "Ministry of Foreign Affairs", "country": "Tajikistan"},
        {"name": "Ministry of Defence", "country": "Tajikistan"},
    ],
)
FIELDS["cosigners"] = MergeField(
    "cosigners",
    "Co-signed letters: the organisations signing with the sender, in the letter's language "
    "(each with .name, .signatory_name and .signatory_title; empty where not held in it)",
    [
        {
            "name": "Handicap International",
            "signatory_name": "Marion Libertucci",
            "signatory_title": "Advocacy Manager",
        },
        {
            "name": "Human Rights Watch",
            "signatory_name": "Steve Goose",
            "signatory_title": "Director, Arms Division",
        },
    ],
)
ROOTS = frozenset(_GROUPS)
# Leaf fields that hold lists, and the attributes each list item has (None: plain strings).
LIST_ITEMS: dict[str, tuple[str, ...] | None] = {
    "recipient.address_block": None,
    "sender.address_lines": None,
    "organisations": ORGANISATION_ITEM_FIELDS,
    "cosigners": COSIGNER_ITEM_FIELDS,
}


def groups() -> list[tuple[str, list[MergeField]]]:
    """Fields grouped by their first part, in display order (for the editor sidebar)."""
    out: dict[str, list[MergeField]] = {}
    for field in FIELDS.values():
        out.setdefault(field.name.split(".")[0], []).append(field)
    return list(out.items())


# ----------------------------------------------------------------------------- empty fields

# A required field that is empty for a recipient prints as «group.field»: the campaigner sees
# where the letter has a gap, and a letter with such a mark cannot be approved.
_MARK = re.compile(r"«([a-z_]+\.[a-z_]+)»")


def placeholder(name: str) -> str:
    return f"«{name}»"


def empty_marks(*texts: str) -> list[str]:
    """The registered fields left empty in a letter's own text, in order of appearance."""
    found: dict[str, None] = {}
    for text in texts:
        for match in _MARK.finditer(text or ""):
            if match.group(1) in FIELDS:
                found[match.group(1)] = None
    return list(found)


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, tuple, dict)) and not value)


def with_placeholders(context: dict[str, Any], required: Iterable[str]) -> dict[str, Any]:
    """The context with each required field that is empty replaced by its placeholder."""
    out = dict(context)
    for name in required:
        group, _, leaf = name.partition(".")
        values = out.get(group)
        if not leaf or not isinstance(values, dict) or not is_empty(values.get(leaf, "")):
            continue
        if name in LIST_ITEMS:
            out[group] = {**values, leaf: [placeholder(name)]}
        else:
            out[group] = {**values, leaf: placeholder(name)}
    return out


def empty_in(context: dict[str, Any], required: Iterable[str]) -> list[str]:
    """Which of the required fields are empty in a context."""
    out = []
    for name in required:
        group, _, leaf = name.partition(".")
        values = context.get(group)
        if leaf and isinstance(values, dict) and is_empty(values.get(leaf, "")):
            out.append(name)
    return out
