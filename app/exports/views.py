"""Exports web UI: choose the source, format, columns and options; see who is left out; download
now, or follow a background export until its file is ready."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from app.auth.deps import WebCoordinator
from app.db import SessionDep
from app.errors import DomainError
from app.exports import jobs as export_jobs
from app.exports import service, tasks
from app.exports.api import attachment
from app.exports.schemas import (
    COLUMNS,
    DEFAULT_COLUMNS,
    PRESET_GRIDS,
    ExportRequest,
    LabelGrid,
)
from app.models import ExportJob, ExportStatus, OrganisationType
from app.platform.queueing import enqueue_after_commit
from app.web.forms import FormDep, field_errors, validate
from app.web.pagination import Page
from app.web.routing import web_router
from app.web.templating import redirect, render

# The service's field names that the form calls otherwise.
FORM_FIELDS = {"country": "f_country"}

router = web_router(prefix="/exports")
SLOTS = 16
JOBS_PER_PAGE = 10
FILTER_FIELDS = ("q", "kind", "organisation_type", "country", "region", "sub_region", "tag")
GRID_FIELDS = tuple(LabelGrid.model_fields)
BOOLEANS = ("excel", "include_do_not_contact", "merge_same_address", "background")


def _payload(form: dict[str, Any]) -> dict[str, Any]:
    """Flat form fields to the ExportRequest shape."""
    data: dict[str, Any] = {
        "source": form.get("source", "search"),
        "segment_id": form.get("segment_id", ""),
        "campaign_id": form.get("campaign_id", ""),
        "batch_id": form.get("batch_id", ""),
        "campaign_scope": form.get("campaign_scope", "offices"),
        "format": form.get("format", "csv"),
        "delimiter": {"comma": ",", "semicolon": ";", "tab": "\t"}.get(
            str(form.get("delimiter", "comma")), ","
        ),
        "label_preset": form.get("label_preset", "L7160"),
        "envelope": form.get("envelope", "DL"),
    }
    filters = {k: form.get(f"f_{k}", "") for k in FILTER_FIELDS if form.get(f"f_{k}", "")}
    data["filters"] = filters
    columns = [str(form[f"column_{i}"]) for i in range(1, SLOTS + 1) if form.get(f"column_{i}")]
    if columns:
        data["columns"] = columns
    for name in BOOLEANS:
        data[name] = form.get(name) == "on"
    if not data["background"]:
        data["background"] = None  # by size
    if data["label_preset"] == "custom":
        data["grid"] = {k: form.get(f"grid_{k}") for k in GRID_FIELDS if form.get(f"grid_{k}")}
    return data


def _defaults(query: dict[str, str]) -> dict[str, Any]:
    """The form's first values; a directory search can link here with its filters."""
    values: dict[str, Any] = {
        "source": "search",
        "format": "csv",
        "campaign_scope": "offices",
        "label_preset": "L7160",
        "envelope": "DL",
        "delimiter": "comma",
    }
    for i, c in enumerate(DEFAULT_COLUMNS, start=1):
        values[f"column_{i}"] = c
    for k in FILTER_FIELDS:
        if query.get(k):
            values[f"f_{k}"] = query[k][:200]
    for k in ("source", "segment_id", "campaign_id", "batch_id", "format"):
        if query.get(k):
            values[k] = query[k][:40]
    grid = PRESET_GRIDS["L7160"]
    for k in GRID_FIELDS:
        values[f"grid_{k}"] = getattr(grid, k)
    return values


def _page(
    request: Request,
    session: SessionDep,
    user: WebCoordinator,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    preview: Any = None,
    jobs_page: int = 1,
) -> Response:
    jobs, total = export_jobs.list_jobs(
        session, user=user, limit=JOBS_PER_PAGE, offset=(jobs_page - 1) * JOBS_PER_PAGE
    )
    ctx = {
        "values": values,
        "errors": errors or {},
        "preview": preview,
        "slots": range(1, SLOTS + 1),
        "column_options": [("", "—")] + list(COLUMNS.items()),
        "segment_options": [("", "Choose a segment")]
        + [(str(i), n) for i, n in service.list_segments(session)],
        "campaign_options": [("", "Choose a campaign")]
        + [(str(i), n) for i, n in service.list_campaigns(session)],
        "batch_options": [("", "Choose a mail merge")]
        + [(str(i), n) for i, n in service.list_postal_batches(session)],
        "type_options": [("", "Any type")] + [(t.value, t.label) for t in OrganisationType],
        "kind_options": [
            ("", "People and organisations"),
            ("person", "People"),
            ("organisation", "Organisations"),
        ],
        "jobs": jobs,
        "jobs_active": any(j.status in (ExportStatus.queued, ExportStatus.running) for j in jobs),
        "page": Page(page=jobs_page, per_page=JOBS_PER_PAGE, total=total),
        "page_query": "",
    }
    return render(request, "exports/index.html", ctx, status_code=422 if errors else 200)


