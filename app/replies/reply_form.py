"""The reply form: its sender fields (searched as you type, or resolved here by name without the
script), the reply it makes, and what reading its text or scan fills in (the analyse call).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from babel import Locale
from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile

from app.contacts import search as contacts_search
from app.contacts import service as contacts_service
from app.contacts.schemas import SearchFilters
from app.countries import service as countries_service
from app.db import SessionDep
from app.errors import DomainError, InvalidInput
from app.models import Channel, Organisation, Person, ReplyKind
from app.replies import analysis, langdetect, matching, ocr, scans, service
from app.replies.schemas import STANCE_LABELS, AnalyseRequest, ReplyCreate
from app.treaties import service as treaties_service
from app.web.session import CSRF_FIELD
from app.web.templating import render

CHANNEL_LABELS = {
    Channel.post: "Post",
    Channel.email: "Email",
    Channel.fax: "Fax",
    Channel.hand: "Hand delivery",
    Channel.diplomatic_bag: "Diplomatic bag",
}
KIND_LABELS = {
    ReplyKind.reply: "Reply",
    ReplyKind.acknowledgement: "Acknowledgement of receipt",
    ReplyKind.auto_reply: "Automatic reply",
}
_ENGLISH = Locale("en")
LANGUAGE_OPTIONS = [("", "— not known —")] + [
    (code, str(_ENGLISH.languages.get(code, code))) for code in langdetect.LANGUAGES
]
SenderKind = Literal["organisation", "person"]
SENDER_KINDS: tuple[SenderKind, ...] = ("organisation", "person")
SENDER_HITS = 15
MAX_FIELD_BYTES = 2 * 1024 * 1024  # a form field of the analyse call: 500,000 characters fit
OCR_LANGUAGE_OPTIONS = [("", "— detect it —")] + [
    (code, str(_ENGLISH.languages.get(code, code))) for code in ocr.LANGUAGES
]
# "Embassy of Kazakhstan (#12)": the search's label when two entries share a name
ID_SUFFIX = re.compile(r"\(#(\d{1,10})\)\s*$")

# --- logging a reply ------------------------------------------------------------------------


def treaty_names(session: SessionDep) -> list[str]:
    return [t.short_name for t in treaties_service.list_treaties(session)]


# --- the sender fields: searched as you type, resolved by name without the script --------------


def _hit_label(name: str, ident: int, duplicate: bool) -> str:
    return f"{name} (#{ident})" if duplicate else name


def sender_hits(session: SessionDep, kind: SenderKind, q: str) -> list[dict[str, Any]]:
    """Directory entries matching what was typed, each with a label unique in the list."""
    q = q.strip()[:200]
    if len(q) < 2:
        return []
    found = contacts_search.search(session, SearchFilters(q=q, kind=kind), 1, SENDER_HITS)
    names = [h.name.casefold() for h in found.items]
    return [
        {
            "id": h.id,
            "name": h.name,
            "label": _hit_label(h.name, h.id, names.count(h.name.casefold()) > 1),
            "detail": ", ".join(x for x in (h.detail, h.organisation, h.country) if x),
        }
        for h in found.items
    ]


def _sender_name(session: SessionDep, kind: SenderKind, ident: int) -> str | None:
    if kind == "organisation":
        return session.scalar(select(Organisation.name).where(Organisation.id == ident))
    person = session.get(Person, ident)
    return contacts_service.display_person(person) if person else None


def resolve_sender(session: SessionDep, kind: SenderKind, name: str, current: Any) -> str:
    """The id (as the form holds it) of the directory entry the sender field names.

    The script sets the id when an entry is picked; a name typed without it, or changed after
    the pick, is looked up: the entry of that exact name, or the only one that matches.
    """
    name = name.strip()[:300]
    if not name:
        return ""
    ident = _int(current)
    if ident is not None:
        known = _sender_name(session, kind, ident)
        if known is not None and name.casefold() in {
            known.casefold(),
            _hit_label(known, ident, True).casefold(),
        }:
            return str(ident)
    suffix = ID_SUFFIX.search(name)
    ident = _int(suffix.group(1)) if suffix else None
    if ident is not None and _sender_name(session, kind, ident) is not None:
        return str(ident)
    what = "organisation" if kind == "organisation" else "person"
    hits = sender_hits(session, kind, ID_SUFFIX.sub("", name))
    exact = [h for h in hits if h["name"].casefold() == name.casefold()]
    if len(exact) == 1 or (not exact and len(hits) == 1):
        return str((exact or hits)[0]["id"])
    if not hits:
        raise InvalidInput(
            f"No {what} in the directory matches “{name}”. Type the sender as written instead."
        )
    shown = "; ".join(h["label"] for h in (exact or hits)[:5])
    raise InvalidInput(f"Several entries match “{name}”: {shown}. Pick one from the list.")


def resolve_senders(
    session: SessionDep, values: dict[str, Any], fields: dict[SenderKind, str]
) -> dict[str, str]:
    """Turn the typed sender names into ids in ``values``; a message per field that fails."""
    errors: dict[str, str] = {}
    for kind, field in fields.items():
        if f"{field}_name" not in values:
            continue  # no name field posted (the API, older forms): the id stands as sent
        try:
            values[field] = resolve_sender(
                session, kind, str(values.get(f"{field}_name") or ""), values.get(field)
            )
        except InvalidInput as exc:
            errors[field] = exc.detail
    return errors


def _sender_labels(
    session: SessionDep, values: dict[str, Any], fields: dict[SenderKind, str]
) -> None:
    """The names shown in the sender fields of a form filled from ids (a letter, a reading)."""
    for kind, field in fields.items():
        ident = _int(values.get(field))
        if ident is not None and not values.get(f"{field}_name"):
            values[f"{field}_name"] = _sender_name(session, kind, ident) or ""


REPLY_SENDERS: dict[SenderKind, str] = {
    "organisation": "sender_organisation_id",
    "person": "sender_person_id",
}

# --- logging a reply ------------------------------------------------------------------------


def _positions_from_form(session: SessionDep, form: dict[str, Any]) -> list[dict[str, Any]]:
    """The position per treaty: typed in, or suggested from the text and accepted."""
    out = []
    for t in treaty_names(session):
        stance = form.get(f"stance_{t}")
        if not stance or (form.get(f"suggested_{t}") and not form.get(f"accept_{t}")):
            continue
        out.append({"treaty": t, "stance": stance, "quote": form.get(f"quote_{t}", "")})
    return out


def reply_payload(session: SessionDep, form: dict[str, Any]) -> dict[str, Any]:
    data = {
        k: v
        for k, v in form.items()
        if k in ReplyCreate.model_fields and k not in {"letter_ids", "positions"}
    }
    ids = form.get("letter_ids", [])
    ids = [ids] if isinstance(ids, str) else list(ids)
    refs = str(form.get("letter_refs", "") or "")
    data["letter_ids"] = ids + service.letter_ids_for_references(session, refs)
    data["positions"] = _positions_from_form(session, form)
    return data


def form_page(
    request: Request,
    session: SessionDep,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    *,
    notice: str = "",
) -> Response:
    _sender_labels(session, values, REPLY_SENDERS)
    suggestions = letter_suggestions(session, values)
    ctx = {
        "values": values,
        "errors": errors or {},
        "notice": notice,
        "channel_options": [(c.value, label) for c, label in CHANNEL_LABELS.items()],
        "kind_options": [(k.value, label) for k, label in KIND_LABELS.items()],
        "language_options": LANGUAGE_OPTIONS,
        "country_options": [("", "— the sender's state —")] + countries_service.choices(session),
        "treaties": treaty_names(session),
        "stance_options": [("", "— not stated —")]
        + [(s.value, label) for s, label in STANCE_LABELS.items()],
        "suggestions": suggestions,
        "tie_note": matching.tie_note(suggestions),
        "selected": selected_letters(values, suggestions),
    }
    return render(request, "replies/form.html", ctx, status_code=422 if errors else 200)


def as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple | set) else [value]


def _int(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= 2**31 - 1 else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError:
        return None


def letter_suggestions(session: SessionDep, values: dict[str, Any]) -> list[Any]:
    return service.suggest(
        session,
        subject=str(values.get("subject", ""))[:500],
        text=str(values.get("full_text", ""))[:200_000]
        + "\n"
        + str(values.get("summary", ""))[:20_000]
        + "\n"
        + str(values.get("letter_refs", ""))[:2000]
        + "\n"
        + str(values.get("our_reference", ""))[:200],
        sender_person_id=_int(values.get("sender_person_id")),
        sender_organisation_id=_int(values.get("sender_organisation_id")),
        country=str(values.get("country") or "")[:3] or None,
        cited_letter_date=_date(values.get("cited_letter_date")),
        dated_on=_date(values.get("dated_on")),
    )


def selected_letters(values: dict[str, Any], suggestions: list[Any]) -> set[str]:
    """The letters ticked: those chosen, else the best suggestion when it is sure and alone."""
    chosen = {str(i) for i in as_list(values.get("letter_ids"))}
    if not chosen and not values.get("letters_seen") and suggestions:
        best = suggestions[0]
        if best.confident and not best.tied:
            chosen = {str(best.letter_id)}
    return chosen


# --- reading a reply: the form's script, its "Read text" button and the API ---------------------


@dataclass
class AnalyseInput:
    """An analyse call's fields (as sent, validated later) and its scan, if one came."""

    fields: dict[str, Any]
    scan: bytes | None = None
    scan_name: str = ""


