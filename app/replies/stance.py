"""Positions a reply states on our treaties, suggested with the sentence that states them.

Rule-based and multilingual (en, fr, es, ru, ar, zh, de). The wording lives in data files,
loaded once per process:

- ``data/stance_cues.csv``     language, stance, pattern, weight, negated (what a negator before
                                the cue turns it into; empty: it then says nothing), note.
                                ``acknowledgement`` rows mark a reply that only confirms receipt.
- ``data/stance_treaties.csv`` how each language names the Convention on Cluster Munitions (CCM)
                                and the Mine Ban Treaty (MBT), by name, by topic ("cluster
                                munitions") or as an anaphor ("the Convention", "эта Конвенция"),
                                and the CCW, so "the Convention" after it is not taken for ours.
- ``data/stance_markers.csv``  negators, contrast ("however"), concession ("although"), clause
                                boundaries, and phrases that restate our own letter.

How a suggestion is made: the text is folded (lower case, one form of each Arabic letter, OCR
line breaks joined) and split into sentences (``sentences``). Every cue found is tied to the
treaty named in its clause, else in its sentence, else to the treaty named in the sentences just
before ("The Government is studying it" after a sentence naming the Convention). Its strength is
the cue's weight, less when the treaty is only inferred, when it is negated and turned, when the
clause concedes ("although …") or the sentence restates our letter. Per treaty the strongest
stance wins; a conflicting one lowers the confidence.
"""

from __future__ import annotations

import csv
import re
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.models import PositionStance
from app.replies.sentences import Folded, fold_pattern, folded_text, quote_of, sentences_of

DATA = Path(__file__).parent / "data"
# Treaties a suggestion can be about; others (the CCW) only stop "the Convention" pointing at ours.
TREATIES = ("CCM", "MBT")
ACKNOWLEDGEMENT = "acknowledgement"
# A reply is read up to this many characters: enough for any letter, bounded for pasted junk.
MAX_CHARS = 60_000
# Below this a suggestion is noise.
MIN_CONFIDENCE = 0.3
# An acknowledgement cue at least this strong makes a reply without a stance an acknowledgement.
ACK_WEIGHT = 0.6

SCRIPT_OF = {"en": "latin", "fr": "latin", "es": "latin", "de": "latin"}
SCRIPT_OF.update(ru="cyrillic", ar="arabic", zh="cjk")

# How sure the treaty is, by how the sentence names it.
LINK_NAME = 1.0
LINK_TOPIC = 0.9
LINK_ANAPHOR = 0.85
# The treaty named 1, 2 or 3 sentences before a sentence that names none.
LINK_CARRIED = (0.75, 0.65, 0.55)
# The only treaty the reply names, further away.
LINK_ONLY = 0.45
NEGATED = 0.85  # a cue turned by a negator is a little less sure than an explicit one
CONCESSION = 0.8
CONTRAST = 1.1
CITATION = 0.6
OTHER_LANGUAGE = 0.9
CORROBORATION = 0.05  # per further cue for the same stance, at most two
# Cues that state something positive: a negator inside them turns them too.
POSITIVE = frozenset({"supports", "will_consider", "already_party"})
# Characters before a cue searched for a negator.
NEGATION_WINDOW = {"latin": 28, "cyrillic": 24, "arabic": 16, "cjk": 3}


