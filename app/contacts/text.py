"""Normalised text for accent- and script-insensitive search."""

from __future__ import annotations

import re
import unicodedata

from unidecode import unidecode

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, accents removed, any script transliterated to Latin ("Рахмон" -> "rakhmon")."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", unidecode(stripped).lower()).strip()


def search_text(*parts: str) -> str:
    """The indexed search column: every name form, folded, de-duplicated, within 1000 chars."""
    seen: list[str] = []
    for part in parts:
        folded = fold(part or "")
        if folded and folded not in seen:
            seen.append(folded)
    return " | ".join(seen)[:1000]


def terms(query: str) -> list[str]:
    """The query as folded words, each to be found somewhere in the search column."""
    words = [w for w in fold(query).replace("%", " ").replace("_", " ").split(" ") if w]
    return words[:8]
