"""The dates in a reply: its own date and the date of our letter it cites.

Month names come from CLDR (Babel) in every width and context, which gives the genitive forms
letters use ("5 декабря", "1er mai") and the Arabic month series of each region. Dates are read
on the folded text (``folding.fold``); positions (``DateMention.start``) are offsets in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

from babel.dates import get_month_names
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import Letter, LetterStatus
from app.replies.folding import WORD, fold, is_cjk

ANSWERABLE = (LetterStatus.sent, LetterStatus.replied, LetterStatus.closed)


DATE_LANGUAGES = ("en", "fr", "es", "ru", "ar", "zh", "de", "pt", "it", "nl")
# CLDR's Arabic locales carry the regional month series: the Egyptian/Gulf one (مايو) in "ar",
# the Levantine/Iraqi one (أيار، كانون الثاني) in ar_SY/ar_LB/ar_IQ/ar_JO/ar_PS, the Maghreb
# ones (ماي، جانفي، شتنبر) in ar_DZ/ar_TN/ar_MA.
MONTH_LOCALES = (
    *DATE_LANGUAGES,
    "pt_PT",
    "ar_SY",
    "ar_LB",
    "ar_IQ",
    "ar_JO",
    "ar_PS",
    "ar_DZ",
    "ar_TN",
    "ar_MA",
)
# Spellings CLDR lacks. Levantine and Iraqi letters often drop the article of the second word
# ("كانون ثاني", "تشرين أول"), as in the Syrian and Iraqi official gazettes; English letters
# write "Sept."; OCR and typists drop the German umlaut as "ae".
EXTRA_MONTHS = {
    "كانون ثاني": 1,
    "تشرين أول": 10,
    "تشرين ثاني": 11,
    "كانون أول": 12,
    "sept": 9,
    "maerz": 3,
}


@cache
def month_names() -> dict[str, int]:
    """Folded month name → number, every width and context of the ten languages (3+ letters)."""
    names: dict[str, int] = {}
    for locale in MONTH_LOCALES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, locale).items():
                    key = fold(name).rstrip(".")
                    if len(key) >= 3 and not key[0].isdigit():
                        names.setdefault(key, number)
    for name, number in EXTRA_MONTHS.items():
        names.setdefault(fold(name), number)
    return names


def _alternation(words: Iterable[str]) -> str:
    """Longest first, spaces inside a name matching any run of spaces or a line break."""
    ordered = sorted(set(words), key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in ordered)


_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0}


def _cn_number(value: str) -> int:
    """'二〇一〇' → 2010, '十二' → 12, '二十一' → 21, '5' → 5."""
    if value.isdigit():
        return int(value)
    if "十" in value:
        tens, _, ones = value.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    return int("".join(str(_CN_DIGITS[c]) for c in value))


# --- date mentions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DateMention:
    """A date as written: the year may be missing (cited dates only), numeric ones ambiguous."""

    day: int
    month: int
    year: int | None
    start: int
    end: int
    raw: str
    cited: bool = False
    # 01.05.2010: the other reading (month first) when both are possible
    swapped: bool = False

    @property
    def on(self) -> date | None:
        return make_date(self.year, self.month, self.day) if self.year else None

    @property
    def alternative(self) -> date | None:
        """The month-first reading of an ambiguous numeric date."""
        if not self.swapped or not self.year:
            return None
        return make_date(self.year, self.day, self.month)


def make_date(year: int | None, month: int, day: int) -> date | None:
    if year is None or not 1900 <= year <= 2100:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


_DAY = r"(?<![\d.])[«\"'„“]?\s*(?P<d>[0-3]?\d)\s*[»\"'”]?(?:er|re|e|st|nd|rd|th|o|a|°|\.o|\.a)?\.?"
_YEAR = r"(?P<y>(?:19|20)\d\d)(?!\d)"
_SEP = r"[\s,.\-–/]*"
_LETTER_BEFORE = r"(?<![^\W\d_])"
_LETTER_AFTER = r"(?![^\W\d_])"
# a word start, or after an Arabic one-letter prefix (برسالتكم, ولطاجيكستان)
_ARABIC_START = r"(?:(?<![^\W\d_])|(?<=(?<![^\W\d_])[وبلف]))"


@cache
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    months = _alternation(month_names())
    month = rf"{_LETTER_BEFORE}(?P<m>{months}){_LETTER_AFTER}\.?"
    # UN Arabic writes both series: "1 أيار/مايو 2010", "1 أيار (مايو) 2010"
    second = rf"(?:\s*[/(\-]\s*(?:{months}){_LETTER_AFTER}\s*\)?)?"
    cn_year = r"(?P<y>\d{4}|[〇零一二三四五六七八九]{4})\s*年\s*"
    cn_number = "一二三四五六七八九十"
    cn_md = (
        rf"(?P<m>\d{{1,2}}|[{cn_number}]{{1,2}})\s*月\s*"
        rf"(?P<d>\d{{1,2}}|[{cn_number}]{{1,3}})\s*[日号]"
    )
    return [
        (re.compile(cn_year + cn_md), "cn"),
        (re.compile(r"(?<![\d年])" + cn_md), "cn-noyear"),
        # 30 January 2009, 1er mai 2010, 1 de mayo de 2010, 1. Mai 2010, 5 декабря 2010 г.
        (
            re.compile(
                rf"{_DAY}{_SEP}(?:(?:de|del|of)\s+)?{month}{second}{_SEP}(?:(?:de|del)\s+)?{_YEAR}"
            ),
            "dmy",
        ),
        # January 30, 2009; May 1st 2010
        (
            re.compile(
                rf"{month}{_SEP}(?<!\d)(?P<d>[0-3]?\d)(?:st|nd|rd|th)?(?!\d),?{_SEP}{_YEAR}"
            ),
            "mdy",
        ),
        # 2010-05-01, 2010/5/1, 2010.05.01: the year first is never ambiguous
        (
            re.compile(
                r"(?<![\d.])(?P<y>(?:19|20)\d\d)([-/.])(?P<m>\d{1,2})\2(?P<d>\d{1,2})(?![\d])"
            ),
            "ymd",
        ),
        # 01.05.2010, 1/5/2010, 01-05-2010: day first as most of the world writes it
        (
            re.compile(r"(?<![\d.])(?P<d>\d{1,2})([./-])(?P<m>\d{1,2})\2" + _YEAR),
            "numeric",
        ),
        # no year ("your letter of 5 December", "Вашего письма от 5 декабря"): cited ones only
        (re.compile(rf"{_DAY}{_SEP}(?:(?:de|del|of)\s+)?{month}{second}(?!{_SEP}\d)"), "dm"),
        (re.compile(rf"{month}\s+(?<!\d)(?P<d>[0-3]?\d)(?:st|nd|rd|th)?(?![\d\w])"), "md"),
    ]


# Words that introduce the date of a letter being answered, in the ten languages; folded when
# compiled. A word stem ends with "*".
_CUES_BEFORE = (
    # en
    "letter",
    "note verbale",
    "verbal note",
    "your note",
    "note no",
    "communication",
    "correspondence",
    "your e-mail",
    "your email",
    "your message",
    "your fax",
    # fr
    "lettre",
    "courrier",
    "votre note",
    "correspondance",
    "votre message",
    "votre courriel",
    "missive",
    # es
    "carta",
    "nota verbal",
    "su nota",
    "atenta nota",
    "nota del",
    "nota de fecha",
    "comunicación",
    "correspondencia",
    "su mensaje",
    "su correo",
    "oficio",
    # de
    "schreiben*",
    "ihr* brief*",
    "brief* vom",
    "verbalnote",
    "ihre note",
    "mitteilung",
    "ihre nachricht",
    "ihre e-mail",
    # ru
    "письм*",
    "вербальн* нот*",
    "ваш* нот*",
    "обращени*",
    "послани*",
    "сообщени*",
    "ваш* №",
    # ar: your letter (three words), your note, the note verbale
    "رسالت*",
    "كتابكم",
    "خطابكم",
    "مذكرت*",
    "المذكرة الشفوية",
    "مذكرة شفوية",
    # zh: your letter, your note
    "来函",
    "来信",
    "信函",
    "照会",
    # pt
    "sua nota",
    "comunicação",
    "correspondência",
    "sua mensagem",
    "ofício",
    # it
    "lettera",
    "nota verbale",
    "sua nota",
    "comunicazione",
    "corrispondenza",
    "suo messaggio",
    # nl
    "uw brief",
    "brief van",
    "uw schrijven",
    "verbale nota",
    "uw nota",
    "mededeling",
    "uw bericht",
    "uw e-mail",
)
# Chinese names the letter after its date: "贵方2010年5月1日来函", "贵方于5月1日致外交部长的信".
_CUES_AFTER = r"^[^。；;\n]{0,20}?(?:来函|来信|信函|照会|的信)"


def _cue_regex(cue: str) -> str:
    parts = []
    for word in fold(cue).split():
        stem = word.endswith("*")
        word = word.rstrip("*")
        parts.append(re.escape(word) + (r"\w*" if stem else ""))
    body = r"\s+".join(parts)
    if is_cjk(cue):
        return body
    if any("\u0600" <= c <= "\u06ff" for c in cue):
        return rf"{_ARABIC_START}{body}{_LETTER_AFTER}"
    return rf"{_LETTER_BEFORE}{body}{_LETTER_AFTER}"


@cache
def _cue_before() -> re.Pattern[str]:
    return re.compile("|".join(_cue_regex(c) for c in _CUES_BEFORE))


_CUE_WINDOW = 80
# A sentence ends at a full stop after a word of five letters or more ("Affairs. The"), not
# after an abbreviation ("Ref. CMC/2010", "No. 12", "1. Mai"), or at ! ? ; 。 or a blank line.
_SENTENCE_END = re.compile(r"[^\W\d_]{5}\.\s|[!?;。；]|\n\s*\n")


def _is_cited(text: str, start: int, end: int, previous_end: int) -> bool:
    """Introduced as the date of a letter, by a cue word before it in the same sentence (and
    after the previous date), or, in Chinese, by the word for "letter" after it."""
    window_start = max(previous_end, start - _CUE_WINDOW)
    before = text[window_start:start]
    last = None
    for cue in _cue_before().finditer(before):
        last = cue
    if last is not None and not _SENTENCE_END.search(before[last.end() :]):
        return True
    return bool(re.match(_CUES_AFTER, text[end : end + 30]))


def find_dates(text: str) -> list[DateMention]:
    """Every date written in the (folded) text, in order; year-less ones only when cited."""
    folded = fold(text or "")
    names = month_names()
    taken: list[tuple[int, int]] = []
    raw_found: list[tuple[int, int, str, int, int, int | None, bool]] = []
    for pattern, kind in _patterns():
        for m in pattern.finditer(folded):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            groups = m.groupdict()
            swapped = False
            if kind.startswith("cn"):
                day, month = _cn_number(groups["d"]), _cn_number(groups["m"])
                year = _cn_number(groups["y"]) if groups.get("y") else None
            elif kind in {"dmy", "mdy", "dm", "md"}:
                day, month = int(groups["d"]), names[re.sub(r"\s+", " ", groups["m"])]
                year = int(groups["y"]) if groups.get("y") else None
            else:
                day, month, year = int(groups["d"]), int(groups["m"]), int(groups["y"])
                if kind == "numeric":
                    if month > 12 >= day:  # 5/13/2010: only month first is a date
                        day, month = month, day
                    swapped = day != month and day <= 12 and month <= 12
            if year is not None and make_date(year, month, day) is None:
                continue
            if year is None and (make_date(2000, month, day) is None):  # 29 Feb is fine
                continue
            taken.append(m.span())
            raw = m.group(0).strip().rstrip(".,")
            raw_found.append((m.start(), m.end(), raw, day, month, year, swapped))
    raw_found.sort()
    mentions: list[DateMention] = []
    previous_end = 0
    for start, end, raw, day, month, year, swapped in raw_found:
        cited = _is_cited(folded, start, end, previous_end)
        previous_end = end
        if year is None and not cited:
            continue
        mentions.append(DateMention(day, month, year, start, end, raw, cited, swapped))
    return mentions


# --- the reply's own date --------------------------------------------------------------------

HEADER_LINES = 12
FOOTER_LINES = 10
# a date line: "Geneva, 12 May 2010", "Genève, le 12 mai 2010", "Женева, 12 мая 2010 г."
DATE_LINE_WORDS = 5


def reply_date(text: str, mentions: Sequence[DateMention] | None = None) -> date | None:
    """The reply's own date: a date on a line of its own (with a place, a reference) in the
    letterhead, else at the foot (Chinese and Russian letters date below the signature); never
    a cited date, nor one before the date it cites."""
    folded = fold(text or "")
    mentions = find_dates(text) if mentions is None else mentions
    cited = [m.on for m in mentions if m.cited and m.on]
    earliest = max(cited) if cited else date.min
    line_starts = [0] + [i + 1 for i, c in enumerate(folded) if c == "\n"]
    non_empty = [i for i, s in enumerate(line_starts) if folded[s : _line_end(folded, s)].strip()]
    header = set(non_empty[:HEADER_LINES])
    footer = set(non_empty[-FOOTER_LINES:])
    found: dict[str, list[date]] = {"header": [], "footer": []}
    for m in mentions:
        on = m.on
        if m.cited or on is None or on < earliest:
            continue
        line = _line_index(line_starts, m.start)
        start = line_starts[line]
        rest = folded[start : m.start] + " " + folded[m.end : _line_end(folded, start)]
        if _words_in(rest) > DATE_LINE_WORDS or re.search(r"[。，；！？]", rest):
            continue
        if line in header:
            found["header"].append(on)
        elif line in footer:
            found["footer"].append(on)
    dates = found["header"] or found["footer"]
    return dates[0] if dates else None


def _words_in(text: str) -> int:
    """Words, a Chinese word counted as two characters (Chinese writes no spaces)."""
    cjk = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    return len(WORD.findall(re.sub(r"[\u4e00-\u9fff]+", " ", text))) + (cjk + 1) // 2


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end < 0 else end


def _line_index(line_starts: Sequence[int], position: int) -> int:
    low, high = 0, len(line_starts) - 1
    while low < high:
        mid = (low + high + 1) // 2
        if line_starts[mid] <= position:
            low = mid
        else:
            high = mid - 1
    return low


# --- dates against our letters ---------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedDate:
    """A mention read as a date, with how it was read when that needed our letters."""

    on: date
    cited: bool
    start: int
    raw: str
    note: str = ""
    # still possible readings (an ambiguous numeric date our letters do not settle)
    alternatives: tuple[date, ...] = ()


@dataclass
class Scope:
    """Whom the reply is from, to find our letters to them."""

    country_id: int | None = None
    organisation_ids: Sequence[int] = ()
    person_id: int | None = None
    country_name: str = ""

    @property
    def known(self) -> bool:
        return bool(self.country_id or self.organisation_ids or self.person_id)

    def describe(self) -> str:
        return f"to {self.country_name}" if self.country_name else "to this sender"


def _letter_dates(session: Session, scope: Scope) -> set[date]:
    """Dates of our letters to the state or sender (letter date and sending date)."""
    conditions = []
    if scope.country_id:
        conditions.append(Letter.country_id == scope.country_id)
    if scope.organisation_ids:
        conditions.append(Letter.organisation_id.in_(list(scope.organisation_ids)))
    if scope.person_id:
        conditions.append(Letter.person_id == scope.person_id)
    if not conditions:
        return set()
    rows = session.execute(
        select(Letter.letter_date, Letter.sent_on)
        .where(Letter.status.in_(ANSWERABLE), or_(*conditions))
        .limit(5000)
    ).all()
    return {d for row in rows for d in row if d}


def fmt(on: date) -> str:
    """1 May 2010 (the form reasons are written in)."""
    return f"{on.day} {on.strftime('%B %Y')}"


def resolve_dates(
    session: Session,
    mentions: Sequence[DateMention],
    scope: Scope,
    *,
    reply_on: date | None = None,
) -> list[ResolvedDate]:
    """Give every mention a date: a year-less cited date takes the year of our latest letter
    to the sender on that day and month (else of the reply's date, or the year before when the
    day has not come yet); an ambiguous numeric date the reading our letters to them bear out."""
    needs_letters = any(m.year is None or m.swapped for m in mentions)
    ours = _letter_dates(session, scope) if needs_letters and scope.known else set()
    reference = reply_on or date.today()
    out: list[ResolvedDate] = []
    for m in mentions:
        if m.year is None:
            same_day = sorted(
                d for d in ours if (d.month, d.day) == (m.month, m.day) and d <= reference
            )
            if same_day:
                on = same_day[-1]
                note = f'"{m.raw}" has no year: read as {fmt(on)}, our letter {scope.describe()}.'
            else:
                year = reference.year
                if make_date(year, m.month, m.day) is None or (m.month, m.day) > (
                    reference.month,
                    reference.day,
                ):
                    year -= 1
                maybe = make_date(year, m.month, m.day)
                if maybe is None:
                    continue
                on = maybe
                note = (
                    f'"{m.raw}" has no year: read as {fmt(on)}, the last such day before the reply.'
                )
            out.append(ResolvedDate(on, m.cited, m.start, m.raw, note))
            continue
        first, second = m.on, m.alternative
        if first is None:
            continue
        if second is None:
            out.append(ResolvedDate(first, m.cited, m.start, m.raw))
        elif (first in ours) != (second in ours):
            on, other = (first, second) if first in ours else (second, first)
            note = (
                f'"{m.raw}" read as {fmt(on)}: our letter {scope.describe()} bears that date, '
                f"none {fmt(other)}."
            )
            out.append(ResolvedDate(on, m.cited, m.start, m.raw, note))
        else:
            note = f'"{m.raw}" could be {fmt(first)} or {fmt(second)}.'
            out.append(ResolvedDate(first, m.cited, m.start, m.raw, note, (second,)))
    return out


# --- references ------------------------------------------------------------------------------
