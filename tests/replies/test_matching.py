"""Which letter a reply answers: by reference, by the cited date, by sender and its parents."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from app.models import LetterStatus, Organisation
from app.replies import matching, service
from tests.factories import make_organisation, make_person, make_position
from tests.replies.helpers import make_letter

FORWARDED = """EMBASSY OF PAKISTAN, WASHINGTON D.C.
No.Pol.9/4/09                                   24 February 2009
Reference your letter dated 30 January 2009 addressed to the Minister of Foreign Affairs.
The Embassy forwards the response of the Ministry of Foreign Affairs dated 16 February 2009."""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Reference your letter dated 30 January 2009 on cluster munitions", date(2009, 1, 30)),
        ("Thank you for your letter of 30.01.2009.", date(2009, 1, 30)),
        ("We acknowledge your letter of January 30, 2009.", date(2009, 1, 30)),
        ("Nous accusons réception de votre lettre du 30 janvier 2009.", date(2009, 1, 30)),
        ("En respuesta a su carta del 30 de enero de 2009", date(2009, 1, 30)),
        ("Bezugnehmend auf Ihr Schreiben vom 30. Januar 2009", date(2009, 1, 30)),
        ("your letter dated 1er mars 2010", date(2010, 3, 1)),
        ("In reply to your letter of 2009-01-30", date(2009, 1, 30)),
    ],
)
def test_cited_letter_dates_in_several_languages(text: str, expected: date) -> None:
    assert matching.cited_letter_dates(text) == [expected]


def test_dates_not_introduced_as_a_letter_are_not_cited() -> None:
    found = matching.dates_in(FORWARDED)
    assert [(d.on, d.cited) for d in found] == [
        (date(2009, 2, 24), False),
        (date(2009, 1, 30), True),
        (date(2009, 2, 16), False),
    ]
    assert matching.dates_in("on 31 February 2009 and 45.13.2009") == []


def test_references_in_text_and_addresses() -> None:
    text = "Re: CMC/2009/PAK/0001 and cmc-2010-tjk-0001; see UN/CCW and No.Pol.9/4/09"
    assert matching.references_in(text.upper()) == ["CMC/2009/PAK/0001", "CMC/2010/TJK/0001"]
    assert matching.reference_from_address("replies+CMC-2010-TJK-0001@x.org") == (
        "CMC/2010/TJK/0001"
    )
    assert matching.reference_from_address("someone@x.org") is None


@pytest.fixture
def pakistan(db: Session) -> dict[str, Organisation]:
    """The ministry and its embassy; letters to the ministry (two sent, one draft) and to India."""
    mfa = make_organisation(db, "MFA of Pakistan (test)", type="ministry", country="PAK")
    embassy = make_organisation(
        db, "Embassy of Pakistan (test)", type="embassy", country="PAK", parent_id=mfa.id
    )
    make_letter(db, reference="CMC/2009/PAK/0001", organisation=mfa)
    make_letter(db, reference="CMC/2009/PAK/0002", organisation=mfa, sent_on=date(2009, 6, 1))
    make_letter(db, iso3="IND", reference="CMC/2009/IND/0001")
    make_letter(db, reference="CMC/2009/PAK/0003", organisation=mfa, status=LetterStatus.draft)
    return {"mfa": mfa, "embassy": embassy}


def test_forwarded_by_an_embassy_citing_our_letter_by_date_only(
    db: Session, pakistan: dict[str, Organisation]
) -> None:
    embassy = pakistan["embassy"]
    found = service.suggest(db, text=FORWARDED, sender_organisation_id=embassy.id)
    refs = [s.reference for s in found]
    assert refs[0] == "CMC/2009/PAK/0001"
    best = found[0]
    assert "Cites our letter of 30 January 2009." in best.reasons
    assert any("belongs to the organisation we wrote to" in r for r in best.reasons)
    assert any(r.startswith("Same state") for r in best.reasons)
    assert not best.certain
    # the later letter to the same ministry ranks below; the Indian one (same date) below that
    assert refs.index("CMC/2009/PAK/0002") > 0
    assert refs.index("CMC/2009/IND/0001") > refs.index("CMC/2009/PAK/0002") or (
        found[refs.index("CMC/2009/IND/0001")].score <= found[refs.index("CMC/2009/PAK/0002")].score
    )
    assert "CMC/2009/PAK/0003" not in refs  # a draft was never sent


def test_reference_in_the_subject_ranks_first(
    db: Session, pakistan: dict[str, Organisation]
) -> None:
    found = service.suggest(db, subject="Your letter CMC-2009-PAK-0002", country="PAK")
    assert found[0].reference == "CMC/2009/PAK/0002"
    assert "Quotes our reference CMC/2009/PAK/0002." in found[0].reasons
    assert found[0].score > found[1].score


def test_sender_person_through_their_position(
    db: Session, pakistan: dict[str, Organisation]
) -> None:
    person = make_person(db)
    make_position(db, person, pakistan["mfa"])
    found = service.suggest(db, sender_person_id=person.id)
    assert {s.reference for s in found} >= {"CMC/2009/PAK/0001", "CMC/2009/PAK/0002"}
    assert "The sender works for the organisation we wrote to." in found[0].reasons


def test_nothing_to_go_on_gives_no_suggestion(
    db: Session, pakistan: dict[str, Organisation]
) -> None:
    assert service.suggest(db, text="Season's greetings") == []
    # a date alone, without a cited letter or sender, is too weak
    assert service.suggest(db, text="Meeting on 30 January 2009") == []
