"""Reading a reply: its date, the date of our letter it cites, the references it quotes and who
sent it, from typed, pasted, emailed or recognised (OCR) text in the ten languages replies come in.

Dates are read on a folded copy of the text (compatibility forms, accents, Arabic hamza and
vowel marks, invisible marks removed; Arabic-Indic and full-width digits as ASCII; lower case),
so "Février", "fevrier", "أيار" and "ايار", "٢٠١٠" and "2010" read alike. Month names come from
CLDR (Babel) in every width and context, which gives the genitive forms letters use ("5 декабря",
"1er mai") and the Arabic month series of each region. Positions (``DateMention.start``) are
offsets in that folded copy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import pycountry
from babel import Locale
from babel.dates import get_month_names
from rapidfuzz import fuzz, process
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.contacts.names import organisation_forms_of
from app.contacts.text import fold as fold_latin
from app.letters.language.data import country_names
from app.models import Alias, Country, Letter, LetterStatus, Organisation, OrganisationType
from app.replies import langdetect

# Untrusted text: only so much of it is read (a reply's letterhead, body and signature fit).
MAX_TEXT = 60_000
ANSWERABLE = (LetterStatus.sent, LetterStatus.replied, LetterStatus.closed)

# --- folding ---------------------------------------------------------------------------------

_DIGITS = str.maketrans(
    "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹",  # Arabic-Indic, then Eastern Arabic-Indic (Persian/Urdu) digits
    "01234567890123456789",
)
_ARABIC = str.maketrans({"ى": "ي", "ـ": None})  # alif maqsura as ya; tatweel (stretching)
# A word hyphenated across a line break by OCR or a narrow column ("Decem-\nber").
_HYPHENATED = re.compile(r"(?<=[^\W\d_])[-\u00ad]\s*\n\s*(?=[^\W\d_])")


def fold(text: str) -> str:
    """The text as dates and cue words are read: see the module docstring."""
    text = _HYPHENATED.sub("", text[:MAX_TEXT])
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Cf"))
    return kept.translate(_DIGITS).translate(_ARABIC).casefold()


_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_WIDE_DIGITS = {cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)}


def _plain(text: str) -> str:
    """Digits and full-width forms as ASCII, one character for one, case kept (references are
    read on this and quoted as written)."""
    return text[:MAX_TEXT].translate(_DIGITS).translate(_FULLWIDTH)


# --- month names -----------------------------------------------------------------------------

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
        return _make_date(self.year, self.month, self.day) if self.year else None

    @property
    def alternative(self) -> date | None:
        """The month-first reading of an ambiguous numeric date."""
        if not self.swapped or not self.year:
            return None
        return _make_date(self.year, self.day, self.month)


def _make_date(year: int | None, month: int, day: int) -> date | None:
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
    if _is_cjk(cue):
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
            if year is not None and _make_date(year, month, day) is None:
                continue
            if year is None and (_make_date(2000, month, day) is None):  # 29 Feb is fine
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

_WORD = re.compile(r"[^\W\d_]{2,}")
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
    return len(_WORD.findall(re.sub(r"[\u4e00-\u9fff]+", " ", text))) + (cjk + 1) // 2


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
                if _make_date(year, m.month, m.day) is None or (m.month, m.day) > (
                    reference.month,
                    reference.day,
                ):
                    year -= 1
                maybe = _make_date(year, m.month, m.day)
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

# "Your ref.", "V/Réf.", "Su ref.", "Ihr Zeichen", "На №", "Ваш №": our reference, not theirs.
_YOURS = re.compile(
    r"(?:\byour|\bvotre|\bv/|\bvs\b|\bsu|\bihr(?:e|em)?|\bваш\w*|\bна|\buw|\bsua|\bvostra|"
    r"\bvossa|\bla\s+sua|إشارتكم|贵方)\s*$",
    re.IGNORECASE,
)
_SENDER_LABEL = re.compile(
    r"(?<![\w])(?P<label>our\s+ref(?:erence)?\.?(?:\s*no\.?)?|ref(?:erence)?\.?\s*no\.?|"
    r"ref(?:erence)?|notre\s+réf(?:érence)?\.?|réf(?:érence)?|n/réf|nuestra\s+ref(?:erencia)?|"
    r"unser\s+zeichen|aktenzeichen|geschäftszeichen|gz|nossa\s+ref(?:erência)?|rif(?:erimento)?|"
    r"prot(?:ocollo)?(?:\s+n)?|ons\s+kenmerk|kenmerk|исх(?:одящий)?\.?\s*№?|№|no|n°|nº|n\.º|"
    r"núm(?:ero)?|nr|编号|文号)"
    r"(?P<glue>\.?)(?P<space>\s*[:：]?\s*)"
    r"(?P<value>(?=[\w〔〕\[\]()./\-]{0,59}\d)[\w〔〕\[\]()./\-]{1,60})",
    re.IGNORECASE,
)
# "N°", "No.", "№": the code before it is part of the reference ("OIG N° 147/2010", "DVTM N°
# 000873", "DIAN/GAND No. 18562", "Ord. N° 0612"); words ("Note No.", "CIRCULAR NOTE No.") not.
_NUMBER_LABELS = {"no", "n°", "nº", "n.º", "№", "nr", "núm", "número"}
_CODE_BEFORE = re.compile(r"(?:(?<=\s)|^)((?:[A-Z]{2,8}(?:/[A-Z]{2,8})*|[A-Z][a-z]{1,3}\.)\s+)+$")
_NOTE_WORDS = {"NOTE", "NOTA", "CIRCULAR", "VERBALE", "VERBAL", "LETTER", "LETTRE", "REF", "OUR"}
# Arabic labels take the rest of the line: "الرقم: م د/2010/1187", "العدد: 4/3/8812".
_ARABIC_LABEL = re.compile(
    r"(?:الرقم\s+الإشاري|الرقم\s+الاشاري|الرقم|رقم|العدد|الإشارة)\s*[:：]\s*"
    r"(?P<value>[^\n]+?)\s*(?=\s{3}|التاريخ|$)"
)
# 外发〔2010〕12号, 外军函〔2009〕第17号, （2010）驻日内瓦代表团字第45号: a Chinese document number.
_CN_DOCUMENT = re.compile(
    r"[\u4e00-\u9fff]{0,8}[〔\[（(]\d{4}[〕\]）)][\u4e00-\u9fff]{0,12}?\s*第?\s*\d+\s*号"
)
# A line that is a reference on its own: "UNIO-2010-0231", "MRE/DGOI/0877/05/10", "OGE-01023".
_REFERENCE_LINE = re.compile(r"[A-Z][A-Za-z0-9]*(?:[-/.][A-Za-z0-9]+)+")
REFERENCE_HEAD_LINES = 15


def _token_key(value: str) -> str:
    """CMC 2010/TJK/1, CMC-2010-TJK-0001, cmc/2010/tjk/01 → CMC/2010/TJK/1."""
    tokens = re.findall(r"[A-Z]+|\d+", value.upper())
    return "/".join(t.lstrip("0") or "0" if t.isdigit() else t for t in tokens)


def reference_key(value: str) -> str:
    """A reference as compared: letter and digit groups, leading zeros dropped, any separator."""
    return _token_key(_plain(value))


MAX_REFERENCE_GROUPS = 7
MAX_REFERENCE_CANDIDATES = 150
_GROUP = re.compile(r"[A-Z]+|\d+")
_GROUP_GAP = re.compile(r"[\s/\-_.:]{0,3}")


def _reference_candidates(text: str) -> list[tuple[str, str]]:
    """(as written, key) for every run of 3 to 7 letter and digit groups, starting with letters
    and holding a digit, that could be one of our references; those written with / or - first."""
    plain = _plain(text or "").upper()
    groups = list(_GROUP.finditer(plain))
    found: dict[str, str] = {}
    for i, first in enumerate(groups):
        if first.group(0).isdigit():
            continue
        end = i
        while (
            end + 1 < len(groups)
            and end + 1 - i < MAX_REFERENCE_GROUPS
            and _GROUP_GAP.fullmatch(plain[groups[end].end() : groups[end + 1].start()])
        ):
            end += 1
        tokens = [g.group(0) for g in groups[i : end + 1]]
        for n in range(3, len(tokens) + 1):
            if any(t.isdigit() for t in tokens[:n]):
                raw = plain[first.start() : groups[i + n - 1].end()]
                found.setdefault(_token_key("/".join(tokens[:n])), raw)
    ranked = sorted(found.items(), key=lambda kv: not ("/" in kv[1] or "-" in kv[1]))
    return [(raw, key) for key, raw in ranked[:MAX_REFERENCE_CANDIDATES]]


@dataclass(frozen=True)
class QuotedReference:
    letter_id: int
    reference: str  # the letter's reference
    written: str  # as the reply writes it


def our_references(session: Session, text: str) -> list[QuotedReference]:
    """Our letters whose reference the text quotes, also retyped (spaces, dashes, lower case,
    no leading zeros); a retyped form counts only when it fits exactly one letter."""
    candidates = _reference_candidates(text)
    if not candidates:
        return []
    likes = [Letter.reference.ilike("%" + "%".join(key.split("/")) + "%") for _, key in candidates]
    rows = session.execute(
        select(Letter.id, Letter.reference).where(or_(*likes)).order_by(Letter.id).limit(500)
    ).all()
    by_key: dict[str, list[tuple[int, str]]] = {}
    for letter_id, reference in rows:
        by_key.setdefault(reference_key(reference), []).append((letter_id, reference))
    found: dict[int, QuotedReference] = {}
    for raw, key in candidates:
        letters = by_key.get(key, [])
        if len(letters) == 1 and letters[0][0] not in found:
            found[letters[0][0]] = QuotedReference(letters[0][0], letters[0][1], raw.strip())
    return list(found.values())


def sender_reference(text: str, *, ours: Iterable[str] = ()) -> str:
    """The sender's own reference ("No.Pol.9/4/09", "Ref.: 12/345", "OIG N° 147/2010", "Исх. №
    12/345", "الرقم: م د/2010/1187", "外军函〔2009〕第17号"), looked for in the letterhead first;
    not one of ours, not our reference they quote ("Your ref.", "V/Réf.", "На №"). Returned as
    written, its digits as ASCII."""
    our_keys = {reference_key(r) for r in ours}
    original = (text or "")[:MAX_TEXT].splitlines()
    pairs = [(p, o) for p, o in zip(_plain(text or "").splitlines(), original, strict=False)]
    pairs = [(p, o) for p, o in pairs if p.strip()]
    head = pairs[:REFERENCE_HEAD_LINES]

    def written(line: str, span: tuple[int, int]) -> str:
        return line[span[0] : span[1]].strip().translate(_DIGITS).translate(_WIDE_DIGITS)[:200]

    for plain, line in head:
        if span := _labelled_reference(plain, our_keys):
            return written(line, span)
    for plain, line in head:
        whole = plain.split("   ")[0].strip()
        if (
            _REFERENCE_LINE.fullmatch(whole)
            and any(c.isdigit() for c in whole)
            and reference_key(whole) not in our_keys
            and not _looks_like_date(whole)
        ):
            start = plain.index(whole)
            return written(line, (start, start + len(whole)))
    for plain, line in pairs[REFERENCE_HEAD_LINES:]:
        if span := _labelled_reference(plain, our_keys):
            return written(line, span)
    return ""


def _labelled_reference(line: str, our_keys: set[str]) -> tuple[int, int] | None:
    """Where on the line its reference is, if it has one."""
    if m := _CN_DOCUMENT.search(line):
        return m.span()
    arabic = _ARABIC_LABEL.search(line)
    value = arabic.group("value") if arabic else ""
    if arabic and any(c.isdigit() for c in value) and reference_key(value) not in our_keys:
        return arabic.span("value")
    for m in _SENDER_LABEL.finditer(line):
        value = m.group("value").rstrip(".,;:)(")
        if len(value) < 2 or _YOURS.search(line[max(0, m.start() - 12) : m.start()]):
            continue
        if reference_key(value) in our_keys or _looks_like_date(value):
            continue
        end = m.start("value") + len(value)
        if m.group("glue") and not m.group("space"):  # No.Pol.9/4/09: one word
            return m.start(), end
        if m.group("label").casefold() in _NUMBER_LABELS:
            before = _CODE_BEFORE.search(line[: m.start()])
            if before:
                start = before.start()
                for code in before.group(0).split():
                    if code.rstrip(".").upper() not in _NOTE_WORDS:
                        break
                    start = line.index(code, start) + len(code)
                if line[start : m.start()].strip():
                    return start, end
        return m.start("value"), end
    return None


def _looks_like_date(value: str) -> bool:
    """12.05.2010 after "No." is a date, not a reference; 234/5/2010 is a reference."""
    m = re.fullmatch(r"(\d{1,2})([./-])(\d{1,2})\2((?:19|20)\d\d)", value)
    if m is None:
        return False
    return _make_date(int(m.group(4)), int(m.group(3)), int(m.group(1))) is not None


# --- who sent it -----------------------------------------------------------------------------

LETTERHEAD_LINES = 8
ZONE_LINE_WORDS = 14
SIGNATURE_LINES = 10
# the best line's token set ratio, and its mean with the share of the name the zone covers
MIN_LINE_SCORE = 80
MIN_SENDER_SCORE = 70
MAX_CANDIDATES = 3000
MAX_TOKEN_HITS = 200  # a word in more organisations' names than this says nothing
_FORWARD = re.compile(
    r"forwarded message|original message|message transféré|message d'origine|mensaje reenviado|"
    r"mensaje original|weitergeleitete nachricht|ursprüngliche nachricht|пересылаемое сообщение|"
    r"исходное сообщение|الرسالة الأصلية|رسالة معاد توجيهها|转发的邮件|原始邮件|"
    r"mensagem encaminhada|messaggio inoltrato|doorgestuurd bericht",
    re.IGNORECASE,
)
_HEADER_LABEL = re.compile(
    r"^\s*(?:from|de|von|от|من|发件人|van|da|sender|expéditeur|remitente|absender)\s*[:：]\s*",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"<?[\w.+-]+@[\w-]+(?:\.[\w-]+)+>?")
# Words of institutions' names in every language: they say what an organisation is, not which.
_GENERIC = (
    "the of to at in and for on de la le les du des del el los y et und der die das dem den "
    "zu bei am im of van het een da do dos das e di della dello degli al alla "
    "permanent mission missions representation office bureau embassy consulate ministry "
    "foreign affairs external relations government state republic kingdom united nations "
    "federal federation democratic people islamic socialist president presidency "
    "geneva new york vienna brussels washington "
    "mission permanente representation ambassade consulat ministere etrangeres affaires "
    "gouvernement etat republique royaume unies office geneve "
    "mision permanente representacion embajada consulado ministerio relaciones exteriores "
    "asuntos gobierno estado republica reino unidas oficina ginebra "
    "standige vertretung botschaft konsulat ministerium auswartiges auswartige amt "
    "regierung republik konigreich vereinten genf "
    "missao permanente embaixada ministerio negocios estrangeiros governo "
    "missione permanente ambasciata ministero esteri governo repubblica "
    "permanente vertegenwoordiging ambassade ministerie buitenlandse zaken regering "
    "Постоянное представительство посольство министерство иностранных дел республики "
    "правительство государства объединенных наций отделении женеве при "
    "البعثة الدائمة سفارة وزارة الخارجية جمهورية حكومة الأمم المتحدة مكتب جنيف لدى "
    "常驻 代表团 大使馆 外交部 共和国 政府 联合国 日内瓦 办事处"
)


@cache
def _generic_tokens() -> frozenset[str]:
    return frozenset(fold_latin(_GENERIC).split())


def _tokens(folded: str) -> set[str]:
    return {t for t in re.findall(r"[a-z0-9']+", folded) if len(t) >= 2}


@cache
def _country_table() -> tuple[dict[str, str], dict[str, str]]:
    """State names (UN names in the six languages, CLDR's in the ten) folded to words, and the
    Chinese ones kept whole: name → ISO 3166 alpha-3."""
    raw: dict[str, str] = {}
    for (iso3, _lang, _form), row in country_names().items():
        raw.setdefault(row.name, iso3)
    for language in DATE_LANGUAGES:
        for iso2, name in Locale.parse(language).territories.items():
            country = pycountry.countries.get(alpha_2=iso2) if len(iso2) == 2 else None
            if country is not None:
                raw.setdefault(name, country.alpha_3)
    words: dict[str, str] = {}
    cjk: dict[str, str] = {}
    for name, iso3 in raw.items():
        if _is_cjk(name):
            cjk.setdefault(fold(name), iso3)
        elif len(key := " ".join(_words(name))) >= 4:
            words.setdefault(key, iso3)
    return words, cjk


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", fold(text))


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


_ARABIC_PREFIXES = ("و", "ب", "ل", "ف")
MAX_NAME_WORDS = 7


def countries_named(text: str) -> list[str]:
    """ISO alpha-3 codes of the states the text names, in order: the longest name at each word
    ("Equatorial Guinea" before "Guinea"), allowing a case ending on a long name ("Таджикистана",
    "Tadschikistans") and an Arabic one-letter prefix ("لطاجيكستان")."""
    names, cjk = _country_table()
    words = _words(text)
    found: list[str] = []
    i = 0
    while i < len(words):
        hit = None
        for n in range(min(MAX_NAME_WORDS, len(words) - i), 0, -1):
            hit = _country_of(names, words[i : i + n])
            if hit:
                break
        if hit:
            if hit not in found:
                found.append(hit)
            i += n
        else:
            i += 1
    folded = fold(text)
    for name, iso3 in cjk.items():
        if name in folded and iso3 not in found:
            found.append(iso3)
    return found


def _country_of(names: dict[str, str], words: list[str]) -> str | None:
    firsts = [words[0]]
    if words[0][:1] in _ARABIC_PREFIXES and len(words[0]) > 3:
        firsts.append(words[0][1:])
    for first in firsts:
        key = " ".join([first, *words[1:]])
        if key in names:
            return names[key]
        last = key.rsplit(" ", 1)[-1]
        for cut in (1, 2):  # a case ending on a long name
            if len(last) - cut >= 5 and (stem := key[:-cut]) in names:
                return names[stem]
    return None


def _short_line(line: str) -> bool:
    """A letterhead's or signature's line, not a sentence of the body."""
    cjk = re.sub(r"[^\u4e00-\u9fff]", "", line)
    if cjk:
        return len(cjk) <= 40 and not re.search(r"[。，；！？]", line)
    words = _WORD.findall(line)
    lower = sum(1 for w in words if w[0].islower())
    # a sentence runs mostly in lower case; a letterhead is in capitals or title case
    return len(words) <= ZONE_LINE_WORDS and not (len(words) >= 6 and lower * 2 > len(words))


def _sender_zones(text: str) -> list[list[str]]:
    """Where a sender names itself: the letterhead, the top of any forwarded message, and the
    signature block; each a list of lines (email addresses and From: labels taken out)."""
    lines = [
        _EMAIL.sub(" ", _HEADER_LABEL.sub("", line)).strip(" \t-–|:;,")
        for line in _plain(text).splitlines()
    ]
    # letterheads and signatures are short lines; a sentence of the body names others too
    lines = [line[:200] for line in lines if _WORD.search(line) and _short_line(line)]
    zones = [lines[:LETTERHEAD_LINES]]
    for i, line in enumerate(lines[: len(lines) - 1]):
        if _FORWARD.search(line):
            zones.append(lines[i + 1 : i + 1 + LETTERHEAD_LINES])
    if len(lines) > LETTERHEAD_LINES:
        zones.append(lines[-SIGNATURE_LINES:])
    return [zone for zone in zones if zone]


@dataclass
class _Candidate:
    id: int
    name: str
    country_id: int | None
    type: OrganisationType
    forms: list[str] = field(default_factory=list)  # folded names
    city: str = ""  # folded host city ("antananarivo"): the date line often names it


def _candidates(session: Session, lines: Sequence[str], country_ids: set[int]) -> list[_Candidate]:
    """Organisations the lines could name: those of the states they name (only those, when
    they name one), else those whose names share a distinctive word with the lines (a word in
    too many names is skipped)."""
    ids: set[int] = set()
    if country_ids:
        ids.update(
            session.scalars(
                select(Organisation.id)
                .where(Organisation.country_id.in_(country_ids))
                .limit(MAX_CANDIDATES)
            )
        )
    else:
        words = sorted(
            {t for line in lines for t in _tokens(fold_latin(line)) if len(t) >= 4}
            - _generic_tokens(),
            key=len,
            reverse=True,
        )[:12]
        for word in words:
            hits = list(
                session.scalars(
                    select(Organisation.id)
                    .where(Organisation.search_text.contains(word, autoescape=True))
                    .limit(MAX_TOKEN_HITS + 1)
                )
            )
            if len(hits) <= MAX_TOKEN_HITS:
                ids.update(hits)
            if len(ids) >= MAX_CANDIDATES:
                break
    if not ids:
        return []
    rows = session.execute(
        select(
            Organisation.id,
            Organisation.name,
            Organisation.short_name,
            Organisation.native_name,
            Organisation.name_forms,
            Organisation.country_id,
            Organisation.type,
            Organisation.host_city,
        ).where(Organisation.id.in_(sorted(ids)[:MAX_CANDIDATES]))
    ).all()
    # Other names the directory knows it by: spellings, former names, "MFA Tajikistan", and the
    # names of records merged into it.
    aliases: dict[int, list[str]] = {}
    for oid, alias in session.execute(
        select(Alias.organisation_id, Alias.name).where(Alias.organisation_id.in_(ids))
    ):
        if oid is not None:
            aliases.setdefault(oid, []).append(alias)
    out = []
    for oid, name, short, native, forms, country_id, type_, city in rows:
        names = [name, short, native, *organisation_forms_of(forms).values(), *aliases.get(oid, [])]
        folded = list(dict.fromkeys(fold_latin(n) for n in names if n and len(n) >= 4))
        out.append(_Candidate(oid, name, country_id, type_, folded, fold_latin(city or "")))
    return out


@dataclass(frozen=True)
class SenderMatch:
    organisation_id: int
    name: str
    line: str
    score: float
    country_id: int | None
    type: OrganisationType

    @property
    def reason(self) -> str:
        return f'Letterhead "{self.line}" matches {self.name}.'


# Function words, left out when counting how much of a name a letterhead covers.
_FUNCTION_WORDS = frozenset(
    (
        "the",
        "of",
        "to",
        "at",
        "in",
        "and",
        "for",
        "on",
        "de",
        "la",
        "le",
        "les",
        "du",
        "des",
        "del",
        "el",
        "los",
        "las",
        "y",
        "et",
        "und",
        "der",
        "die",
        "das",
        "dem",
        "den",
        "zu",
        "bei",
        "am",
        "im",
        "van",
        "het",
        "een",
        "da",
        "do",
        "dos",
        "e",
        "di",
        "della",
        "al",
        "alla",
        "pri",
        "en",
        "ante",
        "aupres",
        "a",
        "au",
        "aux",
        "em",
        "ao",
        "presso",
        "bij",
        "te",
        "pri",
    )
)


def _content(tokens: set[str]) -> set[str]:
    return {t for t in tokens if t not in _FUNCTION_WORDS}


def find_sender(
    session: Session, text: str, *, country_id: int | None = None
) -> SenderMatch | None:
    """The directory organisation the letterhead, a forwarded message's header or the signature
    names, or None. Each name is scored on its best line (token set ratio: "Permanent Mission
    of Tajikistan in Geneva" fits the mission's long name) and on how much of it the whole zone
    covers (a letterhead on several lines: "République du Sénégal / Ministère des Affaires
    étrangères" is the ministry, not the presidency). A zone naming a state never matches
    another state's organisation, however alike the rest of the name."""
    best: tuple[float, float, int] | None = None
    match: SenderMatch | None = None
    for zone in _sender_zones(text or ""):
        iso3s = countries_named("\n".join(zone))
        country_ids = set()
        if iso3s:
            country_ids = set(
                session.scalars(select(Country.id).where(Country.iso3.in_(iso3s))).all()
            )
            if not country_ids:
                continue  # a state with nothing in the directory: none of ours
        elif country_id:
            country_ids = {country_id}
        lines = list(
            dict.fromkeys(zone + [f"{a} {b}" for a, b in zip(zone, zone[1:], strict=False)])
        )
        candidates = _candidates(session, lines, country_ids)
        if not candidates:
            continue
        folded_lines = [fold_latin(line) for line in lines]
        zone_tokens = set().union(*(_tokens(line) for line in folded_lines))
        zone_text = " ".join(folded_lines)
        generic = _generic_tokens()
        forms = [(cand, form) for cand in candidates for form in cand.forms]
        # per name, its best line (index, token set ratio), from one C loop per line
        best_line: dict[int, tuple[float, int]] = {}
        choices = [form for _, form in forms]
        for i, line in enumerate(folded_lines):
            for _, ratio, j in process.extract(
                line,
                choices,
                scorer=fuzz.token_set_ratio,
                score_cutoff=MIN_LINE_SCORE,
                limit=None,
            ):
                if ratio > best_line.get(j, (0.0, 0))[0]:
                    best_line[j] = (ratio, i)
        for j, (line_score, i) in best_line.items():
            cand, form = forms[j]
            name_tokens = _content(_tokens(form))
            if not name_tokens:
                continue
            covered = name_tokens & zone_tokens
            in_city = bool(cand.city) and cand.city in zone_text
            if not iso3s and not covered - generic and not (in_city and cand.city not in generic):
                continue  # only generic words in common ("Ministry of Foreign Affairs")
            # the host city in the date line counts as one more word of the name
            share = (len(covered) + in_city) / (len(name_tokens) + bool(cand.city))
            score = (line_score + 100 * share) / 2
            if score < MIN_SENDER_SCORE:
                continue
            key = (score, len(covered), -cand.id)
            if best is None or key > best:
                best = key
                match = SenderMatch(cand.id, cand.name, lines[i], score, cand.country_id, cand.type)
    return match


# --- the whole reading -----------------------------------------------------------------------


@dataclass
class Extracted:
    """What the reply says about itself, for the form to fill in and the matcher to use."""

    sender_organisation_id: int | None = None
    sender_organisation: str = ""  # the directory name it matched
    sender_reason: str = ""
    sender_reference: str = ""  # the sender's own reference, e.g. "No.Pol.9/4/09"
    dated_on: date | None = None  # the reply's own date
    cited_letter_date: date | None = None
    our_reference: str = ""  # our reference quoted in it (the letter's when one matches)
    language: str = ""  # ISO 639-1
    notes: list[str] = field(default_factory=list)  # how dates were read, when it needed care
    country: str = ""  # ISO 3166 alpha-3 of the sender's state, when the sender was found

    def as_dict(self) -> dict[str, Any]:
        return {
            "sender_organisation_id": self.sender_organisation_id,
            "sender_organisation": self.sender_organisation,
            "sender_reason": self.sender_reason,
            "sender_reference": self.sender_reference,
            "dated_on": self.dated_on.isoformat() if self.dated_on else None,
            "cited_letter_date": (
                self.cited_letter_date.isoformat() if self.cited_letter_date else None
            ),
            "our_reference": self.our_reference,
            "language": self.language,
            "country": self.country,
        }


_QUOTED_OURS = re.compile(
    r"(?:your\s+ref(?:erence)?|v(?:otre)?\s*/?\s*r[ée]f(?:[ée]rence)?|su\s+ref(?:erencia)?|"
    r"ihr(?:e)?\s+zeichen|на\s+№|ваш\s+№|uw\s+kenmerk|sua\s+ref(?:erência)?|vs\.?\s+rif)"
    r"\.?\s*[:：]?\s*(?P<value>[\w./\-]{3,60})",
    re.IGNORECASE,
)


def scope_for(
    session: Session,
    *,
    country_id: int | None,
    organisation_id: int | None,
    person_id: int | None,
) -> Scope:
    """Whom to look for our letters to: the state, else the organisation, else the person."""
    if country_id is None and organisation_id:
        country_id = session.scalar(
            select(Organisation.country_id).where(Organisation.id == organisation_id)
        )
    name = (
        session.scalar(select(Country.name).where(Country.id == country_id)) if country_id else ""
    )
    return Scope(
        country_id=country_id,
        organisation_ids=[organisation_id] if organisation_id else [],
        person_id=person_id,
        country_name=name or "",
    )


def read_reply(
    session: Session,
    *,
    subject: str = "",
    text: str = "",
    country_id: int | None = None,
    sender_organisation_id: int | None = None,
    sender_person_id: int | None = None,
) -> Extracted:
    """Everything the reply's text says about whom it is from and what it answers."""
    body = (text or "")[:MAX_TEXT]
    whole = f"{subject or ''}\n{body}"
    out = Extracted(language=langdetect.detect(body or subject))
    sender = find_sender(session, body, country_id=country_id)
    if sender is not None:
        out.sender_organisation_id = sender.organisation_id
        out.sender_organisation = sender.name
        out.sender_reason = sender.reason
        if sender.country_id is not None:
            out.country = (
                session.scalar(select(Country.iso3).where(Country.id == sender.country_id)) or ""
            )
    mentions = find_dates(whole)
    out.dated_on = reply_date(body, find_dates(body))
    scope = scope_for(
        session,
        country_id=country_id or (sender.country_id if sender else None),
        organisation_id=sender_organisation_id or (sender.organisation_id if sender else None),
        person_id=sender_person_id,
    )
    resolved = resolve_dates(session, mentions, scope, reply_on=out.dated_on)
    cited = [r for r in resolved if r.cited]
    if cited:
        out.cited_letter_date = cited[0].on
    out.notes = [r.note for r in cited if r.note]
    quoted = our_references(session, whole)
    if quoted:
        out.our_reference = quoted[0].reference
    elif m := _QUOTED_OURS.search(_plain(whole)):
        out.our_reference = m.group("value").rstrip(".,;:")
    out.sender_reference = sender_reference(
        body, ours=[q.written for q in quoted] + [q.reference for q in quoted]
    )
    if out.sender_reference and reference_key(out.sender_reference) == reference_key(
        out.our_reference
    ):
        out.sender_reference = ""
    return out
