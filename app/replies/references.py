"""The references a reply quotes: ours (to find the letters it answers) and the sender's own."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import Letter
from app.replies.dates import make_date
from app.replies.folding import DIGITS, MAX_TEXT, WIDE_DIGITS, plain_text

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
    return _token_key(plain_text(value))


MAX_REFERENCE_GROUPS = 7
MAX_REFERENCE_CANDIDATES = 150
_GROUP = re.compile(r"[A-Z]+|\d+")
_GROUP_GAP = re.compile(r"[\s/\-_.:]{0,3}")


def _reference_candidates(text: str) -> list[tuple[str, str]]:
    """(as written, key) for every run of 3 to 7 letter and digit groups, starting with letters
    and holding a digit, that could be one of our references; those written with / or - first."""
    plain = plain_text(text or "").upper()
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
    pairs = [(p, o) for p, o in zip(plain_text(text or "").splitlines(), original, strict=False)]
    pairs = [(p, o) for p, o in pairs if p.strip()]
    head = pairs[:REFERENCE_HEAD_LINES]

    def written(line: str, span: tuple[int, int]) -> str:
        return line[span[0] : span[1]].strip().translate(DIGITS).translate(WIDE_DIGITS)[:200]

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
    return make_date(int(m.group(4)), int(m.group(3)), int(m.group(1))) is not None


# --- who sent it -----------------------------------------------------------------------------
