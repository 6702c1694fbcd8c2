"""Reading replies against a labelled set: which letter each answers, what it states, what it
says about itself, and how long that takes against a plain regular-expression scan.

The set (bench/data/replies/<language>.json, 49 replies in en fr es ru ar zh) is written as
ministries, embassies and permanent missions write: notes verbales, letters forwarded by an
embassy, acknowledgements, replies citing our letter by its date in their own language or by
our reference (sometimes retyped), and replies that answer none of our letters (invitations, a
circular). bench/data/replies/fixture.json holds the organisations and letters they refer to;
they are loaded into a fresh SQLite database.

Every reply is read from its subject and text only, as when the coordinator pastes a reply:
``reading.read_reply`` (sender, references, dates), ``matching.suggest`` (letters, given what
the reading found), ``stance.suggest_positions`` and ``stance.is_acknowledgement``.

Figures: the share of replies whose expected letter is alone at the top; confident matches on
replies that answer none of our letters (target 0) and confident wrong ones; stance precision
and recall (target >= 0.9 each); acknowledgement accuracy; extraction accuracy per field; and
the latency per reply (p50, p95) next to ``raw``, one compiled regular expression of month
names and reference shapes run over the same texts in the same run.
Written to bench/results/replies.json.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "replies.json"
DATA = Path(__file__).parent / "data" / "replies"
LANGUAGES = ("en", "fr", "es", "ru", "ar", "zh")
ROUNDS = int(os.environ.get("REPLIES_BENCH_ROUNDS", "7"))
TARGETS = {"stance_precision_min": 0.9, "stance_recall_min": 0.9, "false_confident_max": 0}


def labelled() -> list[dict[str, Any]]:
    replies: list[dict[str, Any]] = []
    for language in LANGUAGES:
        replies.extend(json.loads((DATA / f"{language}.json").read_text("utf-8"))["replies"])
    return replies


def fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "fixture.json").read_text("utf-8"))
    return data


def _scratch_database(tmp: Path) -> None:
    from app.config import get_settings
    from app.db import get_engine, session_factory, transaction

    os.environ["DEMARCHE_DATA_DIR"] = str(tmp / "data")
    os.environ["DEMARCHE_DATABASE_URL"] = f"sqlite:///{tmp / 'replies.sqlite3'}"
    get_settings.cache_clear()
    get_engine.cache_clear()
    session_factory.cache_clear()
    from app import reference
    from app.platform.migrations import upgrade

    upgrade()
    with transaction() as session:
        reference.load(session)


def load_fixture(session: Any, data: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """The organisations (parents first) and the letters, as sent; their ids by key."""
    from app.contacts import service as contacts_service
    from app.contacts.schemas import OrganisationCreate
    from app.countries import service as countries_service
    from app.models import Channel, Letter, LetterStatus

    organisations: dict[str, int] = {}
    pending = list(data["organisations"])
    while pending:
        row = next(r for r in pending if not r["parent"] or r["parent"] in organisations)
        pending.remove(row)
        organisations[row["key"]] = contacts_service.create_organisation(
            session,
            data=OrganisationCreate.model_validate(
                {
                    "name": row["name"],
                    "type": row["type"],
                    "country": row["country"],
                    "parent_id": organisations.get(row["parent"] or ""),
                    "name_forms": row["name_forms"],
                    "host_city": row["host_city"],
                }
            ),
            actor=None,
        ).id
    letters: dict[str, int] = {}
    for row in data["letters"]:
        country = countries_service.get_by_code(session, row["country"])
        on = date.fromisoformat(row["letter_date"])
        letter = Letter(
            reference=row["reference"],
            recipient_key=f"organisation:{organisations[row['organisation']]}",
            organisation_id=organisations[row["organisation"]],
            country_id=country.id,
            recipient_name=next(
                o["name"] for o in data["organisations"] if o["key"] == row["organisation"]
            ),
            language=row["language"],
            subject="Cluster munitions and anti-personnel mines",
            letter_date=on,
            status=LetterStatus.sent,
            channel=Channel.post,
            sent_on=on,
            reply_due_on=on + timedelta(days=45),
        )
        session.add(letter)
        session.flush()
        letters[row["key"]] = letter.id
    return organisations, letters


# --- the baseline ---------------------------------------------------------------------------

ARABIC_MONTHS = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "ابريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "اغسطس",
    "سبتمبر",
    "أكتوبر",
    "اكتوبر",
    "نوفمبر",
    "ديسمبر",
    "كانون",
    "شباط",
    "آذار",
    "نيسان",
    "أيار",
    "حزيران",
    "تموز",
    "آب",
    "أيلول",
    "تشرين",
]


def raw_pattern() -> re.Pattern[str]:
    """Dates written with a month name in any of the six languages (or 年月日, or digits) and
    anything shaped like a reference: what a plain scan of a reply would look for."""
    from babel.dates import get_month_names

    names: set[str] = set(ARABIC_MONTHS)
    for locale in ("en", "fr", "es", "ru"):
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                names.update(
                    n.lower().rstrip(".") for n in get_month_names(width, context, locale).values()
                )
    months = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True) if len(n) >= 3)
    return re.compile(
        rf"\d{{1,2}}(?:er|st|nd|rd|th|°)?\s+(?:de\s+)?(?:{months})\.?,?\s+(?:de\s+)?\d{{4}}"
        rf"|(?:{months})\s+\d{{1,2}},?\s+\d{{4}}"
        r"|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
        r"|\d{1,4}[./-]\d{1,2}[./-]\d{2,4}"
        r"|[A-Z][A-Z0-9]{1,15}(?:[/-][A-Z0-9]{1,15}){1,5}",
        re.IGNORECASE,
    )


# --- scoring ---------------------------------------------------------------------------------


# "N° 0457/MAE/DAJCI/SDDH" and "0457/MAE/DAJCI/SDDH" are the same reference; "OIG N° 147/2010"
# and "147/2010" are not (the office's letters are part of it).
_LABEL = re.compile(r"\b(?:nota|note|ref|réf|исх)\b\.?|n[°º]\.?|№|\bno\b\.?|\s+", re.IGNORECASE)


def _same_reference(a: str, b: str) -> bool:
    return _LABEL.sub("", a).upper() == _LABEL.sub("", b).upper()


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 2),
        "p95_ms": round(_p(values, 0.95) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


@dataclass
class Reading:
    extracted: Any
    suggestions: list[Any]
    positions: list[Any]
    acknowledgement: bool


def read(session: Any, subject: str, text: str) -> Reading:
    """One reply read as the intake reads it: the reading's sender, cited date and our
    reference stand in for what the coordinator has not said."""
    from app.replies import matching, reading, stance

    extracted = reading.read_reply(session, subject=subject, text=text)
    reference = extracted.our_reference
    suggestions = matching.suggest(
        session,
        matching.MatchInput(
            subject=subject,
            text=text if not reference or reference in text else f"{text}\n{reference}",
            sender_organisation_id=extracted.sender_organisation_id,
            cited_letter_date=extracted.cited_letter_date,
        ),
    )
    language = extracted.language
    return Reading(
        extracted=extracted,
        suggestions=suggestions,
        positions=stance.suggest_positions(text, language=language),
        acknowledgement=stance.is_acknowledgement(text, language=language),
    )


def judge(
    reply: dict[str, Any], result: Reading, organisations: dict[str, int], letters: dict[str, int]
) -> dict[str, Any]:
    """What the reading got right and wrong on one reply."""
    expected = reply["expected"]
    extracted = result.extracted
    suggestions = result.suggestions
    top = suggestions[0] if suggestions else None
    want_letter = letters.get(expected["letter"]) if expected["letter"] else None
    stances = {(s["treaty"], s["stance"]) for s in expected["stances"]}
    found = {(p.treaty, p.stance.value) for p in result.positions}
    fields = {
        "sender_reference": _same_reference(
            extracted.sender_reference, expected["sender_reference"]
        ),
        "dated_on": (extracted.dated_on.isoformat() if extracted.dated_on else None)
        == expected["dated_on"],
        "cited_letter_date": (
            extracted.cited_letter_date.isoformat() if extracted.cited_letter_date else None
        )
        == expected["cited_letter_date"],
        "sender_organisation": extracted.sender_organisation_id
        == (
            organisations[expected["sender_organisation"]]
            if expected["sender_organisation"]
            else None
        ),
    }
    return {
        "id": reply["id"],
        "language": reply["language"],
        "letter_expected": want_letter is not None,
        "letter_alone_at_top": bool(
            want_letter is not None and top and top.letter_id == want_letter and not top.tied
        ),
        "confident": bool(top and top.confident),
        "confident_wrong": bool(top and top.confident and top.letter_id != want_letter),
        "top": top.reference if top else None,
        "top_reasons": list(top.reasons) if top else [],
        "tp": len(stances & found),
        "fp": len(found - stances),
        "fn": len(stances - found),
        "stances_expected": sorted(stances),
        "stances_found": sorted(found),
        "acknowledgement_right": result.acknowledgement == expected["is_acknowledgement"],
        "fields": fields,
        "got": {
            "sender_reference": extracted.sender_reference,
            "dated_on": extracted.dated_on.isoformat() if extracted.dated_on else None,
            "cited_letter_date": (
                extracted.cited_letter_date.isoformat() if extracted.cited_letter_date else None
            ),
            "sender_organisation": extracted.sender_organisation,
        },
    }


def summary(judged: list[dict[str, Any]]) -> dict[str, Any]:
    answering = [j for j in judged if j["letter_expected"]]
    unrelated = [j for j in judged if not j["letter_expected"]]
    tp = sum(j["tp"] for j in judged)
    fp = sum(j["fp"] for j in judged)
    fn = sum(j["fn"] for j in judged)
    fields = judged[0]["fields"].keys()
    return {
        "replies": len(judged),
        "answering_a_letter": len(answering),
        "answering_none": len(unrelated),
        "letter_alone_at_top": round(
            sum(j["letter_alone_at_top"] for j in answering) / len(answering), 3
        ),
        "false_confident_on_unrelated": sum(j["confident"] for j in unrelated),
        "confident_wrong_letter": sum(j["confident_wrong"] for j in answering),
        "stance_precision": round(tp / (tp + fp), 3) if tp + fp else 1.0,
        "stance_recall": round(tp / (tp + fn), 3) if tp + fn else 1.0,
        "acknowledgement_accuracy": round(
            sum(j["acknowledgement_right"] for j in judged) / len(judged), 3
        ),
        "extraction_accuracy": {
            f: round(sum(j["fields"][f] for j in judged) / len(judged), 3) for f in fields
        },
    }


def failures(judged: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Which replies fail where: reading and matching, or the stance."""
    reading: list[dict[str, Any]] = []
    stance: list[dict[str, Any]] = []
    for j in judged:
        wrong = [f for f, ok in j["fields"].items() if not ok]
        letter_wrong = j["letter_expected"] and not j["letter_alone_at_top"]
        unrelated_confident = not j["letter_expected"] and j["confident"]
        if wrong or letter_wrong or unrelated_confident:
            reading.append(
                {
                    "id": j["id"],
                    "fields": {f: j["got"][f] for f in wrong},
                    "letter": (f"top {j['top']}" if letter_wrong or unrelated_confident else "ok"),
                    "reasons": j["top_reasons"],
                }
            )
        if j["fp"] or j["fn"] or not j["acknowledgement_right"]:
            stance.append(
                {
                    "id": j["id"],
                    "expected": j["stances_expected"],
                    "found": j["stances_found"],
                    "acknowledgement_right": j["acknowledgement_right"],
                }
            )
    return {"reading_matching": reading, "stance": stance}


