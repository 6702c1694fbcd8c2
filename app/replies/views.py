"""Replies web UI: log a reply (with live suggestions), import email, triage, attachments,
the position register and each campaign's reply tracker.

The sender fields are searched as you type (``/replies/senders`` answers the script) and, without
the script, resolved here by name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from babel import Locale
from fastapi import Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile

from app.auth.deps import WebCoordinator, WebUser
from app.contacts import search as contacts_search
from app.contacts import service as contacts_service
from app.contacts.schemas import SearchFilters
from app.countries import service as countries_service
from app.dashboard.service import register_panel
from app.db import SessionDep
from app.errors import DomainError, InvalidInput, NotFound
from app.models import (
    Channel,
    Letter,
    Organisation,
    Person,
    PositionStance,
    ReplyAttachment,
    ReplyKind,
    ReplyStatus,
    Role,
    User,
)
from app.replies import (
    analysis,
    langdetect,
    matching,
    ocr,
    positions,
    service,
    stance,
    timeline,
    tracker,
)
from app.replies.schemas import (
    STANCE_LABELS,
    AnalyseRequest,
    ContactFromSender,
    DismissIn,
    LinkLetters,
    PositionCreate,
    PositionIn,
    PositionUpdate,
    ReplyCreate,
    ReplyUpdate,
)
from app.treaties import service as treaties_service
from app.web.errors import problem
from app.web.forms import FormDep, field_errors, validate
from app.web.pagination import Page, page_query
from app.web.routing import web_router
from app.web.session import CSRF_FIELD
from app.web.templating import redirect, render

router = web_router(prefix="/replies")
positions_router = web_router(prefix="/positions")
tracker_router = web_router(prefix="/campaigns")
PER_PAGE = 25
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

OCR_ACTIVE = {"queued", "running"}

timeline.register()


# Downloads only: never rendered by the browser, never sniffed into HTML.
ATTACHMENT_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


def download(session: SessionDep, attachment_id: int) -> Response:
    attachment, path = service.get_attachment(session, attachment_id)
    return FileResponse(
        path,
        media_type=attachment.content_type,
        filename=attachment.filename,
        content_disposition_type="attachment",
        headers=ATTACHMENT_HEADERS,
    )


# --- logging a reply ------------------------------------------------------------------------


def _treaties(session: SessionDep) -> list[str]:
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


def _resolve_senders(
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


@router.get("/senders", name="reply_senders")
def reply_senders(
    session: SessionDep,
    user: WebUser,
    kind: SenderKind = "organisation",
    q: str = Query(default="", max_length=200),
) -> JSONResponse:
    """People or organisations whose name matches ``q``, for the sender fields' list."""
    return JSONResponse({"items": sender_hits(session, kind, q)})


# --- logging a reply ------------------------------------------------------------------------


def _positions_from_form(session: SessionDep, form: dict[str, Any]) -> list[dict[str, Any]]:
    """The position per treaty: typed in, or suggested from the text and accepted."""
    out = []
    for t in _treaties(session):
        stance = form.get(f"stance_{t}")
        if not stance or (form.get(f"suggested_{t}") and not form.get(f"accept_{t}")):
            continue
        out.append({"treaty": t, "stance": stance, "quote": form.get(f"quote_{t}", "")})
    return out


def _reply_payload(session: SessionDep, form: dict[str, Any]) -> dict[str, Any]:
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


def _form_page(
    request: Request,
    session: SessionDep,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    *,
    notice: str = "",
) -> Response:
    _sender_labels(session, values, REPLY_SENDERS)
    suggestions = _suggestions(session, values)
    ctx = {
        "values": values,
        "errors": errors or {},
        "notice": notice,
        "channel_options": [(c.value, label) for c, label in CHANNEL_LABELS.items()],
        "kind_options": [(k.value, label) for k, label in KIND_LABELS.items()],
        "language_options": LANGUAGE_OPTIONS,
        "country_options": [("", "— the sender's state —")] + countries_service.choices(session),
        "treaties": _treaties(session),
        "stance_options": [("", "— not stated —")]
        + [(s.value, label) for s, label in STANCE_LABELS.items()],
        "suggestions": suggestions,
        "tie_note": matching.tie_note(suggestions),
        "selected": _selected(values, suggestions),
    }
    return render(request, "replies/form.html", ctx, status_code=422 if errors else 200)


