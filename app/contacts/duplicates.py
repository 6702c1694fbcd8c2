"""Finding likely duplicate people and organisations across the directory.

Names are compared folded (case, accents, alphabet and transliteration ignored) and scored
with RapidFuzz's token-sort ratio, so "José Hernández" / "Jose Hernandez" score 100 and
"Muhriddin Karimov" / "Mukhriddin Karimov" 97. Nothing compares every pair (100,000 contacts
would be 5·10⁹ pairs): candidates come from blocks built in one pass over (id, folded name,
organisations, emails) rows —

* the same folded name (people: given and family in either order);
* the same email address;
* neighbours in the list sorted by name, and sorted by the name written backwards (so a typo
  in the first letters still meets its twin), a few places either side;
* for people, neighbours by name among those holding a position at the same organisation.

People pairs count as candidates when the names are 92% alike, or 85% alike and they share an
organisation or an email; organisations of different countries are never paired (every state
has its "Ministry of Foreign Affairs"). A pair marked "not a duplicate" is remembered in the
audit log (action ``duplicate.dismiss``, entity ``person_pair``/``organisation_pair``, id
"smaller:larger") and not offered again.

Deduplication is three modules: ``duplicates`` finds likely pairs, ``dedupe`` merges a pair and
``unmerge`` undoes a merge from its audit entry. (The letters-from-a-template feature, also
called a merge, is ``app.mailmerge``.)"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from rapidfuzz import fuzz
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.contacts.text import fold
from app.errors import InvalidInput, NotFound
from app.models import (
    Alias,
    AuditEntry,
    ContactKind,
    ContactPoint,
    Organisation,
    Person,
    Position,
    User,
)

Kind = Literal["person", "organisation"]
WINDOW = 3  # neighbours compared either side in each sorted order
GROUP_MAX = 40  # a block larger than this (a very common name) is compared by window only
ALIKE = 92  # names this alike are candidates on their own
ALIKE_WITH_EVIDENCE = 85  # ... and these when they share an organisation or an email
DIFFERING_WORDS_ALIKE = 75  # the words only one name has must be this alike to the other's
DISMISS_ACTION = "duplicate.dismiss"


@dataclass
class Entry:
    """One record as duplicate detection sees it."""

    id: int
    name: str  # as displayed
    key: str  # folded, words sorted
    orgs: frozenset[int] = frozenset()  # people: organisations of current positions
    country: int | None = None  # organisations
    emails: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()  # of the key

    def __post_init__(self) -> None:
        self.words = frozenset(self.key.split())


@dataclass
class Candidate:
    kind: Kind
    a_id: int
    a_name: str
    b_id: int
    b_name: str
    score: int  # name similarity, 0-100
    reasons: list[str] = field(default_factory=list)
    organisation_ids: list[int] = field(default_factory=list)  # people: shared organisations


@dataclass(frozen=True)
class CandidatePage:
    items: list[Candidate]
    total: int
    page: int
    per_page: int


def _key(name: str) -> str:
    return " ".join(sorted(fold(name).replace("-", " ").split()))


def _people(session: Session) -> list[Entry]:
    today = date.today()
    orgs: dict[int, set[int]] = {}
    for pid, oid in session.execute(
        select(Position.person_id, Position.organisation_id).where(
            or_(Position.end_date.is_(None), Position.end_date >= today)
        )
    ):
        orgs.setdefault(pid, set()).add(oid)
    emails = _emails(session, ContactPoint.person_id)
    out = []
    for pid, given, family, native in session.execute(
        select(Person.id, Person.given_name, Person.family_name, Person.native_name)
    ):
        name = " ".join(p for p in (given, family) if p) or native
        key = _key(name)
        if key:
            out.append(
                Entry(
                    pid,
                    name,
                    key,
                    orgs=frozenset(orgs.get(pid, ())),
                    emails=frozenset(emails.get(pid, ())),
                )
            )
    return out


def _organisations(session: Session) -> list[Entry]:
    emails = _emails(session, ContactPoint.organisation_id)
    out = []
    for oid, name, country in session.execute(
        select(Organisation.id, Organisation.name, Organisation.country_id)
    ):
        key = _key(name)
        if key:
            out.append(
                Entry(oid, name, key, country=country, emails=frozenset(emails.get(oid, ())))
            )
    return out


def _emails(session: Session, owner: Any) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for oid, value in session.execute(
        select(owner, ContactPoint.value).where(
            owner.is_not(None), ContactPoint.kind == ContactKind.email
        )
    ):
        if value:
            out.setdefault(oid, set()).add(value.strip().lower())
    return out


class _Scorer:
    """Scores each pair a block offers once, keeping those alike enough (by index pair)."""

    def __init__(self, kind: Kind, entries: list[Entry]) -> None:
        self.kind = kind
        self.entries = entries
        self.size = len(entries)
        self.found: dict[int, int] = {}  # i * size + j (i < j) -> name similarity

    def pair(self, i: int, j: int) -> None:
        if i == j:
            return
        if i > j:
            i, j = j, i
        code = i * self.size + j
        if code in self.found:
            return
        a, b = self.entries[i], self.entries[j]
        if (
            self.kind == "organisation"
            and a.country != b.country
            and a.country is not None
            and b.country is not None
        ):
            return
        score = _similarity(a, b)
        if score >= ALIKE or (score >= ALIKE_WITH_EVIDENCE and a.orgs & b.orgs):
            self.found[code] = score
        elif a.emails & b.emails:  # the same address: a candidate however the names differ
            self.found[code] = score or int(round(fuzz.ratio(a.key, b.key)))

    def window(self, indexes: list[int], key: Any) -> None:
        """Each record against its next WINDOW neighbours in ``key`` order."""
        order = sorted(indexes, key=key)
        pair = self.pair
        for p, i in enumerate(order):
            for j in order[p + 1 : p + 1 + WINDOW]:
                pair(i, j)

    def groups(self, keys: Any) -> None:
        """Every pair within each block of records sharing a key (blocks up to GROUP_MAX)."""
        blocks: dict[Any, list[int]] = {}
        for i, entry in enumerate(self.entries):
            for k in keys(entry):
                blocks.setdefault(k, []).append(i)
        for block in blocks.values():
            if 1 < len(block) <= GROUP_MAX:
                for p, i in enumerate(block):
                    for j in block[p + 1 :]:
                        self.pair(i, j)


def _similarity(a: Entry, b: Entry) -> int:
    """How alike two folded names are (0-100); 0 below ALIKE_WITH_EVIDENCE. Words that differ
    must be alike too: "Embassy … in Vienna" is not "Embassy … in Berlin", nor "Office 12"
    "Office 13", however alike the whole names."""
    if a.key == b.key:
        return 100
    score = fuzz.ratio(a.key, b.key, score_cutoff=ALIKE_WITH_EVIDENCE)  # keys: sorted words
    if not score:
        return 0
    a_only, b_only = a.words - b.words, b.words - a.words
    if a_only and b_only:
        a_text, b_text = " ".join(sorted(a_only)), " ".join(sorted(b_only))
        if any(c.isdigit() for c in a_text + b_text):
            return 0
        if fuzz.ratio(a_text, b_text) < DIFFERING_WORDS_ALIKE:
            return 0
    return int(round(score))


def _score_pairs(kind: Kind, entries: list[Entry]) -> dict[int, int]:
    """Every pair worth keeping, from blocks built in one pass each (never all pairs)."""
    scorer = _Scorer(kind, entries)
    scorer.groups(lambda e: (e.key,))
    scorer.groups(lambda e: e.emails)
    everyone = list(range(len(entries)))
    if kind == "organisation":
        by_country: dict[int | None, list[int]] = {}
        for i, e in enumerate(entries):
            by_country.setdefault(e.country, []).append(i)
        members_lists = list(by_country.values())
    else:
        members_lists = [everyone]
    for members in members_lists:
        scorer.window(members, lambda i: entries[i].key)
        scorer.window(members, lambda i: entries[i].key[::-1])
    if kind == "person":
        by_org: dict[int, list[int]] = {}
        for i, e in enumerate(entries):
            for oid in e.orgs:
                by_org.setdefault(oid, []).append(i)
        for members in by_org.values():
            if len(members) > 1:
                scorer.window(members, lambda i: entries[i].key)
    return scorer.found


def _latin(text: str) -> bool:
    return all(
        unicodedata.name(c, "").startswith("LATIN")
        for c in unicodedata.normalize("NFC", text)
        if c.isalpha()
    )


def _plain(text: str) -> str:
    """Spaces normalised, case folded, accents dropped (the script kept)."""
    decomposed = unicodedata.normalize("NFKD", " ".join(text.split()).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _same_name_reason(a: str, b: str) -> str:
    if " ".join(a.split()) == " ".join(b.split()):
        return "same name"
    if a.casefold().split() == b.casefold().split():
        return "same name ignoring case"
    if _plain(a) == _plain(b):
        return "same name ignoring accents"
    if _latin(a) and _latin(b):
        return "same name ignoring punctuation and word order"
    return "same name in another script or transliteration"


def _candidate(kind: Kind, a: Entry, b: Entry, score: int) -> Candidate:
    reasons = []
    if score == 100:
        reasons.append(_same_name_reason(a.name, b.name))
    elif score >= ALIKE_WITH_EVIDENCE:
        reasons.append(f"names {score}% alike")
    shared_emails = sorted(a.emails & b.emails)
    if shared_emails:
        reasons.append(f"same email ({shared_emails[0]})")
    if kind == "organisation" and a.country is not None and a.country == b.country:
        reasons.append("same country")
    first, second = (a, b) if a.id < b.id else (b, a)
    return Candidate(
        kind, first.id, first.name, second.id, second.name, score, reasons, sorted(a.orgs & b.orgs)
    )


def dismissed(session: Session, kind: Kind) -> set[str]:
    """Pairs marked "not a duplicate", as "smaller:larger" ids."""
    return set(
        session.scalars(
            select(AuditEntry.entity_id).where(
                AuditEntry.entity_type == f"{kind}_pair", AuditEntry.action == DISMISS_ACTION
            )
        )
    )


def candidates(session: Session, kind: Kind) -> list[Candidate]:
    """Every likely duplicate pair of people (or organisations), most alike first."""
    entries = _people(session) if kind == "person" else _organisations(session)
    skip = dismissed(session, kind)
    size = len(entries)
    out = []
    for code, score in _score_pairs(kind, entries).items():
        a, b = entries[code // size], entries[code % size]
        if f"{min(a.id, b.id)}:{max(a.id, b.id)}" not in skip:
            out.append(_candidate(kind, a, b, score))
    _name_organisations(session, out)
    out.sort(key=lambda c: (-c.score, -len(c.reasons), c.a_name.casefold(), c.a_id, c.b_id))
    return out


def _name_organisations(session: Session, found: list[Candidate]) -> None:
    """ "same organisation (…)" with its name, looked up for the candidates only."""
    ids = {oid for c in found for oid in c.organisation_ids}
    if not ids:
        return
    rows = session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(sorted(ids)))
    )
    names: dict[int, str] = {row[0]: row[1] for row in rows}
    for c in found:
        if c.organisation_ids:
            shared = ", ".join(names.get(o, f"#{o}") for o in c.organisation_ids[:2])
            c.reasons.insert(1, f"same organisation ({shared})")


# The last scan per (database, kind), with the directory state it was made from: paging through
# the list, or coming back to it, costs a few aggregate queries instead of a scan of every name.
_SCANS: dict[tuple[str, str], tuple[tuple[Any, ...], list[Candidate]]] = {}


def _directory_state(session: Session, kind: Kind) -> tuple[Any, ...]:
    """Changes whenever a scan could find something else: a record, position, email or alias
    added, removed or edited, or a pair dismissed."""
    owner = Person if kind == "person" else Organisation
    state: list[Any] = []
    for model in (owner, Position, ContactPoint, Alias):
        state.extend(
            session.execute(
                select(func.count(), func.max(model.id), func.max(model.updated_at))
            ).one()
        )
    state.append(
        session.scalar(
            select(func.count()).where(
                AuditEntry.entity_type == f"{kind}_pair", AuditEntry.action == DISMISS_ACTION
            )
        )
    )
    return tuple(state)


def cached_candidates(session: Session, kind: Kind) -> list[Candidate]:
    bind = session.get_bind()
    key = (str(bind.engine.url), kind)
    state = _directory_state(session, kind)
    scan = _SCANS.get(key)
    if scan is None or scan[0] != state:
        scan = (state, candidates(session, kind))
        _SCANS[key] = scan
    return scan[1]


def candidate_page(
    session: Session, kind: Kind, page: int = 1, per_page: int = 50
) -> CandidatePage:
    page = max(1, page)
    per_page = max(1, min(per_page, 200))
    found = cached_candidates(session, kind)
    start = (page - 1) * per_page
    return CandidatePage(found[start : start + per_page], len(found), page, per_page)


def dismiss(session: Session, *, kind: Kind, a_id: int, b_id: int, actor: User | None) -> None:
    """Remember that two records are not duplicates (idempotent)."""
    if a_id == b_id:
        raise InvalidInput("Choose two different records.")
    model = Person if kind == "person" else Organisation
    found = session.scalar(
        select(func.count()).select_from(model).where(model.id.in_([a_id, b_id]))
    )
    if found != 2:
        raise NotFound(f"Both records must exist: no {kind} has one of the ids {a_id}, {b_id}.")
    pair = f"{min(a_id, b_id)}:{max(a_id, b_id)}"
    if pair in dismissed(session, kind):
        return
    audit.record(
        session,
        user=actor,
        action=DISMISS_ACTION,
        entity_type=f"{kind}_pair",
        entity_id=pair,
        summary=f"Marked {kind}s #{min(a_id, b_id)} and #{max(a_id, b_id)} as not duplicates",
        details={"kind": kind, "ids": [min(a_id, b_id), max(a_id, b_id)]},
    )
