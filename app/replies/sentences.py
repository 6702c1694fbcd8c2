"""A reply's text as stances are read from it: folded one character for one (lower case, one form of
each Arabic letter, invisible marks gone; positions stay those of the text), OCR line breaks
joined, and split into sentences.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_ARABIC_FOLD = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"}
_DROP = {"\u0640", "\u00ad", "\u200c", "\u200d", "\u200e", "\u200f", "\ufeff"}
_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"}


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """One character as matched: lower case, Arabic letters in one form, vowel marks gone."""
    if ch in _DROP:
        return ""
    ch = _APOSTROPHES.get(ch, ch)
    if "\u064b" <= ch <= "\u065f" or ch == "\u0670":
        return ""
    if ch in _ARABIC_FOLD:
        return _ARABIC_FOLD[ch]
    if ch == "ё":
        return "е"
    if ch == "Ё":
        return "е"
    if ch in "\t\r\f\v\u00a0\u2007\u202f\u3000":
        return " "
    return unicodedata.normalize("NFKC", ch).lower()


def fold(text: str) -> str:
    """The form cue patterns are written in (also applied to the patterns' Arabic letters)."""
    return "".join(_fold_char(ch) for ch in text)


def fold_pattern(pattern: str) -> str:
    """A pattern as written in the data, as matched: its Arabic letters folded (only those:
    lower-casing a pattern would turn \\S into \\s), and each space any run of white space, so
    a phrase broken across two lines of a scan still matches."""
    folded = "".join(_ARABIC_FOLD.get(ch, ch) for ch in pattern if not ("\u064b" <= ch <= "\u065f"))
    return re.sub(r" \?|(?<!\\) ", lambda m: r"\s*" if m.group() == " ?" else r"\s+", folded)


# --- folding and sentences -------------------------------------------------------------------


@dataclass
class Folded:
    """The folded text and, for each of its characters, where it came from in the original."""

    original: str
    text: str
    origin: list[int]
    scripts: set[str]


def folded_text(text: str) -> Folded:
    out: list[str] = []
    origin: list[int] = []
    scripts = {"latin"}
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        # "acces-\nsion": a word broken across an OCR line is read whole
        if ch == "-" and i + 1 < n and text[i + 1] == "\n" and out and out[-1].isalpha():
            j = i + 1
            while j < n and text[j] in " \n\t\r":
                j += 1
            if j < n and text[j].islower():
                i = j
                continue
        if ch == "\r":
            i += 1
            continue
        # Chinese runs on across a line break: no space where the scanner broke the line
        if ch == "\n" and out and _is_cjk(out[-1]):
            j = i + 1
            while j < n and text[j] in " \t\r":
                j += 1
            if j < n and _is_cjk(text[j]):
                i = j
                continue
        folded = _fold_char(ch)
        for f in folded:
            out.append(f)
            origin.append(i)
        if "\u0600" <= ch <= "\u06ff":
            scripts.add("arabic")
        elif "\u0400" <= ch <= "\u04ff":
            scripts.add("cyrillic")
        elif "\u4e00" <= ch <= "\u9fff":
            scripts.add("cjk")
        i += 1
    return Folded(text, "".join(out), origin, scripts)


# Words a full stop follows without ending the sentence ("Mr.", "No.", "H.E.", "г.").
_ABBREVIATIONS = frozenset(
    (
        "mr",
        "mrs",
        "ms",
        "dr",
        "no",
        "nos",
        "st",
        "m",
        "mme",
        "mlle",
        "sr",
        "sra",
        "srta",
        "dra",
        "excmo",
        "excma",
        "sres",
        "art",
        "p",
        "pp",
        "vol",
        "ref",
        "gen",
        "col",
        "etc",
        "e.g",
        "i.e",
        "vs",
        "inc",
        "u.s",
        "u.n",
        "s.e",
        "h.e",
        "d.c",
        "n°",
        "nº",
        "tel",
        "fax",
        "г",
        "гг",
        "т.е",
        "т.д",
        "им",
        "ул",
        "д",
        "тел",
        "стр",
    )
)
# ". " ends a sentence; 。！？؟ end one with or without a space after them.
_TERMINAL = re.compile(r"[.!?](?=[\s\"'»”)]|$)|[。！？؟]")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
SHORT_LINE = 50


def _line_breaks(f: Folded) -> list[int]:
    """Single line breaks that end a sentence: after a short line (a letterhead, a date, a
    salutation) when the next line starts with a capital or a digit. Lines of running text
    broken by the scanner are joined."""
    cuts: list[int] = []
    text = f.text
    start = 0
    for m in re.finditer("\n", text):
        line = text[start : m.start()].strip()
        nxt = m.end()
        while nxt < len(text) and text[nxt] == " ":
            nxt += 1
        start = m.end()
        if nxt >= len(text):
            continue
        first = f.original[f.origin[nxt]]
        if len(line) < SHORT_LINE and (first.isupper() or first.isdigit()):
            cuts.append(m.end())
    return cuts


def sentences_of(f: Folded) -> list[tuple[int, int]]:
    """Sentence spans in the folded text."""
    text = f.text
    cuts = {0, len(text)}
    cuts.update(m.end() for m in _PARAGRAPH.finditer(text))
    cuts.update(_line_breaks(f))
    for m in _TERMINAL.finditer(text):
        if m.group() == ".":
            word = re.search(r"([\w.°º]+)$", text[max(0, m.start() - 12) : m.start()])
            token = word.group(1) if word else ""
            if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
                continue
        cuts.add(m.end())
    ordered = sorted(cuts)
    spans = []
    for a, b in zip(ordered, ordered[1:], strict=False):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            spans.append((a, b))
    return spans


_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_CJK_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t]*\n\s*(?=[{_CJK}])")


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"


def quote_of(f: Folded, span: tuple[int, int]) -> str:
    """The sentence as written: the original characters, line breaks and runs of spaces as one
    space, words broken across lines joined."""
    a, b = f.origin[span[0]], f.origin[span[1] - 1] + 1
    raw = f.original[a:b]
    raw = re.sub(r"(\w)-\n\s*(?=[a-zà-ÿа-я])", r"\1", raw)
    raw = _CJK_BREAK.sub("", raw)
    return re.sub(r"\s+", " ", raw).strip()
