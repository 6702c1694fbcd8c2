"""Letter actions in the JSON API: approve, withdraw, send, close, follow up, batch sending,
the overdue list. (Reading letters, GET /letters and /letters/{id}, belongs to the mail merge.)"""

from __future__ import annotations

from fastapi import Query

from app.auth.deps import ApiCoordinator, ApiUser
from app.correspondence import followup, lifecycle, queues, sending, tasks
from app.correspondence.schemas import (
    BatchPostedRead,
    BatchSendRead,
    DeliveryCheck,
    LetterAction,
    LetterClose,
    LetterSend,
    LetterStateRead,
    LetterText,
    MarkPosted,
    OverdueRead,
    SendApproved,
)
from app.db import SessionDep
from app.models import Letter
from app.platform.queueing import enqueue_after_commit
from app.validation import IsoDate
from app.web.pagination import Paging
from app.web.routing import api_router

router = api_router(prefix="/letters", tags=["letters"])


def read(letter: Letter) -> LetterStateRead:
    row = queues.row(letter)
    return LetterStateRead(
        **{k: v for k, v in row.__dict__.items() if k != "channel"},
        channel=letter.channel,
        follow_up_of_id=letter.follow_up_of_id,
        email_message_id=letter.email_message_id,
    )


@router.post(
    "/{letter_id:int}/approve", response_model=LetterStateRead, summary="Approve a draft letter"
)
def approve(
    letter_id: int, session: SessionDep, user: ApiCoordinator, body: LetterAction | None = None
) -> LetterStateRead:
    version = body.version if body else None
    return read(lifecycle.approve(session, letter_id=letter_id, actor=user, version=version))


@router.post(
    "/{letter_id:int}/withdraw-approval",
    response_model=LetterStateRead,
    summary="Withdraw a letter's approval (back to draft)",
)
def withdraw_approval(
    letter_id: int, session: SessionDep, user: ApiCoordinator, body: LetterAction | None = None
) -> LetterStateRead:
    version = body.version if body else None
    letter = lifecycle.withdraw_approval(session, letter_id=letter_id, actor=user, version=version)
    return read(letter)


@router.post(
    "/{letter_id:int}/send",
    response_model=LetterStateRead,
    summary="Send an approved letter: by email (queued), or record post, fax, hand or bag",
)
def send(
    letter_id: int,
    body: LetterSend,
    session: SessionDep,
    user: ApiUser,
) -> LetterStateRead:
    outcome = sending.send(
        session,
        letter_id=letter_id,
        channel=body.channel,
        actor=user,
        on=body.date,
        note=body.note,
        version=body.version,
    )
    if outcome.queued_email:
        enqueue_after_commit(session, tasks.send_letter, letter_id)
    return read(outcome.letter)


@router.put(
    "/{letter_id:int}/text",
    response_model=LetterStateRead,
    summary="Edit a letter's subject and text (an approved letter goes back to draft)",
)
def edit_text(
    letter_id: int, body: LetterText, session: SessionDep, user: ApiUser
) -> LetterStateRead:
    letter = lifecycle.edit_text(
        session,
        letter_id=letter_id,
        subject=body.subject,
        body_html=body.body_html,
        actor=user,
        version=body.version,
    )
    return read(letter)


@router.post(
    "/{letter_id:int}/resolve-delivery",
    response_model=LetterStateRead,
    summary="Settle an email whose worker stopped while the server accepted it",
)
def resolve_delivery(
    letter_id: int,
    body: DeliveryCheck,
    session: SessionDep,
    user: ApiCoordinator,
) -> LetterStateRead:
    letter = sending.resolve_uncertain(
        session, letter_id=letter_id, delivered=body.delivered, actor=user
    )
    if not body.delivered:
        enqueue_after_commit(session, tasks.send_letter, letter_id)
    return read(letter)


@router.post("/{letter_id:int}/close", response_model=LetterStateRead, summary="Close a letter")
def close(
    letter_id: int, session: SessionDep, user: ApiUser, body: LetterClose | None = None
) -> LetterStateRead:
    body = body or LetterClose()
    letter = lifecycle.close(
        session, letter_id=letter_id, actor=user, note=body.note, version=body.version
    )
    return read(letter)


@router.post(
    "/{letter_id:int}/follow-up",
    response_model=LetterStateRead,
    status_code=201,
    summary="Draft a follow-up from the reminder template",
)
def follow_up(letter_id: int, session: SessionDep, user: ApiUser) -> LetterStateRead:
    return read(followup.follow_up(session, letter_id=letter_id, actor=user))


@router.post(
    "/send-approved",
    response_model=BatchSendRead,
    status_code=202,
    summary="Send every approved email letter of a batch or campaign (on the task queue)",
)
def send_approved(body: SendApproved, session: SessionDep, user: ApiUser) -> BatchSendRead:
    outcome = sending.send_approved(
        session, actor=user, batch_id=body.batch_id, campaign_id=body.campaign_id
    )
    if outcome.queued:
        enqueue_after_commit(session, tasks.send_letters, outcome.queued)
    return BatchSendRead(queued=outcome.queued, skipped=outcome.skipped)


@router.post(
    "/mark-posted",
    response_model=BatchPostedRead,
    summary="Record every approved postal letter of a batch as posted on a date",
)
def mark_posted(body: MarkPosted, session: SessionDep, user: ApiUser) -> BatchPostedRead:
    outcome = sending.mark_batch_posted(
        session, batch_id=body.batch_id, on=body.date, note=body.note, actor=user
    )
    return BatchPostedRead(posted=outcome.queued, skipped=outcome.skipped)


@router.get("/overdue", response_model=OverdueRead, summary="Sent letters past their reply date")
def overdue(
    session: SessionDep,
    _user: ApiUser,
    paging: Paging,
    campaign_id: int | None = Query(default=None, ge=1, le=2**62),
    batch_id: int | None = Query(default=None, ge=1, le=2**62),
    q: str = Query(default="", max_length=200),
    today: IsoDate | None = Query(default=None, description="Count as of this day"),
) -> OverdueRead:
    rows, total = followup.list_overdue(
        session,
        campaign_id=campaign_id,
        batch_id=batch_id,
        q=q,
        today=today,
        limit=paging.per_page,
        offset=paging.offset,
    )
    return OverdueRead(total=total, page=paging.page, items=[read(r) for r in rows])
