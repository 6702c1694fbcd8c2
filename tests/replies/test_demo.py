"""The demo's Pakistan case: our letter of 30 January 2009 and the embassy's forwarded answer."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import demo
from app.models import Letter, LetterStatus, Organisation, PositionEntry, Reply, ReplyLetter
from app.replies import demo as replies_demo
from app.replies import service


def test_pakistan_reply_loaded_once_and_matched(db: Session) -> None:
    demo.load(db)
    count = db.scalar(select(func.count(Reply.id)))
    replies_demo.load(db)  # idempotent
    assert db.scalar(select(func.count(Reply.id))) == count
    letter = db.scalar(select(Letter).where(Letter.reference == "CMC/2009/PAK/0001"))
    assert letter is not None
    assert (letter.letter_date, letter.sent_on, letter.channel.value) == (
        date(2009, 1, 30),
        date(2009, 1, 30),
        "post",
    )
    assert letter.status is LetterStatus.replied
    replies = db.scalars(
        select(Reply).join(ReplyLetter).where(ReplyLetter.letter_id == letter.id)
    ).all()
    assert len(replies) == 1
    reply = replies[0]
    assert reply.sender_reference == "No.Pol.9/4/09"
    embassy = db.get(Organisation, reply.sender_organisation_id)
    assert embassy is not None and embassy.name == "Embassy of Pakistan in the United States"
    entry = db.scalar(select(PositionEntry).where(PositionEntry.reply_id == reply.id))
    assert entry is not None
    assert (entry.stance.value, entry.stated_on) == ("opposes", date(2009, 2, 16))
    assert "Convention on Certain Conventional Weapons" in entry.quote
    # matching the embassy's text from scratch finds our letter first, by date and sender chain
    found = service.suggest(db, text=reply.full_text, sender_organisation_id=embassy.id)
    assert found[0].reference == "CMC/2009/PAK/0001"
    assert "Cites our letter of 30 January 2009." in found[0].reasons
