"""Demo letters: the 2009 request to Pakistan sent by post, loaded once however often it runs."""

from __future__ import annotations

import io
from datetime import date

from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import demo
from app.correspondence import followup, queues, service
from app.correspondence.demo import PAKISTAN_REFERENCE
from app.correspondence.message import letter_pdf, rendered_body
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


# What the address window of each demo letter written without a template names: the office or
# person, the city and the country, as the directory holds them (by the reference's state and
# number; the campaign's letters are dated from today).
DEMO_WINDOWS = {
    "KAZ/0001": (
        "Minister for Foreign Affairs of the Republic of Kazakhstan",
        "ASTANA",
        "KAZAKHSTAN",
    ),
    "KGZ/0002": ("Minister for Foreign Affairs of the Kyrgyz Republic", "BISHKEK", "KYRGYZSTAN"),
    "UZB/0003": (
        "Minister for Foreign Affairs of the Republic of Uzbekistan",
        "TASHKENT",
        "UZBEKISTAN",
    ),
    # "Counsellor" does not say where she sits: the embassy has a line of its own
    "PAK/0002": (
        "Ms Nadia Baig",
        "Embassy of Pakistan in the United States",
        "WASHINGTON, DC 20008",
        "UNITED STATES",
    ),
    "PAK/0001": (
        "Minister for Foreign Affairs of the Islamic Republic of Pakistan",
        "ISLAMABAD",
        "PAKISTAN",
    ),
}


def _pdf_text(pdf: bytes) -> str:
    text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.split())


def test_demo_letters_print_their_recipients_address_and_the_profiles_sender(db: Session) -> None:
    """The demo's letters written without a template carry a context built as a merge builds
    it: their PDF's address window names the recipient from the directory, and the sender and
    signatory are the organisation profile's."""
    demo.load(db)
    letters = db.scalars(
        select(Letter)
        .where(Letter.batch_id.is_(None), Letter.template_version_id.is_(None))
        .order_by(Letter.reference)
    ).all()
    own = [x for x in letters if x.body_html.strip()]
    assert sorted(x.reference[-8:] for x in own) == sorted(DEMO_WINDOWS)
    for letter in own:
        recipient = letter.context["recipient"]
        text = _pdf_text(letter_pdf(db, letter))
        for line in recipient["address_block"]:
            assert " ".join(line.split()) in text, (letter.reference, line)
        for expected in DEMO_WINDOWS[letter.reference[-8:]]:
            assert expected in text, (letter.reference, expected)
        # the salutation the merge would print, where the text uses it
        assert recipient["salutation"] in ("Excellency,", "Dear Ms Baig,")
        assert recipient["salutation"] in text
        # sender and signatory from the profile (its address is in no constant of the demo)
        assert "Maison de la Paix" in text and "Thomas Nash" in text, letter.reference
        assert "Convention on Cluster Munitions" in text or "cluster munitions" in text
