"""Correspondence web UI: the letters waiting at each stage, one letter with its actions, and
the actions panel (``correspondence/_actions.html``) other letter pages can include."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import FileResponse, Response

from app.auth.deps import WebCoordinator, WebUser
from app.config import get_settings
from app.correspondence import followup, lifecycle, queues, sending, service, tasks
from app.correspondence.message import html_to_text, rendered_body
from app.correspondence.schemas import (
    LetterClose,
    LetterSend,
    LetterText,
    MarkPosted,
    SendApproved,
)
from app.db import SessionDep
from app.errors import DomainError, NotFound
from app.letters.fields import empty_marks
from app.mail import bounces
from app.models import Channel, Role
from app.platform.queueing import enqueue_after_commit
from app.web.forms import FormDep, field_errors, validate
from app.web.pagination import Page
from app.web.routing import web_router
from app.web.templating import flash, redirect, render, templates

router = web_router(prefix="/correspondence")
PER_PAGE = 25
STAGES = [
    ("approval", "Awaiting approval"),
    ("ready", "Ready to send"),
    ("sending", "Sending"),
    ("failed", "Failed or bounced"),
    ("overdue", "Overdue replies"),
]
CHANNEL_OPTIONS = [(c.value, sending.CHANNEL_LABELS[c].capitalize()) for c in Channel]

templates.env.globals["letter_status"] = service.display_status
templates.env.globals["letter_channels"] = CHANNEL_OPTIONS
templates.env.globals["letter_today"] = date.today
templates.env.globals["letter_empty_fields"] = lambda letter: empty_marks(
    letter.subject, letter.body_html
)


def _next(form: dict[str, Any], default: str) -> str:
    """Back to the page the action came from (a local path only)."""
    target = str(form.get("next") or "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _letter_url(letter_id: int) -> str:
    return f"/correspondence/letters/{letter_id}"


def _failed(request: Request, url: str, exc: DomainError | str) -> Response:
    flash(request, exc.detail if isinstance(exc, DomainError) else exc, "error")
    return redirect(request, url)


def _form_errors(errors: dict[str, str]) -> str:
    return "; ".join(f"{k}: {v}" if k != "__all__" else v for k, v in errors.items())


@router.get("", name="correspondence_home")
def correspondence_home(
    request: Request,
    session: SessionDep,
    user: WebUser,
    stage: str = "approval",
    q: str = "",
    campaign_id: str = "",
    page: int = 1,
) -> Response:
    stage = stage if stage in dict(STAGES) else "approval"
    page = max(1, min(page, 100_000))
    campaign = int(campaign_id) if campaign_id.isdigit() and len(campaign_id) < 12 else None
    letters, total = queues.list_queue(
        session,
        stage=stage,
        campaign_id=campaign,
        q=q[:200],
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
    )
    campaigns = queues.campaign_choices(session)
    batches = queues.recent_batches(session)
    ctx = {
        "stage": stage,
        "stages": STAGES,
        "counts": queues.stage_counts(session),
        "letters": [queues.row(letter) for letter in letters],
        "q": q,
        "campaign_id": campaign_id,
        "campaign_options": [("", "All campaigns")] + [(str(cid), name) for cid, name in campaigns],
        "send_campaign_options": [(str(cid), name) for cid, name in campaigns],
        "batches": batches,
        "page": Page(page=page, per_page=PER_PAGE, total=total),
        "page_query": urlencode({"stage": stage, "q": q, "campaign_id": campaign_id}),
        "is_coordinator": user.role.at_least(Role.coordinator),
        "today": date.today(),
    }
    return render(request, "correspondence/index.html", ctx, block="results")


@router.get("/letters/{letter_id:int}", name="correspondence_letter")
def letter_page(request: Request, session: SessionDep, user: WebUser, letter_id: int) -> Response:
    return _letter_page(request, session, letter_id)


def _letter_page(
    request: Request,
    session: SessionDep,
    letter_id: int,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    letter = service.get(session, letter_id)
    try:
        text = html_to_text(rendered_body(letter))
        render_problem = ""
    except DomainError as exc:
        text, render_problem = letter.body_html, exc.detail
    outbox = sending.outbox_status(session, letter)
    original = service.get(session, letter.follow_up_of_id) if letter.follow_up_of_id else None
    ctx = {
        "letter": letter,
        "row": queues.row(letter),
        "text": text,
        "render_problem": render_problem,
        "outbox": outbox,
        "original": original,
        "editable": lifecycle.can_edit(letter, request.state.user.role),
        "values": values
        or {"subject": letter.subject, "body_html": letter.body_html, "version": letter.version},
        "errors": errors or {},
    }
    return render(request, "correspondence/letter.html", ctx, status_code=status_code)


def _act(
    request: Request, form: dict[str, Any], letter_id: int, action: Any, done: str
) -> Response:
    back = _next(form, _letter_url(letter_id))
    try:
        action()
    except DomainError as exc:
        return _failed(request, back, exc)
    return redirect(request, back, message=done)


def _version(form: dict[str, Any]) -> int | None:
    value = str(form.get("version") or "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@router.post("/letters/{letter_id:int}/edit", name="correspondence_edit")
def edit(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, letter_id: int
) -> Response:
    data, errors = validate(LetterText, form)
    if data is not None:
        try:
            lifecycle.edit_text(
                session,
                letter_id=letter_id,
                subject=data.subject,
                body_html=data.body_html,
                actor=user,
                version=data.version,
            )
        except DomainError as exc:
            session.rollback()
            errors = field_errors(exc)
        else:
            return redirect(request, _letter_url(letter_id), message="Letter text saved.")
    return _letter_page(
        request, session, letter_id, values=dict(form), errors=errors, status_code=422
    )


@router.post("/letters/{letter_id:int}/resolve-delivery", name="correspondence_resolve")
def resolve_delivery(
    request: Request,
    session: SessionDep,
    user: WebCoordinator,
    form: FormDep,
    letter_id: int,
) -> Response:
    delivered = form.get("delivered") == "true"

    def action() -> None:
        sending.resolve_uncertain(session, letter_id=letter_id, delivered=delivered, actor=user)

    response = _act(
        request,
        form,
        letter_id,
        action,
        "Marked as delivered." if delivered else "The email will be sent again.",
    )
    if not delivered and response.status_code in {204, 303}:
        enqueue_after_commit(session, tasks.send_letter, letter_id)
    return response


@router.post("/letters/{letter_id:int}/approve", name="correspondence_approve")
def approve(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep, letter_id: int
) -> Response:
    def action() -> None:
        lifecycle.approve(session, letter_id=letter_id, actor=user, version=_version(form))

    return _act(request, form, letter_id, action, "Letter approved.")


@router.post("/letters/{letter_id:int}/withdraw-approval", name="correspondence_withdraw")
def withdraw(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep, letter_id: int
) -> Response:
    def action() -> None:
        lifecycle.withdraw_approval(
            session, letter_id=letter_id, actor=user, version=_version(form)
        )

    return _act(request, form, letter_id, action, "Approval withdrawn; the letter is a draft.")


@router.post("/letters/{letter_id:int}/send", name="correspondence_send")
def send(
    request: Request,
    session: SessionDep,
    user: WebUser,
    form: FormDep,
    letter_id: int,
) -> Response:
    back = _next(form, _letter_url(letter_id))
    data, errors = validate(LetterSend, {k: v for k, v in form.items() if k != "next"})
    if data is None:
        return _failed(request, back, _form_errors(errors))
    try:
        outcome = sending.send(
            session,
            letter_id=letter_id,
            channel=data.channel,
            actor=user,
            on=data.date,
            note=data.note,
            version=data.version,
        )
    except DomainError as exc:
        return _failed(request, back, exc)
    if outcome.queued_email:
        enqueue_after_commit(session, tasks.send_letter, letter_id)
        message = f"Sending by email to {outcome.letter.email_to}."
        for address, note in bounces.failing_addresses(session, [outcome.letter.email_to]).items():
            flash(request, f"Mail to {address} has bounced before: {note}.", "warning")
    else:
        message = f"Recorded as sent by {sending.CHANNEL_LABELS[data.channel]}."
    return redirect(request, back, message=message)


@router.post("/letters/{letter_id:int}/close", name="correspondence_close")
def close(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, letter_id: int
) -> Response:
    data, errors = validate(LetterClose, {k: v for k, v in form.items() if k != "next"})
    if data is None:
        return _failed(request, _next(form, _letter_url(letter_id)), _form_errors(errors))

    def action() -> None:
        lifecycle.close(
            session, letter_id=letter_id, actor=user, note=data.note, version=data.version
        )

    return _act(request, form, letter_id, action, "Letter closed.")


@router.post("/letters/{letter_id:int}/follow-up", name="correspondence_follow_up")
def follow_up(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, letter_id: int
) -> Response:
    try:
        letter = followup.follow_up(session, letter_id=letter_id, actor=user)
    except DomainError as exc:
        return _failed(request, _next(form, _letter_url(letter_id)), exc)
    return redirect(
        request,
        _letter_url(letter.id),
        message=f"Follow-up {letter.reference} drafted; it needs approval before it is sent.",
    )


@router.post("/send-approved", name="correspondence_send_approved")
def send_approved(
    request: Request,
    session: SessionDep,
    user: WebUser,
    form: FormDep,
) -> Response:
    back = _next(form, "/correspondence?stage=sending")
    data, errors = validate(SendApproved, {k: v for k, v in form.items() if k != "next"})
    if data is None:
        return _failed(request, back, _form_errors(errors))
    try:
        outcome = sending.send_approved(
            session, actor=user, batch_id=data.batch_id, campaign_id=data.campaign_id
        )
    except DomainError as exc:
        return _failed(request, back, exc)
    if outcome.queued:
        enqueue_after_commit(session, tasks.send_letters, outcome.queued)
    if outcome.queued:
        failing = bounces.failing_for_letters(session, outcome.queued)
        for address, note in list(failing.items())[:5]:
            flash(request, f"Mail to {address} has bounced before: {note}.", "warning")
    for skipped in outcome.skipped[:5]:
        flash(request, f"{skipped['reference']} not sent: {skipped['reason']}", "warning")
    if len(outcome.skipped) > 5:
        flash(request, f"… and {len(outcome.skipped) - 5} more not sent.", "warning")
    return redirect(
        request, back, message=f"{len(outcome.queued)} letter(s) are being sent by email."
    )


@router.post("/mark-posted", name="correspondence_mark_posted")
def mark_posted(request: Request, session: SessionDep, user: WebUser, form: FormDep) -> Response:
    back = _next(form, "/correspondence?stage=overdue")
    data, errors = validate(MarkPosted, {k: v for k, v in form.items() if k != "next"})
    if data is None:
        return _failed(request, back, _form_errors(errors))
    try:
        outcome = sending.mark_batch_posted(
            session, batch_id=data.batch_id, on=data.date, note=data.note, actor=user
        )
    except DomainError as exc:
        return _failed(request, back, exc)
    return redirect(request, back, message=f"{len(outcome.queued)} letter(s) marked as posted.")


@router.get("/batches/{batch_id:int}/print-pack.pdf", name="correspondence_print_pack")
def print_pack(session: SessionDep, user: WebUser, batch_id: int) -> Response:
    """The merge batch's combined PDF, to print and post."""
    batch = queues.get_batch(session, batch_id)
    path = Path(batch.combined_pdf_path) if batch.combined_pdf_path else None
    if path is not None and not path.is_absolute():
        path = get_settings().files_dir / path
    if path is None or not path.is_file():
        raise NotFound(f"Batch {batch_id} has no combined PDF yet; render the batch first.")
    return FileResponse(path, media_type="application/pdf", filename=f"batch-{batch_id}.pdf")
