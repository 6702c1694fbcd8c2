"""Replies web UI: log a reply, import email, triage, attachments, a reply's page.

The form's fields (the sender search, reading a pasted text or a scan into the form) are in
``reply_form``; the position register and each campaign's reply tracker have their own pages
(``positions_views``, ``tracker_views``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy import select
from starlette.datastructures import UploadFile

from app.auth.deps import WebCoordinator, WebUser
from app.countries import service as countries_service
from app.db import SessionDep
from app.errors import DomainError, NotFound
from app.mail import inbound
from app.models import Letter, ReplyAttachment, ReplyKind, ReplyStatus, Role, User
from app.replies import intake, listing, matching, positions, scans, service, stance, timeline
from app.replies.reply_form import (
    CHANNEL_LABELS,
    KIND_LABELS,
    LANGUAGE_OPTIONS,
    OCR_LANGUAGE_OPTIONS,
    REPLY_SENDERS,
    AnalyseBody,
    SenderKind,
    as_list,
    form_page,
    letter_suggestions,
    read_into_form,
    reply_payload,
    resolve_senders,
    run_analysis,
    scan_block,
    scan_heading,
    selected_letters,
    sender_hits,
    treaty_names,
)
from app.replies.schemas import (
    STANCE_LABELS,
    ContactFromSender,
    DismissIn,
    LinkLetters,
    PositionIn,
    ReplyCreate,
    ReplyUpdate,
)
from app.web.errors import problem
from app.web.forms import FormDep, field_errors, validate
from app.web.pagination import Page, page_query
from app.web.routing import web_router
from app.web.templating import redirect, render

router = web_router(prefix="/replies")

PER_PAGE = 25

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


@router.get("/senders", name="reply_senders")
def reply_senders(
    session: SessionDep,
    user: WebUser,
    kind: SenderKind = "organisation",
    q: str = Query(default="", max_length=200),
) -> JSONResponse:
    """People or organisations whose name matches ``q``, for the sender fields' list."""
    return JSONResponse({"items": sender_hits(session, kind, q)})


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
        data["scan"] = {"heading": scan_heading(given), "text": result.scan_text}
    return JSONResponse(data)


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
    rows, total = listing.list_replies(
        session, search=q[:200], status=chosen, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    can_link = user.role.at_least(Role.coordinator)
    ctx = {
        "replies": rows,
        "q": q,
        "status": status,
        "page": Page(page=page, per_page=PER_PAGE, total=total),
        "page_query": page_query({"q": q, "status": status}),
        "triage_count": listing.triage_count(session),
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
        values.update(listing.prefill_for_letter(session, letter_id))
    return form_page(request, session, values)


@router.get("/suggest", name="reply_suggest")
def reply_suggest(request: Request, session: SessionDep, user: WebUser) -> Response:
    values: dict[str, Any] = {}
    for key in request.query_params:
        items = request.query_params.getlist(key)
        values[key] = items if len(items) > 1 else items[0]
    resolve_senders(session, values, REPLY_SENDERS)
    suggestions = letter_suggestions(session, values)
    ctx = {
        "suggestions": suggestions,
        "tie_note": matching.tie_note(suggestions),
        "selected": selected_letters(values, suggestions),
    }
    return render(request, "replies/_suggestions.html", ctx)


@router.post("", name="reply_create")
def reply_create(request: Request, session: SessionDep, user: WebUser, form: FormDep) -> Response:
    uploads = [f for f in as_list(form.pop("attachments", None)) if isinstance(f, UploadFile)]
    values = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
    # browsers send a textarea's lines ended by CRLF
    values["full_text"] = str(values.get("full_text") or "").replace("\r\n", "\n")
    if values.pop("read", None):
        notice, errors = read_into_form(session, values, uploads)
        return form_page(request, session, values, errors, notice=notice)
    errors = resolve_senders(session, values, REPLY_SENDERS)
    if errors:
        return form_page(request, session, values, errors)
    try:
        payload = reply_payload(session, values)
    except DomainError as exc:
        return form_page(request, session, values, field_errors(exc))
    data, errors = validate(ReplyCreate, payload)
    if data is None:
        return form_page(request, session, values, errors)
    # letters ticked among the suggestions keep the matcher's reasons, as worked out again here
    chosen = [s for s in letter_suggestions(session, values) if s.letter_id in data.letter_ids]
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
                attachment.ocr_text = scan_block(data.full_text, attachment.filename)
    except DomainError as exc:
        session.rollback()
        return form_page(request, session, values, field_errors(exc) or {"__all__": exc.detail})
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
        reply, created = intake.ingest_email(
            session, raw=upload.file.read(inbound.MAX_EML_BYTES + 1), actor=user
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
        scans.request(
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
    rv = listing.view(session, reply_id)
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
        "treaty_options": [(t, t) for t in treaty_names(session)],
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
    uploads = [f for f in as_list(form.get("attachments")) if isinstance(f, UploadFile)]
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
    payload = {"letter_ids": as_list(form.get("letter_ids")) + refs}
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
    errors = resolve_senders(session, values, {"organisation": "organisation_id"})
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
