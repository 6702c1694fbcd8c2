"""The language a reply is written in, from its text alone (models ship in the lingua wheel).

Restricted to the languages replies come in, so short letters are not taken for a neighbour
(Catalan for Spanish, Ukrainian for Russian), and built once per process.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

# The six UN languages, then the European languages embassies also write in.
LANGUAGES = ("en", "fr", "es", "ru", "ar", "zh", "de", "pt", "it", "nl")
# Beyond this many characters the answer no longer changes and detection only costs time.
SAMPLE_CHARS = 4000


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    languages = [
        Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in LANGUAGES
    ]
    return LanguageDetectorBuilder.from_languages(*languages).build()


# A script that only one of LANGUAGES writes in settles the question without loading a model.
_SCRIPTS = {"ARABIC": "ar", "CJK": "zh", "CYRILLIC": "ru"}


def _script_language(sample: str) -> str:
    scripts: Counter[str] = Counter()
    for ch in sample:
        if ch.isalpha():
            name = unicodedata.name(ch, "").split(" ", 1)[0]
            scripts[name] += 1
    total = sum(scripts.values())
    for script, code in _SCRIPTS.items():
        if total and scripts[script] * 2 > total:
            return code
    return ""


def detect(text: str) -> str:
    """An ISO 639-1 code among LANGUAGES, or "" when the text gives too little to tell."""
    sample = (text or "").strip()[:SAMPLE_CHARS]
    if len(sample) < 8:
        return ""
    if code := _script_language(sample):
        return code
    language = _detector().detect_language_of(sample)
    if language is None:
        return ""
    return language.iso_code_639_1.name.lower()