@dataclass(frozen=True)
class StanceSuggestion:
    treaty: str  # "CCM" or "MBT" (Treaty.short_name)
    stance: PositionStance
    quote: str  # the sentence that states it, as written in the reply
    confidence: float  # 0..1

    def as_dict(self) -> dict[str, Any]:
        return {
            "treaty": self.treaty,
            "stance": self.stance.value,
            "quote": self.quote,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class Cue:
    language: str
    stance: str  # a PositionStance value or "acknowledgement"
    pattern: re.Pattern[str]
    weight: float
    negated: str  # the stance when negated, "" when a negation silences it


@dataclass(frozen=True)
class TreatyPattern:
    language: str
    treaty: str  # CCM, MBT, CCW; "" for an anaphor
    kind: str  # name, topic, anaphor
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Rules:
    cues: dict[str, list[Cue]]  # by script
    treaties: dict[str, list[TreatyPattern]]  # by script
    markers: dict[tuple[str, str], re.Pattern[str]]  # (language, kind)


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The cue, treaty and marker tables, compiled once per process."""
    cues: dict[str, list[Cue]] = defaultdict(list)
    for row in _read("stance_cues.csv"):
        cues[SCRIPT_OF[row["language"]]].append(
            Cue(
                language=row["language"],
                stance=row["stance"],
                pattern=re.compile(fold_pattern(row["pattern"])),
                weight=float(row["weight"]),
                negated=row["negated"],
            )
        )
    treaties: dict[str, list[TreatyPattern]] = defaultdict(list)
    for row in _read("stance_treaties.csv"):
        treaties[SCRIPT_OF[row["language"]]].append(
            TreatyPattern(
                language=row["language"],
                treaty=row["treaty"],
                kind=row["kind"],
                pattern=re.compile(fold_pattern(row["pattern"])),
            )
        )
    markers = {
        (row["language"], row["kind"]): re.compile(fold_pattern(row["pattern"]))
        for row in _read("stance_markers.csv")
    }
    return Rules(dict(cues), dict(treaties), markers)


# --- treaty mentions and cue hits ------------------------------------------------------------


@dataclass
class Mention:
    start: int
    end: int
    treaty: str  # resolved for anaphors; "" when nothing before or after names one
    kind: str


@dataclass
class Hit:
    start: int
    end: int
    cue: Cue


def _overlaps(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


def _mentions(f: Folded, r: Rules) -> list[Mention]:
    """Treaties named in the text, in order; anaphors resolved to the treaty named last."""
    found: list[Mention] = []
    for script in f.scripts:
        for tp in r.treaties.get(script, ()):
            for match in tp.pattern.finditer(f.text):
                if match.end() > match.start():
                    found.append(Mention(match.start(), match.end(), tp.treaty, tp.kind))
    # names before topics before anaphors, longer first: "la Convention sur les armes à
    # sous-munitions" is one name, not an anaphor followed by a topic
    rank = {"name": 0, "topic": 1, "anaphor": 2}
    found.sort(key=lambda m: (rank[m.kind], -(m.end - m.start), m.start))
    kept: list[Mention] = []
    spans: list[tuple[int, int]] = []
    for m in found:
        if not _overlaps((m.start, m.end), spans):
            kept.append(m)
            spans.append((m.start, m.end))
    kept.sort(key=lambda m: m.start)
    last = ""
    for m in kept:
        if m.kind == "anaphor":
            m.treaty = last
        else:
            last = m.treaty
    # an anaphor before any name ("the Convention" in the first line) points at the next one
    upcoming = ""
    for m in reversed(kept):
        if m.kind != "anaphor":
            upcoming = m.treaty
        elif not m.treaty:
            m.treaty = upcoming
    return kept


def _longest(found: list[Hit]) -> list[Hit]:
    found.sort(key=lambda h: (-(h.end - h.start), -h.cue.weight, h.start))
    kept: list[Hit] = []
    spans: list[tuple[int, int]] = []
    for h in found:
        if not _overlaps((h.start, h.end), spans):
            kept.append(h)
            spans.append((h.start, h.end))
    kept.sort(key=lambda h: h.start)
    return kept


def _hits(f: Folded, r: Rules) -> tuple[list[Hit], list[Hit]]:
    """Stance cue matches and acknowledgement cue matches. Of overlapping stance cues the
    longest stays, so "does not support" is one opposing cue, not a supporting one negated."""
    stances: list[Hit] = []
    acknowledgements: list[Hit] = []
    for script in f.scripts:
        for cue in r.cues.get(script, ()):
            into = acknowledgements if cue.stance == ACKNOWLEDGEMENT else stances
            for m in cue.pattern.finditer(f.text):
                if m.end() > m.start():
                    into.append(Hit(m.start(), m.end(), cue))
    return _longest(stances), _longest(acknowledgements)


def _clause_start(text: str, lo: int, pos: int, boundary: re.Pattern[str] | None) -> int:
    start = lo
    if boundary is not None:
        for m in boundary.finditer(text, lo, pos):
            start = m.end()
    return start


def _clause_end(text: str, pos: int, hi: int, boundary: re.Pattern[str] | None) -> int:
    if boundary is not None and (m := boundary.search(text, pos, hi)):
        return m.start()
    return hi


def _negated(f: Folded, r: Rules, hit: Hit, sentence: tuple[int, int]) -> bool:
    """A negator just before the cue, in its clause (or, in German, just after it)."""
    lang = hit.cue.language
    window = NEGATION_WINDOW[SCRIPT_OF[lang]]
    boundary = r.markers.get((lang, "clause"))
    lo = max(sentence[0], hit.start - window)
    lo = _clause_start(f.text, lo, hit.start, boundary)
    negator = r.markers.get((lang, "negation"))
    # a positive cue may hold its own negator ("is not studying"); a negative one always does
    end = hit.end if hit.cue.stance in POSITIVE else hit.start
    if negator is not None and negator.search(f.text, lo, end):
        return True
    after = r.markers.get((lang, "negation_after"))
    if after is not None:
        hi = min(sentence[1], hit.end + 60)
        hi = _clause_end(f.text, hit.end, hi, boundary)
        return bool(after.search(f.text, hit.end, hi))
    return False


@dataclass
class Scored:
    treaty: str
    stance: PositionStance
    strength: float
    sentence: int
    position: int


@dataclass
class _Context:
    f: Folded
    r: Rules
    sentences: list[tuple[int, int]]
    starts: list[int]
    mentions: list[Mention]
    language: str
    by_sentence: dict[int, list[Mention]] = field(default_factory=dict)

    def sentence_of(self, pos: int) -> int:
        return max(0, bisect_right(self.starts, pos) - 1)


_LINK_BY_KIND = {"name": LINK_NAME, "topic": LINK_TOPIC, "anaphor": LINK_ANAPHOR}


def _link(ctx: _Context, hit: Hit, index: int) -> tuple[str, float] | None:
    """The treaty a cue speaks of and how sure that is; None when it speaks of none."""
    sentence = ctx.sentences[index]
    here = [m for m in ctx.by_sentence.get(index, []) if m.treaty]
    text = ctx.f.text
    boundary = ctx.r.markers.get((hit.cue.language, "clause"))
    if here:
        lo = _clause_start(text, sentence[0], hit.start, boundary)
        hi = _clause_end(text, hit.end, sentence[1], boundary)
        same = [m for m in here if lo <= m.start < hi]
        before = [m for m in here if m.start < hit.start]
        after = [m for m in here if m.start >= hit.start]
        if same:
            chosen = min(same, key=lambda m: abs(m.start - hit.start))
        elif before:
            chosen = before[-1]
        else:
            chosen = after[0]
        if chosen.treaty not in TREATIES:
            return None
        # "As to the Convention on Cluster Munitions, … acceding to this Convention": the
        # sentence names the treaty the anaphor points at
        factor = max(_LINK_BY_KIND[m.kind] for m in here if m.treaty == chosen.treaty)
        return chosen.treaty, factor
    earlier = [m for m in ctx.mentions if m.start < sentence[0] and m.treaty]
    if earlier:
        last = earlier[-1]
        distance = index - ctx.sentence_of(last.start)
        if 1 <= distance <= len(LINK_CARRIED):
            if last.treaty not in TREATIES:
                return None
            return last.treaty, LINK_CARRIED[distance - 1]
    named = {m.treaty for m in ctx.mentions if m.treaty in TREATIES}
    if len(named) == 1:
        return named.pop(), LINK_ONLY
    return None


def _score(ctx: _Context, hit: Hit) -> Scored | None:
    index = ctx.sentence_of(hit.start)
    sentence = ctx.sentences[index]
    stance = hit.cue.stance
    strength = hit.cue.weight
    if _negated(ctx.f, ctx.r, hit, sentence):
        if not hit.cue.negated:
            return None
        stance = hit.cue.negated
        strength *= NEGATED
    link = _link(ctx, hit, index)
    if link is None:
        return None
    treaty, factor = link
    strength *= factor
    lang = hit.cue.language
    text = ctx.f.text
    if (m := ctx.r.markers.get((lang, "concession"))) is not None:
        boundary = ctx.r.markers.get((lang, "clause"))
        clause_lo = sentence[0]
        if boundary is not None:
            # the clause the concession opens runs to the next boundary after the marker
            for c in m.finditer(text, sentence[0], hit.start):
                end = _clause_end(text, c.end(), sentence[1], boundary)
                if hit.start < end:
                    strength *= CONCESSION
                    break
        elif m.search(text, clause_lo, hit.start):
            strength *= CONCESSION
    if (m := ctx.r.markers.get((lang, "contrast"))) is not None and m.search(
        text, sentence[0], hit.start
    ):
        strength *= CONTRAST
    if (m := ctx.r.markers.get((lang, "citation"))) is not None:
        # "your letter urging … to join" in the cue's own clause; not the main clause of
        # "Further to your letter of …, the Government is studying the Convention"
        boundary = ctx.r.markers.get((lang, "clause"))
        lo = _clause_start(text, sentence[0], hit.start, boundary)
        if m.search(text, lo, hit.end):
            strength *= CITATION
    if ctx.language and ctx.language in SCRIPT_OF and lang != ctx.language and lang != "en":
        strength *= OTHER_LANGUAGE
    return Scored(treaty, PositionStance(stance), min(strength, 0.99), index, hit.start)


def _conflicting(a: PositionStance, b: PositionStance) -> bool:
    # a State Party that supports its treaty says one thing, not two
    return {a, b} != {PositionStance.already_party, PositionStance.supports} and a != b


def _decide(scored: list[Scored]) -> tuple[Scored, float] | None:
    """The stance one treaty gets, and how sure: the strongest, less what contradicts it."""
    by_stance: dict[PositionStance, list[Scored]] = defaultdict(list)
    for s in scored:
        by_stance[s.stance].append(s)
    totals: dict[PositionStance, float] = {}
    best: dict[PositionStance, Scored] = {}
    for stance, items in by_stance.items():
        # the strongest, and of equal ones the latest: the answer comes after the preamble
        top = max(items, key=lambda s: (round(s.strength, 3), s.position))
        best[stance] = top
        totals[stance] = min(0.99, top.strength + CORROBORATION * min(2, len(items) - 1))
    party = totals.get(PositionStance.already_party, 0.0)
    if party >= 0.5:
        winner = PositionStance.already_party
    else:
        winner = max(totals, key=lambda s: (totals[s], best[s].position))
    rivals = [totals[s] for s in totals if _conflicting(s, winner)]
    confidence = totals[winner] - 0.5 * max(rivals, default=0.0)
    return best[winner], round(max(0.0, min(0.99, confidence)), 2)


@lru_cache(maxsize=16)
def _analyse(text: str, language: str) -> tuple[tuple[StanceSuggestion, ...], bool]:
    """The suggestions and whether the text holds an acknowledgement; kept for the last few
    texts, as a reply is asked both what it states and whether it only acknowledges."""
    f = folded_text(text[:MAX_CHARS])
    r = rules()
    sentences = sentences_of(f)
    if not sentences:
        return (), False
    mentions = _mentions(f, r)
    ctx = _Context(
        f=f,
        r=r,
        sentences=sentences,
        starts=[s for s, _ in sentences],
        mentions=mentions,
        language=(language or "").split("-")[0].lower(),
    )
    for m in mentions:
        ctx.by_sentence.setdefault(ctx.sentence_of(m.start), []).append(m)
    per_treaty: dict[str, list[Scored]] = defaultdict(list)
    stance_hits, acknowledgements = _hits(f, r)
    for hit in stance_hits:
        if (s := _score(ctx, hit)) is not None:
            per_treaty[s.treaty].append(s)
    suggestions = []
    for treaty, scored in per_treaty.items():
        decided = _decide(scored)
        if decided is None:
            continue
        top, confidence = decided
        if confidence < MIN_CONFIDENCE:
            continue
        quote = quote_of(f, sentences[top.sentence])
        suggestions.append(StanceSuggestion(treaty, top.stance, quote, confidence))
    suggestions.sort(key=lambda s: (-s.confidence, TREATIES.index(s.treaty)))
    acknowledges = any(h.cue.weight >= ACK_WEIGHT for h in acknowledgements)
    return tuple(suggestions), acknowledges


def suggest_positions(text: str, *, language: str = "") -> list[StanceSuggestion]:
    """The positions the reply states, at most one per treaty, most certain first.

    ``language`` (ISO 639-1) is a hint: cues of another language count slightly less, so a
    stray phrase does not outweigh the reply's own words; English always counts in full, the
    language embassies forward in.
    """
    return list(_analyse(text or "", language or "")[0])


def is_acknowledgement(text: str, *, language: str = "") -> bool:
    """The reply only confirms receipt or says our letter was forwarded: it states no answer."""
    suggestions, acknowledges = _analyse(text or "", language or "")
    return acknowledges and not suggestions
