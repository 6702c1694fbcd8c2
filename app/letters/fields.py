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
        ("name", "Full name of the addressee", "Emomali Rahmon"),
        ("honorific", "Honorific or style", "H.E."),
        ("salutation", "Opening salutation, in the letter's language", "Dear Mr President,"),
        (
            "address_block",
            "Postal address as a list of lines (use a for loop)",
            ["H.E. Emomali Rahmon", "President of the Republic of Tajikistan", "Dushanbe"],
        ),
        ("position", "Position held", "President of the Republic of Tajikistan"),
        ("organisation", "Organisation or institution", "Office of the President"),
        ("country", "Country name", "Tajikistan"),
        ("language", "Preferred language code", "en"),
    ],
    "organisations": [],  # filled below: a list of addressees for joint letters
    "treaty": [
        ("name", "Full treaty name", "Convention on Cluster Munitions"),
        ("short_name", "Short name", "CCM"),
        ("status", "The recipient country's status", "not signed"),
        ("signature_date", "Date the country signed, written the local way", ""),
        ("ratification_date", "Date the country ratified or acceded", ""),
        ("eif_date", "Entry-into-force date of the treaty", "1 August 2010"),
    ],
    "campaign": [
        ("name", "Campaign name", "Universalise the CCM"),
        ("goal", "Campaign goal", "Every state joins the Convention on Cluster Munitions"),
    ],
    "milestone": [
        ("name", "The next milestone", "First Meeting of States Parties, Vientiane"),
        ("date", "Milestone date, written the local way", "9 November 2010"),
        ("days_left", "Days from the letter date to the milestone", 218),
    ],
    "sender": [
        ("name", "Sending organisation", "Cluster Munition Coalition"),
        ("short_name", "Short name", "CMC"),
        ("address_lines", "Postal address as a list of lines", ["1 Rue de Varembé", "Geneva"]),
        ("city", "City the letter is written from", "Geneva"),
        ("email", "Contact email", "info@stopclustermunitions.org"),
        ("phone", "Telephone", "+41 22 920 03 25"),
        ("website", "Website", "www.stopclustermunitions.org"),
    ],
    "signatory": [
        ("name", "Who signs the letter", "Thomas Nash"),
        ("title", "The signatory's title", "Coordinator"),
    ],
    "letter": [
        ("reference", "The letter's reference number", "CMC/2010/TJK/0001"),
        ("date", "The letter date, written the local way", "25 March 2010"),
        ("language", "Language of the letter", "en"),
    ],
}

ORGANISATION_ITEM_FIELDS = ("name", "country")

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
ROOTS = frozenset(_GROUPS)
# Leaf fields that hold lists, and the attributes each list item has (None: plain strings).
LIST_ITEMS: dict[str, tuple[str, ...] | None] = {
    "recipient.address_block": None,
    "sender.address_lines": None,
    "organisations": ORGANISATION_ITEM_FIELDS,
}


def groups() -> list[tuple[str, list[MergeField]]]:
    """Fields grouped by their first part, in display order (for the editor sidebar)."""
    out: dict[str, list[MergeField]] = {}
    for field in FIELDS.values():
        out.setdefault(field.name.split(".")[0], []).append(field)
    return list(out.items())


def sample_values() -> dict[str, Any]:
    """A nested context made of every field's example (used to preview templates)."""
    ctx: dict[str, Any] = {}
    for field in FIELDS.values():
        group, _, leaf = field.name.partition(".")
        if not leaf:
            ctx[group] = field.example
        else:
            ctx.setdefault(group, {})[leaf] = field.example
    return ctx


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
