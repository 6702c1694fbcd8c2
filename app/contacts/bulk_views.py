"""Bulk actions from the directory: rows ticked (or every contact matching the filters), an
action, a confirmation page that says how many contacts it changes, then the result with Undo,
or the progress of a large action run by the worker. Works as plain forms; contacts-bulk.js
only ticks a page's rows at once and offers "all N that match".

Roles as editing contacts (any signed-in user); exporting needs a coordinator."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from app.auth.deps import WebUser
from app.contacts import bulk, bulk_tasks
from app.contacts.bulk import ACTION_LABELS, BulkRequest
from app.contacts.schemas import SearchFilters
from app.db import SessionDep
from app.errors import DomainError
from app.exports import service as exports_service
from app.exports import tasks as export_tasks
from app.exports.api import attachment
from app.models import ExportJob, Role, Segment, User
from app.platform.queueing import enqueue_after_commit
from app.web.forms import FormDep, field_errors, validate
from app.web.routing import web_router
from app.web.templating import redirect, render

# The service's field names that the form calls otherwise.
FORM_FIELDS = {"ids": "selected"}

router = web_router(prefix="/contacts/bulk")
FILTER_PREFIX = "f_"
FILTER_FIELDS = tuple(SearchFilters.model_fields)
EXPORT_FORMATS = [
    ("csv", "CSV"),
    ("xlsx", "Excel (XLSX)"),
    ("vcard", "vCard"),
    ("labels", "Address labels (PDF)"),
    ("envelopes", "Envelopes (PDF)"),
]


def action_options(user: User) -> list[tuple[str, str]]:
    """The actions this user may take (exporting is a coordinator's)."""
    return [
        (key, label)
        for key, label in ACTION_LABELS.items()
        if key != "export" or user.role.at_least(Role.coordinator)
    ]


def list_segments(session: SessionDep) -> list[tuple[str, str]]:
    """The list segments (those holding ids), the only ones contacts can be added to."""
    out = []
    for seg in session.scalars(select(Segment).order_by(Segment.name).limit(500)):
        filters = seg.filters or {}
        if filters.get("person_ids") or filters.get("organisation_ids"):
            out.append((str(seg.id), seg.name))
    return out


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _picked(form: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(person ids, organisation ids, unreadable values) from the ticked rows."""
    people: list[str] = []
    orgs: list[str] = []
    bad: list[str] = []
    for value in _as_list(form.get("selected")):
        kind, _, rid = value.partition(":")
        if not rid.isdigit() or kind not in ("person", "organisation"):
            bad.append(value)
        else:
            (people if kind == "person" else orgs).append(rid)
    return people, orgs, bad


def _filters_raw(form: dict[str, Any]) -> dict[str, str]:
    return {
        k: str(form[FILTER_PREFIX + k])
        for k in FILTER_FIELDS
        if form.get(FILTER_PREFIX + k) not in (None, "")
    }


# Actions whose options are asked on the page after the directory (segment, flags, format).
DETAILED = ("add_to_segment", "do_not_contact", "export")


def _detailed(form: dict[str, Any]) -> bool:
    """Did the form come from the page that asks an action's options?"""
    return form.get("details") == "1"


def _payload(form: dict[str, Any]) -> dict[str, Any]:
    """The form's fields in the shape of a BulkRequest."""
    data: dict[str, Any] = {
        "action": form.get("action", ""),
        "target": "all",
        "tag": form.get("tag", ""),
        "segment_id": form.get("segment_id") or None,
        "segment_name": form.get("segment_name", ""),
        # from the directory's bar (no details asked yet): both flags
        "no_email": form.get("no_email") == "on" or not _detailed(form),
        "no_post": form.get("no_post") == "on" or not _detailed(form),
        "format": form.get("format") or "csv",
    }
    if form.get("scope") == "all":
        data["filters"] = _filters_raw(form)
    else:
        people, orgs, _ = _picked(form)
        data["person_ids"], data["organisation_ids"] = people, orgs
    return data


def _schema_errors(errors: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, message in errors.items():
        if key.startswith("filters."):
            out.setdefault("__all__", f"filter {key.split('.', 1)[1]}: {message}")
        elif key in ("person_ids", "organisation_ids") or key.startswith(
            ("person_ids.", "organisation_ids.")
        ):
            out.setdefault("selected", message)
        elif key in ("", "__all__"):
            out.setdefault("__all__", message)
        else:
            out.setdefault(key.split(".")[0], message)
    return out


def _confirm_page(
    request: Request,
    session: SessionDep,
    user: User,
    form: dict[str, Any],
    *,
    selection: bulk.Selection | None = None,
    errors: dict[str, str] | None = None,
    editing: bool = False,
) -> Response:
    people, orgs, bad = _picked(form)
    if bad and not errors:
        errors = {"selected": "Some ticked rows could not be read; tick them again."}
    back = "/contacts"
    filters = _filters_raw(form)
    if filters:
        back += "?" + urlencode(filters)
    ctx = {
        "form": form,
        "errors": errors or {},
        "selection": selection,
        "action_label": ACTION_LABELS.get(str(form.get("action", "")), ""),
        "action_options": action_options(user),
        "segment_options": [("", "Choose a list segment"), *list_segments(session)],
        "format_options": EXPORT_FORMATS,
        "picked": [f"person:{i}" for i in people] + [f"organisation:{i}" for i in orgs],
        "filters": {FILTER_PREFIX + k: v for k, v in filters.items()},
        "scope": "all" if form.get("scope") == "all" else "selected",
        "background": selection is not None and selection.total > bulk.BACKGROUND_ROWS,
        "back": back,
        "threshold": bulk.BACKGROUND_ROWS,
        "editing": editing or bool(errors),
    }
    return render(request, "contacts/bulk_confirm.html", ctx, status_code=422 if errors else 200)


@router.post("", name="contacts_bulk")
def contacts_bulk(
    request: Request,
    session: SessionDep,
    user: WebUser,
    form: FormDep,
) -> Response:
    """First post: the confirmation page with the count. Confirmed: the action itself."""
    people, orgs, bad = _picked(form)
    if form.get("scope") != "all" and not (people or orgs or bad):
        message = "Select at least one contact: tick rows, or choose all that match."
        return _confirm_page(request, session, user, form, errors={"selected": message})
    req, schema_errors = validate(BulkRequest, _payload(form))
    if req is None and str(form.get("action", "")) in DETAILED and not _detailed(form):
        # the options are asked next, not wrong yet; the count is shown with them
        probe, _ = validate(
            BulkRequest, {**_payload(form), "segment_id": None, "segment_name": "-"}
        )
        selection = None
        if probe is not None:
            try:
                selection = bulk.select_contacts(session, probe)
            except DomainError:
                selection = None
        return _confirm_page(request, session, user, form, selection=selection, editing=True)
    if req is None:
        return _confirm_page(request, session, user, form, errors=_schema_errors(schema_errors))
    bulk.check_allowed(req, user)  # exporting without the role: 403, not a form message
    try:
        selection = bulk.select_contacts(session, req)
    except DomainError as exc:
        return _confirm_page(request, session, user, form, errors=field_errors(exc, FORM_FIELDS))
    if not selection.total:
        return _confirm_page(
            request, session, user, form, errors={"__all__": "No contact matches these filters."}
        )
    editing = req.action in DETAILED and not _detailed(form)
    if form.get("confirm") != "yes" or editing:
        return _confirm_page(request, session, user, form, selection=selection, editing=editing)
    if req.action == "export":
        return _export(request, session, user, req, selection)
    try:
        if selection.total > bulk.BACKGROUND_ROWS:
            result = bulk.queue(req, selection, user)
        else:
            result = bulk.apply(session, req=req, selection=selection, actor=user)
    except DomainError as exc:
        return _confirm_page(
            request,
            session,
            user,
            form,
            selection=selection,
            errors=field_errors(exc, FORM_FIELDS),
        )
    if result.job:
        enqueue_after_commit(session, bulk_tasks.run_bulk, result.job)
        return redirect(request, f"/contacts/bulk/jobs/{result.job}")
    return redirect(request, f"/contacts/bulk/{result.audit_id}", message=result.summary + ".")


def _export(
    request: Request,
    session: SessionDep,
    user: User,
    req: BulkRequest,
    selection: bulk.Selection,
) -> Response:
    """The selection handed to the exports module: a file now, or its background job."""
    export = bulk.export_request(req, selection)
    outcome = exports_service.start(session, req=export, user=user)
    if isinstance(outcome, ExportJob):
        enqueue_after_commit(session, export_tasks.run_export, outcome.id)
        return redirect(
            request,
            "/exports#jobs",
            message="The export runs in the background; its file appears below when ready.",
        )
    return StreamingResponse(
        outcome.body, media_type=outcome.content_type, headers=attachment(outcome.filename)
    )


@router.get("/{audit_id:int}", name="contacts_bulk_result")
def contacts_bulk_result(
    request: Request, session: SessionDep, user: WebUser, audit_id: int
) -> Response:
    entry = bulk.get_entry(session, audit_id)
    undo_entry = bulk.undone_by(session, audit_id)
    details = entry.details or {}
    ctx = {
        "entry": entry,
        "details": details,
        "action_label": ACTION_LABELS.get(str(details.get("action", "")), ""),
        "can_undo": bulk.can_undo(session, entry),
        "undo_entry": undo_entry,
        "changed": len(details.get("person_ids") or [])
        + len(details.get("organisation_ids") or []),
    }
    return render(request, "contacts/bulk_result.html", ctx)


@router.post("/{audit_id:int}/undo", name="contacts_bulk_undo")
def contacts_bulk_undo(
    request: Request, session: SessionDep, user: WebUser, audit_id: int
) -> Response:
    result = bulk.undo(session, audit_id=audit_id, actor=user)
    return redirect(request, f"/contacts/bulk/{audit_id}", message=result.summary + ".")


@router.get("/jobs/{token}", name="contacts_bulk_job")
def contacts_bulk_job(request: Request, user: WebUser, token: str) -> Response:
    record = bulk.job_for(token, user)
    job = record["job"]
    result = record.get("result") or {}
    total = max(1, int(job.get("total") or 0))
    ctx = {
        "token": token,
        "job": job,
        "result": result,
        "label": ACTION_LABELS.get(record["request"].get("action", ""), ""),
        "percent": min(100, round(100 * int(job.get("done") or 0) / total)),
    }
    return render(request, "contacts/bulk_job.html", ctx, block="progress")
