"""Overdue letters and the one-step follow-up."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.correspondence import followup, queues, sending
from app.correspondence.message import rendered_body, rendered_subject
from app.errors import Conflict
from app.letters import service as letters_service
from app.models import Channel, Letter, LetterStatus, Reply, ReplyLetter, Role
from tests.correspondence.helpers import make_letter
from tests.factories import api_headers, make_user


@pytest.fixture(autouse=True)
def _library(db: Session) -> None:
    if letters_service.get_by_slug(db, followup.FOLLOW_UP_TEMPLATE) is None:
        letters_service.load_builtin(db)


def _sent(db: Session, on: date, **values: Any) -> Letter:
    user = make_user(db, Role.coordinator)
    letter = make_letter(db, status=LetterStatus.approved, **values)
    sending.send(db, letter_id=letter.id, channel=Channel.post, on=on, actor=user)
    return letter


def test_overdue_lists_sent_letters_past_due_without_reply(db: Session) -> None:
    late = _sent(db, date(2009, 1, 30))
    in_time = _sent(db, date(2009, 3, 1))
    answered = _sent(db, date(2009, 1, 15))
    reply = Reply(received_on=date(2009, 2, 24))
    db.add(reply)
    db.flush()
    db.add(ReplyLetter(reply_id=reply.id, letter_id=answered.id))
    db.flush()
    rows, total = followup.list_overdue(db, today=date(2009, 3, 10))
    ids = [r.id for r in rows]
    assert late.id in ids and in_time.id not in ids and answered.id not in ids
    assert queues.row(late, today=date(2009, 3, 10)).days_overdue == 9


def test_follow_up_is_a_draft_from_the_reminder_template(db: Session) -> None:
    original = _sent(db, date(2009, 1, 30), reference="CMC/2009/TJK/0007")
    follow = followup.follow_up(
        db, letter_id=original.id, actor=make_user(db), today=date(2009, 3, 10)
    )
    assert follow.status == LetterStatus.draft
    assert follow.follow_up_of_id == original.id
    assert follow.reference == "CMC/2009/TJK/0007/R1"
    text = rendered_body(follow)
    assert "have not yet received a reply" in text
    assert "CMC/2009/TJK/0007/R1" in text
    assert rendered_subject(follow).startswith("Follow-up: our letter on the Convention")
    second = followup.follow_up(db, letter_id=original.id, actor=make_user(db))
    assert second.reference.endswith("/R2")


def test_follow_up_of_a_draft_is_refused(db: Session) -> None:
    with pytest.raises(Conflict):
        followup.follow_up(db, letter_id=make_letter(db).id, actor=make_user(db))


def test_api_overdue_and_follow_up(db: Session, client: TestClient) -> None:
    late = _sent(db, date(2009, 1, 30))
    headers = api_headers(db, make_user(db))
    resp = client.get("/api/v1/letters/overdue", params={"today": "2009-06-01"}, headers=headers)
    assert resp.status_code == 200
    assert late.id in [item["id"] for item in resp.json()["items"]]
    follow = client.post(f"/api/v1/letters/{late.id}/follow-up", headers=headers)
    assert follow.status_code == 201, follow.text
    assert follow.json()["follow_up_of_id"] == late.id and follow.json()["status"] == "draft"