@router.get("", name="exports_home")
def exports_home(
    request: Request, session: SessionDep, user: WebCoordinator, page: int = 1
) -> Response:
    values = _defaults(dict(request.query_params))
    return _page(request, session, user, values, jobs_page=max(1, min(page, 10_000)))


def _form_errors(errors: dict[str, str]) -> dict[str, str]:
    """Schema field paths to form field names."""
    out: dict[str, str] = {}
    for key, message in errors.items():
        if key.startswith("filters."):
            out[f"f_{key.split('.')[1]}"] = message
        elif key.startswith("grid."):
            out[f"grid_{key.split('.')[1]}"] = message
        elif key.startswith("columns"):
            out["columns"] = message
        elif (
            key in ("", "__all__")
            or "." not in key
            and key not in ("segment_id", "campaign_id", "batch_id", "format", "source")
        ):
            out["__all__"] = message
        else:
            out[key] = message
    return out


@router.post("/preview", name="exports_preview")
def exports_preview(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep
) -> Response:
    values = {**_defaults({}), **form}
    req, errors = validate(ExportRequest, _payload(form))
    if req is None:
        return _page(request, session, user, values, errors=_form_errors(errors))
    try:
        result = service.preview(session, req=req)
    except DomainError as exc:
        return _page(request, session, user, values, errors=field_errors(exc, FORM_FIELDS))
    return _page(request, session, user, values, preview=result)


@router.post("/download", name="exports_download")
def exports_download(
    request: Request,
    session: SessionDep,
    user: WebCoordinator,
    form: FormDep,
) -> Response:
    values = {**_defaults({}), **form}
    req, errors = validate(ExportRequest, _payload(form))
    if req is None:
        return _page(request, session, user, values, errors=_form_errors(errors))
    try:
        result = service.start(session, req=req, user=user)
    except DomainError as exc:
        return _page(request, session, user, values, errors=field_errors(exc, FORM_FIELDS))
    if isinstance(result, ExportJob):
        enqueue_after_commit(session, tasks.run_export, result.id)
        return redirect(
            request,
            str(request.url_for("exports_home")) + "#jobs",
            message="The export runs in the background; its file appears below when ready.",
        )
    return StreamingResponse(
        result.body, media_type=result.content_type, headers=attachment(result.filename)
    )


@router.get("/jobs", name="exports_jobs")
def exports_jobs(
    request: Request, session: SessionDep, user: WebCoordinator, page: int = 1
) -> Response:
    """The jobs list alone (htmx polls it while a job runs)."""
    jobs, total = export_jobs.list_jobs(
        session, user=user, limit=JOBS_PER_PAGE, offset=(max(1, page) - 1) * JOBS_PER_PAGE
    )
    ctx = {
        "jobs": jobs,
        "jobs_active": any(j.status in (ExportStatus.queued, ExportStatus.running) for j in jobs),
        "page": Page(page=max(1, page), per_page=JOBS_PER_PAGE, total=total),
        "page_query": "",
    }
    return render(request, "exports/_jobs.html", ctx)


@router.get("/jobs/{job_id:int}/download", name="exports_job_download")
def exports_job_download(job_id: int, session: SessionDep, user: WebCoordinator) -> Response:
    job = export_jobs.get_job(session, job_id=job_id, user=user)
    return FileResponse(
        export_jobs.job_file(job), media_type=job.content_type, headers=attachment(job.filename)
    )


@router.post("/jobs/{job_id:int}/delete", name="exports_job_delete")
def exports_job_delete(
    request: Request, session: SessionDep, user: WebCoordinator, job_id: int
) -> Response:
    export_jobs.delete_job(session, job_id=job_id, user=user)
    return redirect(request, str(request.url_for("exports_home")) + "#jobs", message="Deleted.")
