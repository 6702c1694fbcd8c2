"""Replies web UI: log a reply (with live suggestions), import email, triage, attachments,
the position register and each campaign's reply tracker."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, Response
from starlette.datastructures import UploadFile

from app.auth.deps import WebCoordinator, WebUser
from app.countries import service as countries_service
from app.dashboard.service import register_panel
from app.db import SessionDep
from app.errors import DomainError, InvalidInput
from app.models import Channel, PositionStance, ReplyStatus, Role, User
from app.replies import positions, service, tracker
from app.replies.schemas import (
    STANCE_LABELS,
    ContactFromSender,
    DismissIn,
    LinkLetters,
    PositionCreate,
    PositionUpdate,
    ReplyCreate,
    ReplyUpdate,
)
from app.treaties import service as treaties_service
from app.web.forms import FormDep, validate
from app.web.pagination import Page, page_query
from app.web.routing import web_router
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


def _error(exc: DomainError) -> dict[str, str]:
    field = exc.errors[0].get("field", "__all__") if exc.errors else "__all__"
    return {str(field): exc.detail}


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
    data["positions"] = [
        {"treaty": t, "stance": form[f"stance_{t}"], "quote": form.get(f"quote_{t}", "")}
        for t in _treaties(session)
        if form.get(f"stance_{t}")
    ]
    return data


def _form_page(
    request: Request,
    session: SessionDep,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    ctx = {
        "values": values,
        "errors": errors or {},
        "channel_options": [(c.value, label) for c, label in CHANNEL_LABELS.items()],
        "organisation_options": [("", "— not in the directory —")]
        + [(str(i), n) for i, n in service.organisation_choices(session)],
        "person_options": [("", "— nobody in particular —")]
        + [(str(i), n) for i, n in service.person_choices(session)],
        "country_options": [("", "— the sender's state —")] + countries_service.choices(session),
        "treaties": _treaties(session),
        "stance_options": [("", "— not stated —")]
        + [(s.value, label) for s, label in STANCE_LABELS.items()],
        "suggestions": _suggestions(session, values),
        "selected": {str(i) for i in _as_list(values.get("letter_ids"))},
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


def _suggestions(session: SessionDep, values: dict[str, Any]) -> list[Any]:
    cited = None
    try:
        cited = date.fromisoformat(str(values.get("cited_letter_date") or ""))
    except ValueError:
        cited = None
    return service.suggest(
        session,
        subject=str(values.get("subject", ""))[:500],
        text=str(values.get("full_text", ""))[:200_000]
        + "\n"
        + str(values.get("summary", ""))[:20_000]
        + "\n"
        + str(values.get("letter_refs", ""))[:2000],
        sender_person_id=_int(values.get("sender_person_id")),
        sender_organisation_id=_int(values.get("sender_organisation_id")),
        country=str(values.get("country") or "")[:3] or None,
        cited_letter_date=cited,
    )


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
    ctx = {
        "replies": rows,
        "q": q,
        "status": status,
        "page": Page(page=page, per_page=PER_PAGE, total=total),
        "page_query": page_query({"q": q, "status": status}),
        "triage_count": service.triage_count(session),
        "status_options": [("", "Any status")] + [(s.value, s.value.title()) for s in ReplyStatus],
    }
    return render(request, "replies/index.html", ctx, block="results")


@router.get("/new", name="reply_new")
def reply_new(
    request: Request, session: SessionDep, user: WebUser, letter_id: int | None = None
) -> Response:
    values: dict[str, Any] = {"received_on": date.today().isoformat(), "channel": "post"}
    if letter_id is not None:
        values.update(service.prefill_for_letter(session, letter_id))
    return _form_page(request, session, values)


@router.get("/suggest", name="reply_suggest")
def reply_suggest(request: Request, session: SessionDep, user: WebUser) -> Response:
    values: dict[str, Any] = {}
    for key in request.query_params:
        items = request.query_params.getlist(key)
        values[key] = items if len(items) > 1 else items[0]
    ctx = {
        "suggestions": _suggestions(session, values),
        "selected": {str(i) for i in _as_list(values.get("letter_ids"))},
    }
    return render(request, "replies/_suggestions.html", ctx)


@router.post("", name="reply_create")
def reply_create(request: Request, session: SessionDep, user: WebUser, form: FormDep) -> Response:
    uploads = [f for f in _as_list(form.pop("attachments", None)) if isinstance(f, UploadFile)]
    values = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
    try:
        payload = _reply_payload(session, values)
    except DomainError as exc:
        return _form_page(request, session, values, _error(exc))
    data, errors = validate(ReplyCreate, payload)
    if data is None:
        return _form_page(request, session, values, errors)
    try:
        reply = service.create(session, data=data, actor=user)
        for upload in uploads:
            if upload.filename:
                content = upload.file.read(service.MAX_ATTACHMENT_BYTES + 1)
                service.add_attachment(
                    session,
                    reply_id=reply.id,
                    filename=upload.filename,
                    content=content,
                    actor=user,
                )
    except DomainError as exc:
        session.rollback()
        return _form_page(request, session, values, _error(exc) or {"__all__": exc.detail})
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


def _detail(
    request: Request,
    session: SessionDep,
    user: User,
    reply_id: int,
    errors: dict[str, str] | None = None,
) -> Response:
    rv = service.view(session, reply_id)
    suggestions = []
    if rv.reply.status is ReplyStatus.triage:
        suggestions = service.suggest_for_reply(session, rv.reply)
    ctx = {
        "rv": rv,
        "reply": rv.reply,
        "can_triage": user.role.at_least(Role.coordinator),
        "suggestions": suggestions,
        "selected": set(),
        "errors": errors or {},
        "organisation_options": [("", "— none —")]
        + [(str(i), n) for i, n in service.organisation_choices(session)],
        "country_options": [("", "— unknown —")] + countries_service.choices(session),
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
    }
    return render(request, "replies/edit.html", ctx, status_code=422 if errors else 200)


@router.get("/{reply_id:int}/edit", name="reply_edit")
def reply_edit(request: Request, session: SessionDep, user: WebUser, reply_id: int) -> Response:
    reply = service.get(session, reply_id)
    values = {
        "received_on": reply.received_on.isoformat(),
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
        return _edit_page(request, reply_id, dict(form), _error(exc))
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
        service.link_letters(session, reply_id=reply_id, letter_ids=data.letter_ids, actor=user)
    except DomainError as exc:
        session.rollback()
        return _detail(request, session, user, reply_id, {"link": exc.detail})
    return redirect(request, f"/replies/{reply_id}", message="Linked; the reply is logged.")


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
    data, errors = validate(ContactFromSender, form)
    if data is None:
        return _detail(request, session, user, reply_id, {"contact": next(iter(errors.values()))})
    try:
        service.create_contact_from_sender(session, reply_id=reply_id, data=data, actor=user)
    except DomainError as exc:
        session.rollback()
        return _detail(request, session, user, reply_id, {"contact": exc.detail})
    return redirect(request, f"/replies/{reply_id}", message="Contact created.")


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
        return _country_page(request, session, user, code, _error(exc), dict(form))
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
        return _position_edit_page(request, entry, dict(form), _error(exc))
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
