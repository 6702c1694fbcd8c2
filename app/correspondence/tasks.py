"""Sending letters by email on the task queue, exactly once.

Each step commits on its own: (1) the letter's email goes into the outbox and the letter
remembers it (one transaction: a crash before the commit leaves the letter waiting, a crash
after it leaves one outbox row); (2) the outbox delivers it (exactly once, see app.mail.service);
(3) the letter follows the outbox's verdict. A sweep every minute, and one when a worker
starts, picks up whatever a dead worker left at any step.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from huey import crontab

from app.correspondence import sending, service
from app.db import transaction
from app.errors import Conflict, DomainError
from app.mail import service as mail_service
from app.models import OutboxStatus
from app.models.base import utcnow
from app.queue import huey

log = logging.getLogger(__name__)


def deliver_letter(letter_id: int) -> str:
    """Steps 1 to 3 for one letter; returns the letter's status afterwards."""
    try:
        with transaction() as session:
            outbox_id = sending.queue_email(session, letter_id=letter_id)
    except Conflict:
        # Another worker queued it at the same moment: its outbox row is the one.
        with transaction() as session:
            outbox_id = service.get(session, letter_id).outbox_id
    if outbox_id is not None:
        mail_service._fault("letter_queued")
        with transaction() as session:
            row = mail_service.get(session, outbox_id)
            due = row.status in {OutboxStatus.queued, OutboxStatus.retry} and (
                row.next_attempt_at is None or row.next_attempt_at <= utcnow()
            )
        if due:
            try:
                mail_service.deliver(outbox_id)
            except DomainError as exc:  # no SMTP server configured: the letter stays sending
                log.warning("letter %s not delivered: %s", letter_id, exc.detail)
    with transaction() as session:
        letter = sending.sync_from_outbox(session, letter_id=letter_id)
        return service.display_status(letter)


@huey.task(retries=3, retry_delay=10)
def send_letter(letter_id: int) -> str:
    return deliver_letter(letter_id)


@huey.task(retries=3, retry_delay=10)
def send_letters(letter_ids: list[int]) -> int:
    """A batch, letter by letter; a crash part-way is finished by the sweep."""
    for letter_id in letter_ids:
        deliver_letter(letter_id)
    return len(letter_ids)


def sweep(letter_ids: Iterable[int] | None = None) -> int:
    """Finish every letter waiting to be queued, delivered or synchronised."""
    with transaction() as session:
        mail_service.recover(session)
        waiting, queued = sending.pending_letters(session)
    done = 0
    for letter_id in [*waiting, *queued]:
        if letter_ids is not None and letter_id not in letter_ids:
            continue
        deliver_letter(letter_id)
        done += 1
    return done


@huey.periodic_task(crontab(minute="*"))
def sweep_letters() -> int:
    return sweep()


@huey.task()
def sweep_letters_now() -> int:
    return sweep()


@huey.on_startup()
def sweep_on_startup() -> None:
    # Queued, not run here: startup hooks should not block the worker.
    sweep_letters_now()
