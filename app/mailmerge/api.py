"""Mail merge JSON API: draft a merge, follow its progress, cancel, download; read letters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.auth.deps import ApiUser
from app.db import SessionDep
from app.mailmerge import drafting, rendering, service
from app.mailmerge.schemas import LetterRead, MergeCreate, MergeRead, RecipientRow
from app.models import Letter, LetterStatus, MergeBatch
from app.web.pagination import Paging
from app.web.routing import API_PREFIX, api_router

router = api_router(tags=["mail merge"])
PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The PDF"}
}
ZIP: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "The letters, one PDF each"}
}


class MergePreviewRead(BaseModel):
    template_id: int
    letters: list[RecipientRow]
    flagged: list[RecipientRow]
    excluded: list[RecipientRow]


class MergeList(BaseModel):
    items: list[MergeRead]
    total: int
    page: int
    per_page: int


class LetterList(BaseModel):
    items: list[LetterRead]
    total: int
    page: int
    per_page: int


def read_batch(session: Session, batch: MergeBatch) -> MergeRead:
    report = batch.report or {}
    base = f"{API_PREFIX}/merges/{batch.id}"
    return MergeRead(
        id=batch.id,
        name=batch.name,
        status=batch.status,
        template_id=batch.template_id,
        campaign_id=batch.campaign_id,
        reference_pattern=batch.reference_pattern,
        letter_date=batch.letter_date,
        total=batch.total,
        rendered=batch.rendered,
        failed=batch.failed,
        cancel_requested=batch.cancel_requested,
        percent=service.percent(batch),
        excluded=[RecipientRow.model_validate(r) for r in report.get("excluded", [])],
        flagged=[RecipientRow.model_validate(r) for r in report.get("flagged", [])],
        failures=service.failures(session, batch.id),
        combined_pdf_url=f"{base}/combined.pdf" if batch.combined_pdf_path else None,
        zip_url=f"{base}/letters.zip" if batch.zip_path else None,
        created_at=batch.created_at,
        started_at=batch.started_at,
        finished_at=batch.finished_at,
    )


def read_letter(letter: Letter) -> LetterRead:
    return LetterRead(
        id=letter.id,
        reference=letter.reference,
        status=letter.status,
        channel=letter.channel,
        batch_id=letter.batch_id,
        campaign_id=letter.campaign_id,
        template_version_id=letter.template_version_id,
        language=letter.language,
        recipient_key=letter.recipient_key,
        recipient_name=letter.recipient_name,
        person_id=letter.person_id,
        organisation_id=letter.organisation_id,
        subject=letter.subject,
        letter_date=letter.letter_date,
        pages=letter.pages,
        render_error=letter.render_error,
        pdf_url=f"{API_PREFIX}/letters/{letter.id}/pdf",
        version=letter.version,
    )


def _attachment(path: Any, filename: str, media_type: str) -> FileResponse:
    return FileResponse(path, media_type=media_type, filename=filename)


@router.post(
    "/merges",
    response_model=MergeRead,
    status_code=201,
    summary="Draft a merge: one letter per recipient, rendered in the background (coordinator)",
)
def create_merge(body: MergeCreate, session: SessionDep, user: ApiUser) -> MergeRead:
    return read_batch(session, service.create_merge(session, data=body, actor=user))


@router.post(
    "/merges/preview",
    response_model=MergePreviewRead,
    summary="The recipients a merge would write to, with the excluded and flagged ones",
)
def preview_merge(body: MergeCreate, session: SessionDep, _user: ApiUser) -> MergePreviewRead:
    result = drafting.preview_merge(session, data=body)
    return MergePreviewRead(
        template_id=result.template.id,
        letters=result.letters,
        flagged=result.flagged,
        excluded=result.excluded,
    )


@router.get("/merges", response_model=MergeList, summary="Merges, newest first")
def list_merges(
    session: SessionDep,
    _user: ApiUser,
    paging: Paging,
    campaign_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> MergeList:
    rows, total = service.list_batches(
        session, campaign_id=campaign_id, limit=paging.per_page, offset=paging.offset
    )
    return MergeList(
        items=[read_batch(session, b) for b in rows],
        total=total,
        page=paging.page,
        per_page=paging.per_page,
    )


@router.get("/merges/{batch_id:int}", response_model=MergeRead, summary="A merge and its progress")
def get_merge(batch_id: int, session: SessionDep, _user: ApiUser) -> MergeRead:
    return read_batch(session, service.get_batch(session, batch_id))


@router.post(
    "/merges/{batch_id:int}/cancel", response_model=MergeRead, summary="Cancel (coordinator)"
)
def cancel_merge(batch_id: int, session: SessionDep, user: ApiUser) -> MergeRead:
    return read_batch(session, service.request_cancel(session, batch_id=batch_id, actor=user))


@router.post(
    "/merges/{batch_id:int}/rerun",
    response_model=MergeRead,
    summary="Run again: letters for new recipients only, PDFs that are missing (coordinator)",
)
def rerun_merge(batch_id: int, session: SessionDep, user: ApiUser) -> MergeRead:
    return read_batch(session, service.rerun(session, batch_id=batch_id, actor=user))


@router.get(
    "/merges/{batch_id:int}/combined.pdf",
    response_class=Response,
    responses=PDF,
    summary="Every letter in one print-ready PDF",
)
def merge_pdf(batch_id: int, session: SessionDep, _user: ApiUser) -> FileResponse:
    batch = service.get_batch(session, batch_id)
    path = rendering.download_path(batch, "pdf")
    return _attachment(path, path.name, "application/pdf")


@router.get(
    "/merges/{batch_id:int}/letters.zip",
    response_class=Response,
    responses=ZIP,
    summary="A zip of the letters, named by reference and recipient",
)
def merge_zip(batch_id: int, session: SessionDep, _user: ApiUser) -> FileResponse:
    batch = service.get_batch(session, batch_id)
    path = rendering.download_path(batch, "zip")
    return _attachment(path, path.name, "application/zip")


@router.get("/letters", response_model=LetterList, summary="Letters (filter and search)")
def list_letters(
    session: SessionDep,
    _user: ApiUser,
    paging: Paging,
    batch_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    campaign_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    status: LetterStatus | None = None,
    q: Annotated[str, Query(max_length=200)] = "",
) -> LetterList:
    rows, total = service.list_letters(
        session,
        batch_id=batch_id,
        campaign_id=campaign_id,
        status=status,
        q=q,
        limit=paging.per_page,
        offset=paging.offset,
    )
    return LetterList(
        items=[read_letter(x) for x in rows],
        total=total,
        page=paging.page,
        per_page=paging.per_page,
    )


@router.get("/letters/{letter_id:int}", response_model=LetterRead, summary="One letter")
def get_letter(letter_id: int, session: SessionDep, _user: ApiUser) -> LetterRead:
    return read_letter(service.get_letter(session, letter_id))


@router.get(
    "/letters/{letter_id:int}/pdf",
    response_class=Response,
    responses=PDF,
    summary="The letter's PDF (rendered now if the merge has not made it yet)",
)
def letter_pdf_download(letter_id: int, session: SessionDep, _user: ApiUser) -> FileResponse:
    letter = service.get_letter(session, letter_id)
    path = rendering.letter_pdf(session, letter)
    return _attachment(path, rendering.pdf_filename(letter), "application/pdf")


@router.post(
    "/letters/{letter_id:int}/remerge",
    response_model=LetterRead,
    summary="Replace a draft letter's own text with its template filled in again",
)
def remerge_letter(letter_id: int, session: SessionDep, user: ApiUser) -> LetterRead:
    """A letter prints its own text (the merge's output or a hand edit) for ever; this is the one
    way back to the template. The replaced text is kept in the audit log."""
    letter = service.get_letter(session, letter_id)
    return read_letter(rendering.remerge(session, letter=letter, actor=user))