def _as_list(value: Any) -> list[Any]:
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


def _suggestions(session: SessionDep, values: dict[str, Any]) -> list[Any]:
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


def _selected(values: dict[str, Any], suggestions: list[Any]) -> set[str]:
    """The letters ticked: those chosen, else the best suggestion when it is sure and alone."""
    chosen = {str(i) for i in _as_list(values.get("letter_ids"))}
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


def _scan_heading(given: AnalyseInput) -> str:
    """The heading the scan's text goes under in the reply, as the worker writes it, so that
    its full reading later replaces the first pages read here instead of repeating them."""
    kind = service.sniff(given.scan or b"")
    name = service.safe_filename(given.scan_name, kind) if kind else given.scan_name
    return ocr.scan_header(name)


@router.post("/analyse", name="reply_analyse")
def reply_analyse(session: SessionDep, user: WebUser, given: AnalyseBody) -> Response:
    """The form's script: what the pasted text or the chosen scan says, as JSON."""
    try:
        result = run_analysis(session, given)
    except DomainError as exc:
        session.rollback()
        return problem(exc.status, exc.detail, title=exc.title, errors=exc.errors)
    data = result.as_dict()
    if result.scan_text:
        data["scan"] = {"heading": _scan_heading(given), "text": result.scan_text}
    return JSONResponse(data)


def _read_into_form(
    session: SessionDep, values: dict[str, Any], uploads: list[UploadFile]
) -> tuple[str, dict[str, str]]:
    """The "Read text" button without the script: fill the empty fields from the reading.
    Returns a notice and the errors."""
    _resolve_senders(session, values, REPLY_SENDERS)
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
        block = f"{_scan_heading(given)}\n{result.scan_text}"
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
    treaties = set(_treaties(session))
    for p in result.positions:
        if p.treaty in treaties and not values.get(f"stance_{p.treaty}"):
            values[f"stance_{p.treaty}"] = p.stance.value
            values[f"quote_{p.treaty}"] = p.quote
            values[f"suggested_{p.treaty}"] = f"{p.confidence:.2f}"
            filled.append(f"a position on the {p.treaty} to accept")
    return filled


def _scan_block(full_text: str, filename: str) -> str:
    """The text a reading of the form put under the scan's heading, if it is still there."""
    heading = f"{ocr.scan_header(filename)}\n"
    start = full_text.find(heading)
    if start < 0:
        return ""
    rest = full_text[start + len(heading) :]
    end = rest.find(f"\n\n{ocr.scan_header('').removesuffix(' —')}")
    return rest if end < 0 else rest[:end]