def run() -> dict[str, Any]:
    from app.db import transaction

    replies = labelled()
    with tempfile.TemporaryDirectory(prefix="demarche-replies-bench-") as tmp:
        _scratch_database(Path(tmp))
        with transaction() as session:
            organisations, letters = load_fixture(session, fixture())
        pattern = raw_pattern()
        with transaction() as session:
            # warm up: the language models, the month tables, the cue tables
            for reply in replies[:: max(1, len(replies) // 6)]:
                read(session, reply["subject"], reply["text"])
            judged = []
            for reply in replies:
                outcome = read(session, reply["subject"], reply["text"])
                judged.append(judge(reply, outcome, organisations, letters))
            service: list[float] = []
            raw: list[float] = []
            per_language: dict[str, list[float]] = {lang: [] for lang in LANGUAGES}
            for _ in range(ROUNDS):
                # interleaved, so a busy neighbour on the machine slows both alike
                for reply in replies:
                    started = time.perf_counter()
                    read(session, reply["subject"], reply["text"])
                    elapsed = time.perf_counter() - started
                    service.append(elapsed)
                    per_language[reply["language"]].append(elapsed)
                    started = time.perf_counter()
                    found = pattern.findall(f"{reply['subject']}\n{reply['text']}")
                    raw.append(time.perf_counter() - started)
                    assert found or not reply["text"]
    result = summary(judged)
    result["latency"] = {
        "rounds": ROUNDS,
        "read": _ms(service),
        "raw": _ms(raw),
        "p95_ratio": round(_p(service, 0.95) / max(_p(raw, 0.95), 1e-9), 1),
        "read_p95_ms_by_language": {
            lang: round(_p(v, 0.95) * 1000, 2) for lang, v in per_language.items()
        },
    }
    result["by_language"] = {
        lang: summary([j for j in judged if j["language"] == lang]) for lang in LANGUAGES
    }
    result["failures"] = failures(judged)
    return result


def table(result: dict[str, Any]) -> str:
    rows: list[tuple[str, ...]] = [("", "all", *LANGUAGES)]

    def line(label: str, key: str, sub: str | None = None) -> None:
        def get(d: dict[str, Any]) -> str:
            value = d[key][sub] if sub else d[key]
            return f"{value:.2f}" if isinstance(value, float) else str(value)

        rows.append((label, get(result), *(get(result["by_language"][lang]) for lang in LANGUAGES)))

    line("replies", "replies")
    line("letter alone at top", "letter_alone_at_top")
    line("false confident (none)", "false_confident_on_unrelated")
    line("confident wrong letter", "confident_wrong_letter")
    line("stance precision", "stance_precision")
    line("stance recall", "stance_recall")
    line("acknowledgement", "acknowledgement_accuracy")
    for f in ("sender_reference", "dated_on", "cited_letter_date", "sender_organisation"):
        line(f, "extraction_accuracy", f)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lat = result["latency"]
    out.append(
        f"latency per reply (reading + matching + stance): p50 {lat['read']['p50_ms']} ms, "
        f"p95 {lat['read']['p95_ms']} ms; raw regex p95 {lat['raw']['p95_ms']} ms "
        f"({lat['p95_ratio']}x)"
    )
    return "\n".join(out)


def main() -> dict[str, Any]:
    os.environ.setdefault("DEMARCHE_ENV", "test")
    os.environ.setdefault("DEMARCHE_SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789")
    started = time.perf_counter()
    load_before = os.getloadavg()
    result = run()
    result["targets"] = TARGETS
    result["bench_seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(table(result))
    print(json.dumps(result["failures"], indent=1, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
