"""Institutions in running text and the formulas of a note verbale, in the six UN languages.

A note verbale speaks of its sender and its recipient in the third person, by the names of the
institutions: "The Embassy … presents its compliments to the Ministry of Foreign Affairs …",
"La Mission permanente … présente ses compliments au Ministère …", "… свидетельствует своё
уважение Министерству иностранных дел …". The articles and contractions (fr/es), the Arabic
verb's gender and the Russian dative follow the institution's head noun:

* ``data/institution_nouns.csv`` — head nouns with gender and article, each with its source;
* ``data/note_formulas.csv`` — the opening and closing formulas, each with its source.

The opening stops before the verb that follows "has the honour" ("to request", "de solliciter",
"de solicitar", "просить", "بطلب", "请"): the template goes on in its own words. Where a name is
missing in the letter's language the forms are "" — never the English name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from app.letters.language.data import DATA, LANGUAGES
from app.letters.language.grammar import MAX_TEXT, inflect, with_given_article

# A name that already opens with its article: the article is read, then recomputed.
_LEADING_ARTICLES = {
    "fr": ("Le ", "La ", "Les ", "L'", "L’", "le ", "la ", "les ", "l'", "l’"),
    "es": ("El ", "La ", "Los ", "Las ", "el ", "la ", "los ", "las "),
    "en": ("The ", "the "),
}
# English: the words that end the head of a name ("Ministry | of Foreign Affairs").
_EN_HEAD_END = (" of ", " for ", " to ", " at ", " in ", " on ")


@dataclass(frozen=True)
class HeadNoun:
    language: str
    noun: str
    gender: str
    article: str


@cache
def head_nouns() -> tuple[HeadNoun, ...]:
    with (DATA / "institution_nouns.csv").open(encoding="utf-8", newline="") as fh:
        rows = [
            HeadNoun(r["language"], r["noun"], r["gender"], r["article"])
            for r in csv.DictReader(fh)
        ]
    # Longest first: "Alto Comisionado" before a shorter noun it starts with.
    return tuple(sorted(rows, key=lambda n: len(n.noun), reverse=True))


@cache
def formulas() -> dict[tuple[str, str, str], str]:
    """(language, gender, part) -> pattern with {sender}, {institution} and {to}."""
    with (DATA / "note_formulas.csv").open(encoding="utf-8", newline="") as fh:
        return {(r["language"], r["gender"], r["part"]): r["pattern"] for r in csv.DictReader(fh)}


def _bare(name: str, lang: str) -> str:
    for article in _LEADING_ARTICLES.get(lang, ()):
        if name.startswith(article) and len(name) > len(article):
            rest = name[len(article) :].lstrip()
            return rest[:1].upper() + rest[1:]
    return name


def _arabic_head(name: str) -> str:
    first = name.split(" ", 1)[0]
    return first[2:] if first.startswith("ال") and len(first) > 3 else first


def head_noun(name: str, lang: str) -> HeadNoun | None:
    """The listed head noun of an institution's name, or None (a proper name such as "Human
    Rights Watch", or a noun the table does not list yet)."""
    name = _bare(name.strip(), lang)
    nouns = [n for n in head_nouns() if n.language == lang]
    if lang in ("fr", "es"):
        low = name.casefold()
        for n in nouns:
            noun = n.noun.casefold()
            if low == noun or low.startswith((noun + " ", noun + "-")):
                return n
        return None
    if lang == "ar":
        head = _arabic_head(name)
        return next((n for n in nouns if n.noun == head), None)
    if lang == "en":
        head = name
        for stop in _EN_HEAD_END:
            head = head.split(stop, 1)[0]
        words = f" {head.casefold()} "
        return next((n for n in nouns if f" {n.noun.casefold()} " in words), None)
    return None


def _arabic_li(name: str) -> str:
    """After the preposition لـ: ل + ال contracts to لل."""
    return "لل" + name[2:] if name.startswith("ال") else "ل" + name


def institution_forms(name: str, lang: str) -> dict[str, str]:
    """An institution's name as running text needs it in ``lang``:

    ``subject`` — with its article where the language has one ("the Ministry of …",
    "le Ministère …", "la Embajada …"; ru/ar/zh as given);
    ``to`` — after "to": en "to the Ministry …", fr "au Ministère …" / "à l'Ambassade …" /
    "à la Mission …", es "al Ministerio …" / "a la Embajada …", ru the dative
    ("Министерству иностранных дел …"), ar after لـ ("لوزارة …"), zh as given.

    An empty or over-long name gives empty forms.
    """
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_TEXT or lang not in LANGUAGES:
        return {"subject": "", "to": ""}
    bare = _bare(name, lang)
    noun = head_noun(bare, lang)
    if lang == "en":
        subject = f"the {bare}" if noun else bare
        return {"subject": subject, "to": f"to {subject}"}
    if lang in ("fr", "es"):
        article = noun.article if noun else ""
        return {
            "subject": with_given_article(bare, lang, article),
            "to": with_given_article(bare, lang, article, "à" if lang == "fr" else "a"),
        }
    if lang == "ru":
        return {"subject": name, "to": inflect(name, "dative", "ru")}
    if lang == "ar":
        return {"subject": name, "to": _arabic_li(name)}
    return {"subject": name, "to": name}


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def note_formulas(sender: str, institution: str, lang: str) -> dict[str, str]:
    """The opening and closing formulas of a note verbale from ``sender`` to ``institution``
    (both named in ``lang``): {"opening": …, "closing": …}, both "" when either name is
    missing. Arabic verbs agree with the sender's head noun (feminine unless the table lists
    it as masculine: a proper name stands for its منظمة)."""
    sender_forms = institution_forms(sender, lang)
    recipient = institution_forms(institution, lang)
    if not sender_forms["subject"] or not recipient["subject"]:
        return {"opening": "", "closing": ""}
    gender = ""
    if lang == "ar":
        noun = head_noun(sender, lang)
        gender = noun.gender if noun is not None and noun.gender == "m" else "f"
    slots = {
        "sender": sender_forms["subject"],
        "institution": recipient["subject"],
        "to": recipient["to"],
    }
    return {
        part: _capitalised(formulas()[(lang, gender, part)].format(**slots))
        for part in ("opening", "closing")
    }
