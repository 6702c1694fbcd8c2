"""Russian case forms of names and titles, through pymorphy3 (OpenCorpora dictionary).

Only the head of a phrase inflects: the adjectives before the head noun, the head noun and a
noun coordinated with it by "и" ("Босния и Герцеговина" -> "Боснии и Герцеговины"). The first
word after the head that is not in agreement (a genitive complement "Америки", an apposition
"Таджикистан", a preposition "по") ends the inflected part, so "Республика Таджикистан" gives
"Республике Таджикистан". A word with no nominative reading ("Того", "Перу" are read as forms of
"тот" and "перо") is left as it is, which is right for indeclinable names; names the analyser
still gets wrong are listed in data/russian_exceptions.csv.
"""

from functools import cache, lru_cache

import pymorphy3
from pymorphy3.analyzer import Parse

from app.letters.language.data import CASES, russian_exceptions

GRAMMEME = {
    "nominative": "nomn",
    "genitive": "gent",
    "dative": "datv",
    "accusative": "accs",
    "instrumental": "ablt",
    "prepositional": "loct",
}


@cache
def _morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer(lang="ru")


def _restore_case(original: str, inflected: str) -> str:
    """Carry the capitals of `original` over to `inflected`, part by part of a hyphenated name."""
    src, dst = original.split("-"), inflected.split("-")
    if len(src) != len(dst):
        src, dst = [original], [inflected]
    parts = [
        "".join(ch.upper() if i < len(a) and a[i].isupper() else ch for i, ch in enumerate(b))
        for a, b in zip(src, dst, strict=True)
    ]
    text = "-".join(parts)
    return text if "ё" in original.lower() else text.replace("ё", "е").replace("Ё", "Е")


def _plain(word: str) -> str:
    return word.lower().replace("ё", "е")


def _nominative_parse(word: str, pos: set[str]) -> Parse | None:
    """The best nominative reading of `word` among parts of speech `pos`, or None."""
    candidates = [
        p
        for p in _morph().parse(word)
        if p.tag.POS in pos and "nomn" in p.tag and _plain(p.word) == _plain(word)
    ]
    if not candidates:
        return None
    # Place names first, then fixed (indeclinable) words, then the analyser's own order.
    candidates.sort(key=lambda p: ("Geox" not in p.tag, "Fixd" in p.tag))
    return candidates[0]


def _inflect_word(word: str, case: str, parse: Parse, animacy: str = "inan") -> str:
    if "Fixd" in parse.tag:
        return word
    target = {GRAMMEME[case]}
    form = None
    singular_fn = {"femn", "neut"} & parse.tag.grammemes and "sing" in parse.tag
    if case == "accusative" and parse.tag.POS != "NOUN" and not singular_fn:
        # An adjective takes the animacy of its noun: "Соединенные Штаты" (inanimate),
        # "Постоянного представителя" (animate).
        form = parse.inflect(target | {animacy})
    form = form or parse.inflect(target)
    return _restore_case(word, form.word) if form else word


def _inflect_token(token: str, case: str, parse: Parse) -> str:
    """Hyphenated names inflect as one word when the dictionary knows them, else each part."""
    return _inflect_word(token, case, parse)


def _reading(token: str, pos: set[str]) -> Parse | None:
    return _nominative_parse(token, pos) if token and token[0].isalpha() else None


def _head_animacy(words: list[str]) -> str:
    """ "anim" when the phrase's first noun names a person ("представитель"), else "inan"."""
    for word in words:
        noun = _reading(word, {"NOUN"})
        if noun is not None:
            return "anim" if "anim" in noun.tag else "inan"
    return "inan"


@lru_cache(maxsize=4096)
def inflect_phrase(text: str, case: str) -> str:
    """`text` (nominative) in `case`; unchanged when nothing can be inflected."""
    if case not in GRAMMEME or case == "nominative" or not text.strip():
        return text
    exceptions = russian_exceptions()
    if text in exceptions:
        return exceptions[text][case]
    words = text.split(" ")
    animacy = _head_animacy(words)
    out: list[str] = []
    head_seen = False
    expect_coordinated = False
    for i, word in enumerate(words):
        if word in exceptions:
            out.append(exceptions[word][case])
            head_seen = True
            continue
        if word in ("—", "–") and head_seen:
            # "Папуа — Новая Гвинея": the second part of a compound name agrees too.
            out.append(word)
            head_seen = False
            continue
        if word == "и" and head_seen and not expect_coordinated:
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if _reading(nxt, {"NOUN"}) is not None:
                out.append(word)
                expect_coordinated = True
                continue
            out.extend(words[i:])
            break
        adjective = None if head_seen else _reading(word, {"ADJF", "PRTF", "NUMR"})
        noun = _reading(word, {"NOUN"})
        if head_seen and not expect_coordinated:
            out.extend(words[i:])
            break
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if adjective is not None and (
            noun is None or _reading(nxt, {"NOUN", "ADJF", "PRTF"}) is not None
        ):
            # "Великое Герцогство": an adjective before a noun, though "Великое" is also a place.
            out.append(_inflect_word(word, case, adjective, animacy))
            continue
        if noun is not None:
            out.append(_inflect_token(word, case, noun))
            head_seen = True
            expect_coordinated = False
            continue
        if "-" in word:
            parts = word.split("-")
            readings = [_reading(p, {"NOUN", "ADJF"}) for p in parts]
            if readings[-1] is not None and "NOUN" in str(readings[-1].tag.POS):
                # "Гвинея-Бисау", "Коста-Рика": the noun part inflects.
                out.append(
                    "-".join(
                        _inflect_word(p, case, r) if r is not None and r.tag.POS == "NOUN" else p
                        for p, r in zip(parts, readings, strict=True)
                    )
                )
                head_seen = True
                continue
            if readings[0] is not None and readings[0].tag.POS == "NOUN":
                out.append("-".join([_inflect_word(parts[0], case, readings[0]), *parts[1:]]))
                head_seen = True
                continue
        # No nominative reading: an indeclinable word or the end of the agreeing part.
        if not head_seen and i == 0:
            out.append(word)
            head_seen = True
            continue
        out.extend(words[i:])
        break
    return " ".join(out)


def all_cases(text: str) -> dict[str, str]:
    return {case: (text if case == "nominative" else inflect_phrase(text, case)) for case in CASES}
