"""Demo letters: the 2009 request to Pakistan sent by post, loaded once however often it runs."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import demo
from app.correspondence import followup, queues, service
from app.correspondence.demo import PAKISTAN_REFERENCE
from app.correspondence.message import rendered_body
from app.models import Channel, Letter, LetterStatus


def test_demo_letters_load_once(db: Session) -> None:
    demo.load(db)
    count = db.scalar(select(func.count()).select_from(Letter))
    demo.load(db)
    assert db.scalar(select(func.count()).select_from(Letter)) == count
    letter = service.get_by_reference(db, PAKISTAN_REFERENCE)
    assert letter is not None
    # Sent by post on 30 January 2009 and answered through the Embassy (the replies demo).
    assert (letter.status, letter.channel, letter.sent_on) == (
        LetterStatus.replied,
        Channel.post,
        date(2009, 1, 30),
    )
    assert "policy on cluster munitions" in " ".join(rendered_body(letter).split())
    overdue, _ = followup.list_overdue(db)
    overdue_refs = {x.reference for x in overdue}
    assert PAKISTAN_REFERENCE not in overdue_refs
    assert any(ref.endswith("/KAZ/0001") for ref in overdue_refs)
    drafts, _ = queues.list_queue(db, stage="approval")
    assert any(x.recipient_name.startswith("Ms Nadia Baig") for x in drafts)
