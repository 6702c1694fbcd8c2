"""Replies JSON API: log and triage replies, import email, attachments, positions, tracker."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Body, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.auth.deps import ApiCoordinator, ApiUser
from app.countries import service as countries_service
from app.db import SessionDep
from app.mail import inbound
from app.models import PositionStance, Reply, ReplyStatus
from app.replies import intake, listing, positions, scans, service, tracker
from app.replies.reply_form import AnalyseBody, run_analysis
from app.replies.schemas import (
    AnalyseRequest,
    AnalysisRead,
    AttachmentRead,
    ContactFromSender,
    DismissIn,
    LetterLinkRead,
    LinkLetters,
    MatchRequest,
    PositionCreate,
    PositionIn,
    PositionRead,
    PositionUpdate,
    ReplyCreate,
    ReplyRead,
    ReplyUpdate,
    SuggestionRead,
    TrackerRead,
    TrackerRowRead,
)
from app.replies.views import download
from app.treaties import service as treaties_service
from app.web.pagination import Paging
from app.web.routing import api_router

router = api_router(prefix="/replies", tags=["replies"])
positions_router = api_router(prefix="/position-register", tags=["position register"])
tracker_router = api_router(prefix="/campaigns", tags=["replies"])
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file, as an attachment", "content": {"*/*": {}}}
}
CSV: dict[int | str, dict[str, Any]] = {
    200: {"description": "The tracker as CSV", "content": {"text/csv": {}}}
}


def position_read(e: positions.EntryView) -> PositionRead:
    return PositionRead(
        id=e.id,
        country=e.iso3,
        country_name=e.country_name,
        treaty=e.treaty,
        stance=e.stance,
        stated_on=e.stated_on,
        quote=e.quote,
        source=e.source,
        reply_id=e.reply_id,
    )


def read(session: SessionDep, reply: Reply, rv: listing.ReplyView | None = None) -> ReplyRead:
    rv = rv or listing.view(session, reply.id)
    r = rv.reply
    reasons = {link.letter_id: list(link.reasons or []) for link in r.links}
    return ReplyRead(
        id=r.id,
        status=r.status,
        kind=r.kind,
        received_on=r.received_on,
        dated_on=r.dated_on,
        language=r.language,
        channel=r.channel,
        sender_person_id=r.sender_person_id,
        sender_organisation_id=r.sender_organisation_id,
        sender_name=r.sender_name,
        sender_email=r.sender_email,
        country=rv.country.iso3 if rv.country else None,
        sender_reference=r.sender_reference,
        cited_letter_date=r.cited_letter_date,
        subject=r.subject,
        summary=r.summary,
        full_text=r.full_text,
        triage_note=r.triage_note,
        letters=[
            LetterLinkRead(
                letter_id=letter.id,
                reference=letter.reference,
                matched_by=how,
                reasons=reasons.get(letter.id, []),
            )
            for letter, how in rv.letters
        ],
        attachments=[
            AttachmentRead(
                id=a.id,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                sha256=a.sha256,
                url=f"/api/v1/replies/attachments/{a.id}",
            )
            for a in r.attachments
        ],
        positions=[position_read(e) for e in rv.positions],
        version=r.version,
    )


@router.get("", summary="Replies, newest first")
def list_replies(
    session: SessionDep,
    _user: ApiUser,
    paging: Paging,
    q: str = Query(default="", max_length=200),
    status: ReplyStatus | None = None,
    letter_id: int | None = Query(default=None, ge=1, le=2**31 - 1),
) -> dict[str, Any]:
    rows, total = listing.list_replies(
        session,
        search=q,
        status=status,
        letter_id=letter_id,
        limit=paging.per_page,
        offset=paging.offset,
    )
    found = listing.views(session, [r for r, _ in rows])
    return {
        "total": total,
        "page": paging.page,
        "items": [read(session, r, found[r.id]) for r, _ in rows],
    }


@router.post("", response_model=ReplyRead, status_code=201, summary="Log a reply")
def create_reply(body: ReplyCreate, session: SessionDep, user: ApiUser) -> ReplyRead:
    return read(session, service.create(session, data=body, actor=user))


@router.post(
    "/suggest", response_model=list[SuggestionRead], summary="Letters a reply probably answers"
)
def suggest(body: MatchRequest, session: SessionDep, _user: ApiUser) -> list[SuggestionRead]:
    found = service.suggest(
        session,
        subject=body.subject,
        text=body.text,
        sender_person_id=body.sender_person_id,
        sender_organisation_id=body.sender_organisation_id,
        country=body.country,
        cited_letter_date=body.cited_letter_date,
    )
    return [
        SuggestionRead(
            letter_id=s.letter_id,
            reference=s.reference,
            recipient_name=s.recipient_name,
            country=s.country,
            letter_date=s.letter_date,
            sent_on=s.sent_on,
            status=s.status,
            score=s.score,
            reasons=s.reasons,
            certain=s.certain,
        )
        for s in found
    ]


ANALYSE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {"schema": AnalyseRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        **AnalyseRequest.model_json_schema()["properties"],
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "A scanned PDF or image (20 MB at most); its first "
                            "3 pages are read",
                        },
                    },
                }
            },
        },
    }
}


@router.post(
    "/analyse",
    response_model=AnalysisRead,
    summary="Read a reply: sender, references, dates, the letters it answers, its positions",
    description="The same fields as `/replies/suggest`, as JSON or as multipart/form-data with "
    "an optional scan in `file` (read by text recognition, in `language` when given). Nothing "
    "is stored.",
    openapi_extra=ANALYSE_BODY,
)
def analyse(session: SessionDep, _user: ApiUser, given: AnalyseBody) -> dict[str, Any]:
    return run_analysis(session, given).as_dict()


@router.post(
    "/import-email",
    response_model=ReplyRead,
    status_code=201,
    summary="Import a reply from an .eml file (matched, or put in triage)",
)
def import_email(
    session: SessionDep, user: ApiUser, file: UploadFile = File(description="An RFC 5322 .eml")
) -> ReplyRead:
    reply, _ = intake.ingest_email(
        session, raw=file.file.read(inbound.MAX_EML_BYTES + 1), actor=user
    )
    return read(session, reply)


@router.get(
    "/attachments/{attachment_id:int}",
    response_class=Response,
    responses=DOWNLOAD,
    summary="Download an attachment",
)
def get_attachment(attachment_id: int, session: SessionDep, _user: ApiUser) -> Response:
    return download(session, attachment_id)


class OcrIn(BaseModel):
    """Read a scan again, in a chosen language ("" = detect it)."""

    language: Literal["", "ar", "en", "es", "fr", "ru", "zh"] = Field(
        default="", description="ISO 639-1 code of the letter's language, or empty to detect it"
    )


class OcrStateRead(BaseModel):
    attachment_id: int
    status: str = Field(description='"" (not a scan), queued, running, done or failed')
    pages: int
    pages_done: int
    language: str
    error: str
    text: str


@router.get(
    "/attachments/{attachment_id:int}/ocr",
    response_model=OcrStateRead,
    summary="Text recognition of a scan: progress, language, text or the reason it failed",
)
def get_ocr(attachment_id: int, session: SessionDep, _user: ApiUser) -> OcrStateRead:
    attachment, _ = service.get_attachment(session, attachment_id)
    return OcrStateRead(**scans.state(attachment))


@router.post(
    "/attachments/{attachment_id:int}/ocr",
    response_model=OcrStateRead,
    status_code=202,
    summary="Read a scan's text again, in a chosen language",
)
def request_ocr(
    attachment_id: int, body: OcrIn, session: SessionDep, _user: ApiUser
) -> OcrStateRead:
    attachment = scans.request(session, attachment_id=attachment_id, language=body.language)
    return OcrStateRead(**scans.state(attachment))


@router.get("/{reply_id:int}", response_model=ReplyRead, summary="One reply")
def get_reply(reply_id: int, session: SessionDep, _user: ApiUser) -> ReplyRead:
    return read(session, service.get(session, reply_id))


@router.put("/{reply_id:int}", response_model=ReplyRead, summary="Correct a reply")
def update_reply(reply_id: int, body: ReplyUpdate, session: SessionDep, user: ApiUser) -> ReplyRead:
    return read(session, service.update(session, reply_id=reply_id, data=body, actor=user))


@router.delete("/{reply_id:int}", status_code=204, summary="Delete a reply")
def delete_reply(reply_id: int, session: SessionDep, user: ApiCoordinator) -> Response:
    service.delete(session, reply_id=reply_id, actor=user)
    return Response(status_code=204)


@router.post(
    "/{reply_id:int}/attachments",
    response_model=AttachmentRead,
    status_code=201,
    summary="Attach a scan (PDF or image)",
)
def add_attachment(
    reply_id: int, session: SessionDep, user: ApiUser, file: UploadFile = File()
) -> AttachmentRead:
    a = service.add_attachment(
        session,
        reply_id=reply_id,
        filename=file.filename or "attachment",
        content=file.file.read(service.MAX_ATTACHMENT_BYTES + 1),
        actor=user,
    )
    return AttachmentRead(
        id=a.id,
        filename=a.filename,
        content_type=a.content_type,
        size=a.size,
        sha256=a.sha256,
        url=f"/api/v1/replies/attachments/{a.id}",
    )


@router.post(
    "/{reply_id:int}/positions",
    response_model=list[PositionRead],
    status_code=201,
    summary="Record the positions a reply states (the reply is their evidence)",
)
def record_positions(
    reply_id: int,
    body: Annotated[list[PositionIn], Body(min_length=1, max_length=20)],
    session: SessionDep,
    user: ApiCoordinator,
) -> list[PositionRead]:
    entries = positions.create_from_reply(session, reply_id=reply_id, items=body, actor=user)
    return [position_read(e) for e in entries]


@router.post("/{reply_id:int}/link", response_model=ReplyRead, summary="Link to letters")
def link(reply_id: int, body: LinkLetters, session: SessionDep, user: ApiCoordinator) -> ReplyRead:
    return read(
        session,
        service.link_letters(session, reply_id=reply_id, letter_ids=body.letter_ids, actor=user),
    )


@router.post("/{reply_id:int}/dismiss", response_model=ReplyRead, summary="Dismiss (not a reply)")
def dismiss(reply_id: int, body: DismissIn, session: SessionDep, user: ApiCoordinator) -> ReplyRead:
    return read(session, service.dismiss(session, reply_id=reply_id, note=body.note, actor=user))


@router.post(
    "/{reply_id:int}/contact",
    response_model=ReplyRead,
    summary="Add the unknown sender to the directory",
)
def create_contact(
    reply_id: int, body: ContactFromSender, session: SessionDep, user: ApiCoordinator
) -> ReplyRead:
    return read(
        session,
        service.create_contact_from_sender(session, reply_id=reply_id, data=body, actor=user),
    )


# --- positions ------------------------------------------------------------------------------


@positions_router.get("", response_model=list[PositionRead], summary="Position register")
def list_positions(
    session: SessionDep,
    _user: ApiUser,
    country: str | None = Query(default=None, max_length=3),
    treaty: str | None = Query(default=None, max_length=20),
    current: bool = Query(default=False, description="Only each state's latest entry"),
    stance: PositionStance | None = None,
) -> list[PositionRead]:
    country_id = countries_service.get_by_code(session, country).id if country else None
    treaty_id = treaties_service.get_by_short_name(session, treaty).id if treaty else None
    if current:
        if treaty_id is None:
            treaties = treaties_service.list_treaties(session)
            ids = [t.id for t in treaties]
        else:
            ids = [treaty_id]
        entries = [
            e
            for tid in ids
            for e in positions.current(
                session, treaty_id=tid, country_ids=None if country_id is None else [country_id]
            ).values()
        ]
    else:
        entries = positions.history(session, country_id=country_id, treaty_id=treaty_id)
    return [position_read(e) for e in entries if stance is None or e.stance is stance]


@positions_router.post(
    "", response_model=PositionRead, status_code=201, summary="Record a position"
)
def create_register_entry(
    body: PositionCreate, session: SessionDep, user: ApiCoordinator
) -> PositionRead:
    return position_read(positions.create(session, data=body, actor=user))


@positions_router.get("/{entry_id:int}", response_model=PositionRead, summary="One entry")
def get_register_entry(entry_id: int, session: SessionDep, _user: ApiUser) -> PositionRead:
    return position_read(positions.get(session, entry_id))


@positions_router.put("/{entry_id:int}", response_model=PositionRead, summary="Edit an entry")
def update_register_entry(
    entry_id: int, body: PositionUpdate, session: SessionDep, user: ApiCoordinator
) -> PositionRead:
    return position_read(positions.update(session, entry_id=entry_id, data=body, actor=user))


@positions_router.delete("/{entry_id:int}", status_code=204, summary="Remove an entry")
def delete_register_entry(entry_id: int, session: SessionDep, user: ApiCoordinator) -> Response:
    positions.delete(session, entry_id=entry_id, actor=user)
    return Response(status_code=204)


# --- tracker --------------------------------------------------------------------------------


def _rows(board: tracker.Tracker, rows: list[tracker.TrackerRow]) -> TrackerRead:
    return TrackerRead(
        campaign_id=board.campaign.id,
        counts=board.counts,
        rows=[
            TrackerRowRead(
                country=r.iso3,
                country_name=r.country_name,
                letter_id=r.letter_id,
                reference=r.reference,
                addressee=r.addressee,
                sent_on=r.sent_on,
                channel=r.channel,
                status=r.category,
                days_waiting=r.days_waiting,
                overdue=r.overdue,
                replied_on=r.replied_on,
                acknowledged_on=r.acknowledged_on,
                position=r.position,
            )
            for r in rows
        ],
    )


@tracker_router.get(
    "/{campaign_id:int}/replies", response_model=TrackerRead, summary="Reply tracker"
)
def campaign_tracker(
    campaign_id: int,
    session: SessionDep,
    _user: ApiCoordinator,
    q: str = Query(default="", max_length=200),
    status: str = Query(default="", max_length=20, description="replied, overdue, waiting ..."),
    sort: str = Query(default="state", max_length=20),
    desc: bool = False,
) -> TrackerRead:
    board = tracker.build(session, campaign_id)
    rows = tracker.filter_rows(
        board.rows,
        q=q,
        category=status if status in tracker.CATEGORIES else "",
        sort=sort,
        descending=desc,
    )
    return _rows(board, rows)


@tracker_router.get(
    "/{campaign_id:int}/replies.csv",
    response_class=Response,
    responses=CSV,
    summary="Reply tracker as CSV",
)
def campaign_tracker_csv(campaign_id: int, session: SessionDep, _user: ApiCoordinator) -> Response:
    board = tracker.build(session, campaign_id)
    return Response(
        tracker.to_csv(tracker.filter_rows(board.rows)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="replies-campaign-{campaign_id}.csv"'
        },
    )
