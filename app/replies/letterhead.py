"""Who sent a reply: the organisation its letterhead, signature or forwarding header names, matched
against the directory's names and aliases in every script, and the states the text names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import pycountry
from babel import Locale
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.contacts.names import organisation_forms_of
from app.contacts.text import fold as fold_latin
from app.letters.language.data import country_names
from app.models import Alias, Country, Organisation, OrganisationType
from app.replies.dates import DATE_LANGUAGES
from app.replies.folding import WORD, fold, is_cjk, plain_text

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
        if is_cjk(name):
            cjk.setdefault(fold(name), iso3)
        elif len(key := " ".join(_words(name))) >= 4:
            words.setdefault(key, iso3)
    return words, cjk


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", fold(text))


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
    words = WORD.findall(line)
    lower = sum(1 for w in words if w[0].islower())
    # a sentence runs mostly in lower case; a letterhead is in capitals or title case
    return len(words) <= ZONE_LINE_WORDS and not (len(words) >= 6 and lower * 2 > len(words))


def _sender_zones(text: str) -> list[list[str]]:
    """Where a sender names itself: the letterhead, the top of any forwarded message, and the
    signature block; each a list of lines (email addresses and From: labels taken out)."""
    lines = [
        _EMAIL.sub(" ", _HEADER_LABEL.sub("", line)).strip(" \t-–|:;,")
        for line in plain_text(text).splitlines()
    ]
    # letterheads and signatures are short lines; a sentence of the body names others too
    lines = [line[:200] for line in lines if WORD.search(line) and _short_line(line)]
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