@router.get("", name="replies_home")
def replies_home(
    request: Request,
    session: SessionDep,
    user: WebUser,
    q: str = "",
    status: str = "",
    page: int = 1,
) -> Response:
    page = max(1, min(page, 100_000))
    chosen = ReplyStatus(status) if status in ReplyStatus.__members__ else None
    rows, total = service.list_replies(
        session, search=q[:200], status=chosen, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    can_link = user.role.at_least(Role.coordinator)
    ctx = {
        "replies": rows,
        "q": q,
        "status": status,
        "page": Page(page=page, per_page=PER_PAGE, total=total),
        "page_query": page_query({"q": q, "status": status}),
        "triage_count": service.triage_count(session),
        "status_options": [("", "Any status")] + [(s.value, s.value.title()) for s in ReplyStatus],
        "can_link": can_link,
        "guesses": {
            r.id: _guess(service.suggest_for_reply(session, r))
            for r, _ in rows
            if can_link and r.status is ReplyStatus.triage
        },
    }
    return render(request, "replies/index.html", ctx, block="results")


@router.get("/new", name="reply_new")
def reply_new(
    request: Request, session: SessionDep, user: WebUser, letter_id: int | None = None
) -> Response:
    values: dict[str, Any] = {
        "received_on": date.today().isoformat(),
        "channel": "post",
        "kind": ReplyKind.reply.value,
    }
    if letter_id is not None:
        values.update(service.prefill_for_letter(session, letter_id))
    return _form_page(request, session, values)


@router.get("/suggest", name="reply_suggest")
def reply_suggest(request: Request, session: SessionDep, user: WebUser) -> Response:
    values: dict[str, Any] = {}
    for key in request.query_params:
        items = request.query_params.getlist(key)
        values[key] = items if len(items) > 1 else items[0]
    _resolve_senders(session, values, REPLY_SENDERS)
    suggestions = _suggestions(session, values)
    ctx = {
        "suggestions": suggestions,
        "tie_note": matching.tie_note(suggestions),
        "selected": _selected(values, suggestions),
    }
    return render(request, "replies/_suggestions.html", ctx)


@router.post("", name="reply_create")
def reply_create(request: Request, session: SessionDep, user: WebUser, form: FormDep) -> Response:
    uploads = [f for f in _as_list(form.pop("attachments", None)) if isinstance(f, UploadFile)]
    values = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
    # browsers send a textarea's lines ended by CRLF
    values["full_text"] = str(values.get("full_text") or "").replace("\r\n", "\n")
    if values.pop("read", None):
        notice, errors = _read_into_form(session, values, uploads)
        return _form_page(request, session, values, errors, notice=notice)
    errors = _resolve_senders(session, values, REPLY_SENDERS)
    if errors:
        return _form_page(request, session, values, errors)
    try:
        payload = _reply_payload(session, values)
    except DomainError as exc:
        return _form_page(request, session, values, field_errors(exc))
    data, errors = validate(ReplyCreate, payload)
    if data is None:
        return _form_page(request, session, values, errors)
    # letters ticked among the suggestions keep the matcher's reasons, as worked out again here
    chosen = [s for s in _suggestions(session, values) if s.letter_id in data.letter_ids]
    try:
        reply = service.create(
            session,
            data=data,
            actor=user,
            matched_by={s.letter_id: s.matched_by[0] for s in chosen if s.matched_by},
            reasons={s.letter_id: s.reasons for s in chosen},
        )
        for upload in uploads:
            if upload.filename:
                content = upload.file.read(service.MAX_ATTACHMENT_BYTES + 1)
                attachment = service.add_attachment(
                    session,
                    reply_id=reply.id,
                    filename=upload.filename,
                    content=content,
                    actor=user,
                )
                # the first pages the form read: the worker's full reading replaces them
                attachment.ocr_text = _scan_block(data.full_text, attachment.filename)
    except DomainError as exc:
        session.rollback()
        return _form_page(request, session, values, field_errors(exc) or {"__all__": exc.detail})
    return redirect(request, f"/replies/{reply.id}", message="Reply logged.")


@router.get("/import", name="reply_import_form")
def reply_import_form(request: Request, session: SessionDep, user: WebUser) -> Response:
    return render(request, "replies/import.html", {"errors": {}})


@router.post("/import", name="reply_import")
def reply_import(request: Request, session: SessionDep, user: WebUser, form: FormDep) -> Response:
    upload = form.get("eml")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render(
            request,
            "replies/import.html",
            {"errors": {"eml": "Choose a .eml file."}},
            status_code=422,
        )
    try:
        reply, created = service.ingest_email(
            session, raw=upload.file.read(service.inbound.MAX_EML_BYTES + 1), actor=user
        )
    except DomainError as exc:
        session.rollback()
        return render(
            request, "replies/import.html", {"errors": {"eml": exc.detail}}, status_code=422
        )
    if not created:
        message = "This email was imported before."
    elif reply.status is ReplyStatus.triage:
        message = "Imported; no certain match, so it waits in triage."
    else:
        message = "Imported and linked to the letter it answers."
    return redirect(request, f"/replies/{reply.id}", message=message)


@router.get("/attachments/{attachment_id:int}", name="reply_attachment")
def reply_attachment(session: SessionDep, user: WebUser, attachment_id: int) -> Response:
    return download(session, attachment_id)


def _attachment(session: SessionDep, attachment_id: int) -> ReplyAttachment:
    attachment = session.get(ReplyAttachment, attachment_id, populate_existing=True)
    if attachment is None:
        raise NotFound(f"No attachment has the id {attachment_id}.")
    return attachment


@router.get("/attachments/{attachment_id:int}/ocr", name="reply_attachment_ocr")
def reply_attachment_ocr(
    request: Request, session: SessionDep, user: WebUser, attachment_id: int
) -> Response:
    """How far the reading of a scan has got (the reply page polls it); once it has finished,
    the page reloads to show the text, or why it failed."""
    attachment = _attachment(session, attachment_id)
    headers = {}
    if attachment.ocr_status not in OCR_ACTIVE:
        headers["HX-Refresh"] = "true"
    ctx = {"a": attachment, "ocr_language_options": OCR_LANGUAGE_OPTIONS}
    return render(request, "replies/_ocr.html", ctx, headers=headers)


@router.post("/attachments/{attachment_id:int}/ocr", name="reply_attachment_reread")
def reply_attachment_reread(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, attachment_id: int
) -> Response:
    """Read a scan again, in the language the coordinator names (or detected)."""
    reply_id = _attachment(session, attachment_id).reply_id
    try:
        ocr.request(
            session, attachment_id=attachment_id, language=str(form.get("language", ""))[:10]
        )
    except DomainError as exc:
        session.rollback()
        return _detail(request, session, user, reply_id, {f"ocr_{attachment_id}": exc.detail})
    return redirect(request, f"/replies/{reply_id}", message="The scan will be read again.")


def best_guess(suggestions: list[Any]) -> Any | None:
    """The letter a coordinator can link in one click: the top suggestion, unless tied."""
    if suggestions and not suggestions[0].tied:
        return suggestions[0]
    return None


def _guess(suggestions: list[Any]) -> tuple[Any | None, str | None]:
    """A triage item's one-click link (the best guess), or the note saying the guesses tie."""
    return best_guess(suggestions), matching.tie_note(suggestions)


def _detail(
    request: Request,
    session: SessionDep,
    user: User,
    reply_id: int,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    rv = service.view(session, reply_id)
    reply = rv.reply
    # once a letter is linked the guesses go: a wrong one no longer sits beside the right one
    suggestions: list[Any] = []
    if not rv.letters and reply.status is not ReplyStatus.dismissed:
        suggestions = service.suggest_for_reply(session, reply)
    reasons = {link.letter_id: link.reasons or [] for link in reply.links}
    recorded = {e.treaty for e in rv.positions}
    suggested = [
        p
        for p in stance.suggest_positions(reply.full_text, language=reply.language)
        if p.treaty not in recorded
    ]
    ctx: dict[str, Any] = {
        "rv": rv,
        "reply": reply,
        "letters": [(letter, how, reasons.get(letter.id, [])) for letter, how in rv.letters],
        "can_triage": user.role.at_least(Role.coordinator),
        "suggestions": suggestions,
        "best": best_guess(suggestions),
        "tie_note": matching.tie_note(suggestions),
        "selected": set(),
        "errors": errors or {},
        "values": values or {},
        "country_options": [("", "— unknown —")] + countries_service.choices(session),
        "treaty_options": [(t, t) for t in _treaties(session)],
        "stance_options": [(s.value, label) for s, label in STANCE_LABELS.items()],
        "kind_labels": KIND_LABELS,
        "stance_labels": STANCE_LABELS,
        "suggested_positions": suggested,
        "ocr_language_options": OCR_LANGUAGE_OPTIONS,
        "language_names": dict(LANGUAGE_OPTIONS),
    }
    return render(request, "replies/detail.html", ctx, status_code=422 if errors else 200)


@router.get("/{reply_id:int}", name="reply_detail")
def reply_detail(request: Request, session: SessionDep, user: WebUser, reply_id: int) -> Response:
    return _detail(request, session, user, reply_id)


def _edit_page(
    request: Request,
    reply_id: int,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    ctx = {
        "reply_id": reply_id,
        "values": values,
        "errors": errors or {},
        "channel_options": [(c.value, label) for c, label in CHANNEL_LABELS.items()],
        "kind_options": [(k.value, label) for k, label in KIND_LABELS.items()],
        "language_options": LANGUAGE_OPTIONS,
    }
    return render(request, "replies/edit.html", ctx, status_code=422 if errors else 200)


@router.get("/{reply_id:int}/edit", name="reply_edit")
def reply_edit(request: Request, session: SessionDep, user: WebUser, reply_id: int) -> Response:
    reply = service.get(session, reply_id)
    values = {
        "received_on": reply.received_on.isoformat(),
        "dated_on": reply.dated_on.isoformat() if reply.dated_on else "",
        "kind": reply.kind.value,
        "language": reply.language,
        "channel": reply.channel.value,
        "sender_name": reply.sender_name,
        "sender_reference": reply.sender_reference,
        "cited_letter_date": reply.cited_letter_date.isoformat() if reply.cited_letter_date else "",
        "subject": reply.subject,
        "summary": reply.summary,
        "full_text": reply.full_text,
        "version": reply.version,
    }
    return _edit_page(request, reply_id, values)


@router.post("/{reply_id:int}/edit", name="reply_update")
def reply_update(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, reply_id: int
) -> Response:
    data, errors = validate(ReplyUpdate, form)
    if data is None:
        return _edit_page(request, reply_id, dict(form), errors)
    try:
        service.update(session, reply_id=reply_id, data=data, actor=user)
    except DomainError as exc:
        return _edit_page(request, reply_id, dict(form), field_errors(exc))
    return redirect(request, f"/replies/{reply_id}", message="Reply saved.")


@router.post("/{reply_id:int}/attachments", name="reply_attach")
def reply_attach(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, reply_id: int
) -> Response:
    uploads = [f for f in _as_list(form.get("attachments")) if isinstance(f, UploadFile)]
    uploads = [u for u in uploads if u.filename]
    if not uploads:
        return _detail(request, session, user, reply_id, {"attachments": "Choose a file."})
    try:
        for upload in uploads:
            service.add_attachment(
                session,
                reply_id=reply_id,
                filename=upload.filename or "attachment",
                content=upload.file.read(service.MAX_ATTACHMENT_BYTES + 1),
                actor=user,
            )
    except DomainError as exc:
        session.rollback()
        return _detail(request, session, user, reply_id, {"attachments": exc.detail})
    return redirect(request, f"/replies/{reply_id}", message="Attachment added.")


@router.post("/{reply_id:int}/link", name="reply_link")
def reply_link(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep, reply_id: int
) -> Response:
    try:
        refs = service.letter_ids_for_references(session, str(form.get("letter_refs", "")))
    except DomainError as exc:
        return _detail(request, session, user, reply_id, {"link": exc.detail})
    payload = {"letter_ids": _as_list(form.get("letter_ids")) + refs}
    data, errors = validate(LinkLetters, payload)
    if data is None:
        return _detail(request, session, user, reply_id, {"link": "Pick at least one letter."})
    try:
        # ticked among the suggestions, or typed: the links keep the matcher's reasons
        reply = service.link_letters(
            session,
            reply_id=reply_id,
            letter_ids=data.letter_ids,
            actor=user,
            from_suggestion=True,
        )
    except DomainError as exc:
        session.rollback()
        return _detail(request, session, user, reply_id, {"link": exc.detail})
    linked = ", ".join(_references(session, [lk.letter_id for lk in reply.links]))
    message = f"Linked to {linked}; the reply is logged."
    if form.get("back") == "triage":  # the one-click link of the triage list goes back to it
        return redirect(request, "/replies?status=triage", message=message)
    return redirect(request, f"/replies/{reply_id}", message=message)


def _references(session: SessionDep, letter_ids: list[int]) -> list[str]:
    return list(
        session.scalars(
            select(Letter.reference).where(Letter.id.in_(letter_ids)).order_by(Letter.id)
        )
    )


@router.post("/{reply_id:int}/unlink/{letter_id:int}", name="reply_unlink")
def reply_unlink(
    request: Request, session: SessionDep, user: WebCoordinator, reply_id: int, letter_id: int
) -> Response:
    service.unlink_letter(session, reply_id=reply_id, letter_id=letter_id, actor=user)
    return redirect(request, f"/replies/{reply_id}", message="Unlinked.")


@router.post("/{reply_id:int}/dismiss", name="reply_dismiss")
def reply_dismiss(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep, reply_id: int
) -> Response:
    data, _ = validate(DismissIn, form)
    try:
        service.dismiss(session, reply_id=reply_id, note=data.note if data else "", actor=user)
    except DomainError as exc:
        session.rollback()
        return _detail(request, session, user, reply_id, {"dismiss": exc.detail})
    return redirect(request, "/replies?status=triage", message="Dismissed.")


@router.post("/{reply_id:int}/contact", name="reply_contact")
def reply_contact(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep, reply_id: int
) -> Response:
    values = dict(form)
    errors = _resolve_senders(session, values, {"organisation": "organisation_id"})
    if errors:
        return _detail(request, session, user, reply_id, {"contact": errors["organisation_id"]})
    data, errors = validate(ContactFromSender, values)
    if data is None:
        return _detail(request, session, user, reply_id, {"contact": next(iter(errors.values()))})
    try:
        service.create_contact_from_sender(session, reply_id=reply_id, data=data, actor=user)
    except DomainError as exc:
        session.rollback()
        return _detail(request, session, user, reply_id, {"contact": exc.detail})
    return redirect(request, f"/replies/{reply_id}", message="Contact created.")


@router.post("/{reply_id:int}/positions", name="reply_positions")
def reply_positions(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep, reply_id: int
) -> Response:
    """Record a position the reply states (typed in, or a suggestion accepted or corrected),
    with the reply as its evidence."""
    data, errors = validate(PositionIn, form)
    if data is None:
        message = next(iter(errors.values()))
        return _detail(request, session, user, reply_id, {"positions": message}, dict(form))
    try:
        entries = positions.create_from_reply(session, reply_id=reply_id, items=[data], actor=user)
    except DomainError as exc:
        session.rollback()
        return _detail(request, session, user, reply_id, {"positions": exc.detail}, dict(form))
    entry = entries[0]
    return redirect(
        request,
        f"/replies/{reply_id}",
        message=f"Position recorded: {entry.country_name} {entry.stance_label.lower()} "
        f"the {entry.treaty}.",
    )


@router.post("/{reply_id:int}/delete", name="reply_delete")
def reply_delete(
    request: Request, session: SessionDep, user: WebCoordinator, reply_id: int
) -> Response:
    service.delete(session, reply_id=reply_id, actor=user)
    return redirect(request, "/replies", message="Reply deleted.")


# --- position register ----------------------------------------------------------------------


def _treaty_or_first(session: SessionDep, short_name: str) -> Any:
    treaties = treaties_service.list_treaties(session)
    if not treaties:
        raise InvalidInput("No treaty is loaded.")
    return next((t for t in treaties if t.short_name == short_name), treaties[0]), treaties


@positions_router.get("", name="positions_home")
def positions_home(
    request: Request, session: SessionDep, user: WebUser, treaty: str = "", stance: str = ""
) -> Response:
    chosen, treaties = _treaty_or_first(session, treaty)
    entries = positions.register(session, treaty_id=chosen.id)
    world = positions_map(entries, chosen.short_name)
    if stance in PositionStance.__members__:
        entries = [e for e in entries if e.stance.value == stance]
    ctx = {
        "treaty": chosen,
        "treaties": treaties,
        "entries": entries,
        "stance": stance,
        "world": world,
        "stance_options": [("", "Any position")]
        + [(s.value, label) for s, label in STANCE_LABELS.items()],
    }
    return render(request, "replies/positions.html", ctx, block="results")


def positions_map(entries: list[positions.EntryView], treaty: str) -> Any:
    from app.maps.service import LegendItem, world_map

    legend = [
        LegendItem(s.value, label, positions.STANCE_COLORS[s]) for s, label in STANCE_LABELS.items()
    ]
    return world_map(
        {e.iso2: e.stance.value for e in entries},
        legend,
        title=f"Positions on the {treaty}",
        details={e.iso2: f"since {e.stated_on.isoformat()}" for e in entries},
        link_pattern="/positions/{iso2}",
    )


def _country_page(
    request: Request,
    session: SessionDep,
    user: User,
    code: str,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    country = countries_service.get_by_code(session, code)
    treaties = treaties_service.list_treaties(session)
    entries = positions.history(session, country_id=country.id)
    by_treaty = [(t, [e for e in entries if e.treaty == t.short_name]) for t in treaties]
    ctx = {
        "country": country,
        "by_treaty": by_treaty,
        "can_edit": user.role.at_least(Role.coordinator),
        "errors": errors or {},
        "values": values or {"stated_on": date.today().isoformat(), "treaty": "CCM"},
        "treaty_options": [(t.short_name, t.short_name) for t in treaties],
        "stance_options": [(s.value, label) for s, label in STANCE_LABELS.items()],
    }
    return render(request, "replies/country.html", ctx, status_code=422 if errors else 200)


@positions_router.get("/{code}", name="positions_country")
def positions_country(request: Request, session: SessionDep, user: WebUser, code: str) -> Response:
    return _country_page(request, session, user, code[:3])


@positions_router.post("", name="register_entry_create")
def position_create(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep
) -> Response:
    code = str(form.get("country", ""))[:3]
    data, errors = validate(PositionCreate, form)
    if data is None:
        return _country_page(request, session, user, code, errors, dict(form))
    try:
        entry = positions.create(session, data=data, actor=user)
    except DomainError as exc:
        session.rollback()
        return _country_page(request, session, user, code, field_errors(exc), dict(form))
    return redirect(request, f"/positions/{entry.iso3}", message="Position recorded.")


@positions_router.get("/entries/{entry_id:int}/edit", name="position_edit")
def position_edit(
    request: Request, session: SessionDep, user: WebCoordinator, entry_id: int
) -> Response:
    entry = positions.get(session, entry_id)
    values = {
        "stance": entry.stance.value,
        "stated_on": entry.stated_on.isoformat(),
        "quote": entry.quote,
        "source": entry.source,
    }
    return _position_edit_page(request, entry, values)


def _position_edit_page(
    request: Request,
    entry: positions.EntryView,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    ctx = {
        "entry": entry,
        "values": values,
        "errors": errors or {},
        "stance_options": [(s.value, label) for s, label in STANCE_LABELS.items()],
    }
    return render(request, "replies/position_form.html", ctx, status_code=422 if errors else 200)


@positions_router.post("/entries/{entry_id:int}", name="position_update")
def position_update(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep, entry_id: int
) -> Response:
    entry = positions.get(session, entry_id)
    data, errors = validate(PositionUpdate, form)
    if data is None:
        return _position_edit_page(request, entry, dict(form), errors)
    try:
        positions.update(session, entry_id=entry_id, data=data, actor=user)
    except DomainError as exc:
        session.rollback()
        return _position_edit_page(request, entry, dict(form), field_errors(exc))
    return redirect(request, f"/positions/{entry.iso3}", message="Position saved.")


@positions_router.post("/entries/{entry_id:int}/delete", name="register_entry_delete")
def position_delete(
    request: Request, session: SessionDep, user: WebCoordinator, entry_id: int
) -> Response:
    entry = positions.delete(session, entry_id=entry_id, actor=user)
    return redirect(request, f"/positions/{entry.iso3}", message="Position entry removed.")


# --- reply tracker --------------------------------------------------------------------------


@tracker_router.get("/{campaign_id:int}/replies", name="campaign_replies")
def campaign_replies(
    request: Request,
    session: SessionDep,
    user: WebCoordinator,
    campaign_id: int,
    q: str = "",
    status: str = "",
    position: str = "",
    sort: str = "state",
    dir: str = "asc",
    map: str = "status",
) -> Response:
    board = tracker.build(session, campaign_id)
    rows = tracker.filter_rows(
        board.rows,
        q=q[:200],
        category=status if status in tracker.CATEGORIES else "",
        position=position[:20],
        sort=sort if sort in tracker.SORTS else "state",
        descending=dir == "desc",
    )
    mode = map if map in tracker.MAP_MODES else "status"
    if mode == "treaty" and board.campaign.treaty is None:
        mode = "status"
    ctx = {
        "campaign": board.campaign,
        "rows": rows,
        "counts": board.counts,
        "q": q,
        "status": status,
        "position": position,
        "sort": sort,
        "dir": dir,
        "mode": mode,
        "modes": tracker.MAP_MODES,
        "world": tracker.tracker_map(session, board, mode),
        "chart": tracker.chart_svg(tracker.replies_by_month(session, campaign_id)),
        "status_options": [("", "Any status")]
        + [(k, label) for k, (label, _) in tracker.CATEGORIES.items()],
        "position_options": [("", "Any position"), ("none", "Not known")]
        + [(s.value, label) for s, label in STANCE_LABELS.items()],
    }
    return render(request, "replies/tracker.html", ctx, block="results")


@tracker_router.get("/{campaign_id:int}/replies.csv", name="campaign_replies_csv")
def campaign_replies_csv(
    session: SessionDep,
    user: WebCoordinator,
    campaign_id: int,
    q: str = "",
    status: str = "",
    position: str = "",
) -> Response:
    board = tracker.build(session, campaign_id)
    rows = tracker.filter_rows(
        board.rows,
        q=q[:200],
        category=status if status in tracker.CATEGORIES else "",
        position=position[:20],
    )
    return Response(
        tracker.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="replies-campaign-{campaign_id}.csv"'
        },
    )


# --- dashboard ------------------------------------------------------------------------------


@register_panel
def overdue_panel(session: Any, user: User) -> dict[str, Any] | None:
    if not user.role.at_least(Role.coordinator):
        return None
    today = date.today()
    rows = service.overdue_letters(session, today=today)
    changes = positions.recent_changes(session)
    triage = service.triage_count(session)
    if not rows and not changes and not triage:
        return None
    return {
        "title": "Replies",
        "template": "replies/_panel.html",
        "overdue": [(letter, name, (today - letter.reply_due_on).days) for letter, name in rows],
        "changes": changes,
        "stance_labels": STANCE_LABELS,
        "triage": triage,
    }
