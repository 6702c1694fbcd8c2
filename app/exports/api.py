"""Exports JSON API: preview, export (streamed file or background job), jobs and downloads."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from app.auth.deps import ApiCoordinator
from app.db import SessionDep
from app.exports import jobs as export_jobs
from app.exports import service, tasks
from app.exports.formats import CONTENT_TYPES
from app.exports.schemas import ExportJobRead, ExportPreview, ExportRequest
from app.models import ExportJob
from app.platform.queueing import enqueue_after_commit
from app.web.pagination import Paging
from app.web.routing import api_router

router = api_router(prefix="/exports", tags=["exports"])

FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The export, as an attachment",
        "content": {
            ctype.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
            for ctype in CONTENT_TYPES.values()
        },
    },
    202: {"description": "Queued as a background job", "model": ExportJobRead},
}


def attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def read_job(request: Request, job: ExportJob) -> ExportJobRead:
    url = (
        str(request.url_for("api_export_job_download", job_id=job.id))
        if job.status == "done"
        else None
    )
    return ExportJobRead(
        id=job.id,
        status=job.status,
        format=job.format,
        source=job.source_label,
        total=job.total,
        processed=job.processed,
        exported=job.exported,
        percent=job.percent,
        excluded=job.excluded or {},
        filename=job.filename,
        size=job.size,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
        download_url=url,
    )


@router.post("/preview", response_model=ExportPreview, summary="Who an export takes and leaves out")
def preview_export(
    body: ExportRequest, session: SessionDep, _user: ApiCoordinator
) -> ExportPreview:
    return service.preview(session, req=body)


@router.post(
    "",
    summary="Export contacts",
    description="CSV and vCard stream; XLSX, labels and envelopes are made at once when small, "
    "or queued as a background job (202) when large or when `background` is true.",
    response_class=Response,
    responses=FILE_RESPONSES,
)
def export(
    body: ExportRequest,
    request: Request,
    session: SessionDep,
    user: ApiCoordinator,
) -> Response:
    result = service.start(session, req=body, user=user)
    if isinstance(result, ExportJob):
        enqueue_after_commit(session, tasks.run_export, result.id)
        return JSONResponse(read_job(request, result).model_dump(mode="json"), status_code=202)
    return StreamingResponse(
        result.body, media_type=result.content_type, headers=attachment(result.filename)
    )


@router.get("/jobs", summary="Your background exports")
def list_jobs(
    request: Request, session: SessionDep, user: ApiCoordinator, paging: Paging
) -> dict[str, Any]:
    rows, total = export_jobs.list_jobs(
        session, user=user, limit=paging.per_page, offset=paging.offset
    )
    return {"total": total, "page": paging.page, "items": [read_job(request, j) for j in rows]}


@router.get("/jobs/{job_id:int}", response_model=ExportJobRead, summary="One of your exports")
def get_job(
    job_id: int, request: Request, session: SessionDep, user: ApiCoordinator
) -> ExportJobRead:
    return read_job(request, export_jobs.get_job(session, job_id=job_id, user=user))


@router.get(
    "/jobs/{job_id:int}/download",
    name="api_export_job_download",
    summary="The file of one of your finished exports",
    response_class=FileResponse,
    responses={200: FILE_RESPONSES[200]},
)
def download_job(job_id: int, session: SessionDep, user: ApiCoordinator) -> FileResponse:
    job = export_jobs.get_job(session, job_id=job_id, user=user)
    return FileResponse(
        export_jobs.job_file(job),
        media_type=job.content_type,
        headers=attachment(job.filename),
    )


@router.delete("/jobs/{job_id:int}", status_code=204, summary="Delete one of your exports")
def delete_job(job_id: int, session: SessionDep, user: ApiCoordinator) -> Response:
    export_jobs.delete_job(session, job_id=job_id, user=user)
    return Response(status_code=204)