async def analyse_input(request: Request) -> AnalyseInput:
    """The body of an analyse call: JSON, or a form with the same fields and an optional
    ``file``, read to one byte past the attachment cap so that a larger one is refused."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in {"multipart/form-data", "application/x-www-form-urlencoded"}:
        form = await request.form(max_files=1, max_fields=40, max_part_size=MAX_FIELD_BYTES)
        fields = {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
        upload = form.get("file")
        if isinstance(upload, UploadFile) and upload.filename:
            scan = await upload.read(service.MAX_ATTACHMENT_BYTES + 1)
            return AnalyseInput(fields, scan, upload.filename)
        return AnalyseInput(fields)
    if kind in {"application/json", ""}:
        try:
            fields = json.loads(await request.body() or b"{}")
        except ValueError:
            raise InvalidInput("The body is not valid JSON.") from None
        if not isinstance(fields, dict):
            raise InvalidInput("The body is a JSON object of the fields to read.")
        return AnalyseInput(fields)
    raise DomainError(
        "Send the fields as JSON, or as multipart/form-data with the scan as `file`.",
        status=415,
        title="Unsupported media type",
    )


AnalyseBody = Annotated[AnalyseInput, Depends(analyse_input)]


def run_analysis(session: SessionDep, given: AnalyseInput) -> analysis.Analysis:
    try:
        body = AnalyseRequest.model_validate(given.fields)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise InvalidInput(detail, errors=errors) from None
    return analysis.analyse(
        session,
        subject=body.subject,
        text=body.text,
        country=body.country,
        sender_person_id=body.sender_person_id,
        sender_organisation_id=body.sender_organisation_id,
        cited_letter_date=body.cited_letter_date,
        scan=given.scan,
        scan_language=body.language,
    )


def scan_heading(given: AnalyseInput) -> str:
    """The heading the scan's text goes under in the reply, as the worker writes it, so that
    its full reading later replaces the first pages read here instead of repeating them."""
    kind = service.sniff(given.scan or b"")
    name = service.safe_filename(given.scan_name, kind) if kind else given.scan_name
    return scans.scan_header(name)


def read_into_form(
    session: SessionDep, values: dict[str, Any], uploads: list[UploadFile]
) -> tuple[str, dict[str, str]]:
    """The "Read text" button without the script: fill the empty fields from the reading.
    Returns a notice and the errors."""
    resolve_senders(session, values, REPLY_SENDERS)
    upload = next((u for u in uploads if u.filename), None)
    fields = {
        "subject": values.get("subject") or "",
        "text": values.get("full_text") or "",
        "country": values.get("country") or None,
        "sender_person_id": values.get("sender_person_id") or None,
        "sender_organisation_id": values.get("sender_organisation_id") or None,
        "cited_letter_date": values.get("cited_letter_date") or None,
        "language": values.get("language") or "",
    }
    scan = upload.file.read(service.MAX_ATTACHMENT_BYTES + 1) if upload else None
    given = AnalyseInput(fields, scan, (upload.filename or "") if upload else "")
    try:
        result = run_analysis(session, given)
    except DomainError as exc:
        session.rollback()
        field = exc.errors[0].get("field", "full_text") if exc.errors else "full_text"
        return "", {"attachments" if field == "file" else str(field): exc.detail}
    filled = _apply_reading(session, values, result)
    if result.scan_text:
        block = f"{scan_heading(given)}\n{result.scan_text}"
        typed = str(values.get("full_text") or "").rstrip()
        values["full_text"] = f"{typed}\n\n{block}" if typed else block
        filled.insert(0, "the scan's text")
    notice = f"Read: {', '.join(filled)}." if filled else "Read; nothing more found."
    if result.tie_note:
        notice += f" {result.tie_note}."
    if upload is not None:
        notice += " Choose the scan again to keep it with the reply."
    return notice, {}


def _apply_reading(
    session: SessionDep, values: dict[str, Any], result: analysis.Analysis
) -> list[str]:
    """Fill the form's empty fields from a reading; what was filled, for the notice."""
    ex = result.extracted
    filled: list[str] = []

    def put(key: str, value: Any, label: str) -> None:
        if value and not values.get(key):
            values[key] = value.isoformat() if isinstance(value, date) else str(value)
            filled.append(label)

    if ex.sender_organisation_id and not values.get("sender_organisation_id"):
        values["sender_organisation_id"] = str(ex.sender_organisation_id)
        values["sender_organisation_id_name"] = ex.sender_organisation
        values["sender_reason"] = ex.sender_reason
        filled.append("sender")
    put("sender_reference", ex.sender_reference, "their reference")
    put("dated_on", ex.dated_on, "date")
    put("cited_letter_date", ex.cited_letter_date, "date of our letter")
    put("our_reference", ex.our_reference, "our reference")
    put("language", ex.language, "language")
    if result.acknowledgement and values.get("kind", "reply") in {"", "reply"}:
        values["kind"] = ReplyKind.acknowledgement.value
        filled.append("kind (an acknowledgement)")
    treaties = set(treaty_names(session))
    for p in result.positions:
        if p.treaty in treaties and not values.get(f"stance_{p.treaty}"):
            values[f"stance_{p.treaty}"] = p.stance.value
            values[f"quote_{p.treaty}"] = p.quote
            values[f"suggested_{p.treaty}"] = f"{p.confidence:.2f}"
            filled.append(f"a position on the {p.treaty} to accept")
    return filled


def scan_block(full_text: str, filename: str) -> str:
    """The text a reading of the form put under the scan's heading, if it is still there."""
    heading = f"{scans.scan_header(filename)}\n"
    start = full_text.find(heading)
    if start < 0:
        return ""
    rest = full_text[start + len(heading) :]
    end = rest.find(f"\n\n{scans.scan_header('').removesuffix(' —')}")
    return rest if end < 0 else rest[:end]
