"""Bulk actions through the API: ``POST /api/v1/contacts/bulk`` and its undo and job status.

Roles: as editing contacts (any signed-in user); the ``export`` action needs a coordinator,
as every export does."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from app.auth.deps import ApiUser
from app.contacts import bulk, bulk_tasks
from app.contacts.bulk import BulkRequest, BulkResult
from app.db import SessionDep
from app.exports import tasks as export_tasks
from app.platform.queueing import enqueue_after_commit
from app.web.routing import api_router

router = api_router(tags=["contacts"])


@router.post(
    "/contacts/bulk",
    response_model=BulkResult,
    summary="Act on many contacts at once",
    description="Add or remove a tag, add to a list segment, mark do-not-contact, or export, "
    "for the ids given or every contact matching `filters`. Returns the counts (200), or a "
    f"queued job (202) for more than {bulk.BACKGROUND_ROWS:,} contacts: follow it at "
    "`GET /api/v1/contacts/bulk/jobs/{job}`. Tag and do-not-contact actions can be undone "
    "with `POST /api/v1/contacts/bulk/{audit_id}/undo`.",
    responses={202: {"model": BulkResult}},
)
def bulk_action(body: BulkRequest, session: SessionDep, user: ApiUser) -> Any:
    result = bulk.start(session, req=body, actor=user)
    if result.job:
        enqueue_after_commit(session, bulk_tasks.run_bulk, result.job)
    if result.export_job_id is not None:
        enqueue_after_commit(session, export_tasks.run_export, result.export_job_id)
    if result.status == "queued" or result.export_job_id is not None:
        return JSONResponse(result.model_dump(mode="json"), status_code=202)
    return result


@router.post(
    "/contacts/bulk/{audit_id:int}/undo",
    response_model=BulkResult,
    summary="Undo a bulk tag, untag or do-not-contact",
)
def bulk_undo(audit_id: int, session: SessionDep, user: ApiUser) -> Any:
    return bulk.undo(session, audit_id=audit_id, actor=user)


@router.get("/contacts/bulk/jobs/{token}", summary="A background bulk action of yours")
def bulk_job(token: str, user: ApiUser) -> dict[str, Any]:
    record = bulk.job_for(token, user)
    job = record["job"]
    return {
        "job": token,
        "status": job.get("status"),
        "done": job.get("done", 0),
        "total": job.get("total", 0),
        "error": job.get("error", ""),
        "result": record.get("result"),
    }
