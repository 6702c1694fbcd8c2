"""Reading replies against the directory and our letters: who sent it (a mission forwarding its
capital's answer), which letter it cites (by date in seven languages, by a retyped reference),
ties, confidence, and the reasons kept after linking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.countries import service as countries_service
from app.models import Letter, Organisation, ReplyLetter, Role
from app.replies import dates, letterhead, matching, reading, references, service
from tests.factories import login, make_organisation, make_user
from tests.replies.helpers import log_reply, make_letter

MISSION_TJK = (
    "Permanent Mission of the Republic of Tajikistan to the United Nations Office at Geneva"
)
MISSION_UZB = (
    "Permanent Mission of the Republic of Uzbekistan to the United Nations Office at Geneva"
)


@dataclass
class Directory:
    tjk: int
    uzb: int
    tjk_mfa: Organisation
    tjk_mission: Organisation
    uzb_mfa: Organisation
    uzb_mission: Organisation


@pytest.fixture
def directory(db: Session) -> Directory:
    tjk_mfa = make_organisation(
        db,
        "Ministry of Foreign Affairs of the Republic of Tajikistan",
        type="ministry",
        country="TJK",
        name_forms={
            "ru": "Министерство иностранных дел Республики Таджикистан",
            "zh": "塔吉克斯坦共和国外交部",
            "ar": "وزارة الخارجية لجمهورية طاجيكستان",
        },
    )
    # not recorded under the ministry: it answers for its capital as a mission of the state
    tjk_mission = make_organisation(
        db,
        MISSION_TJK,
        type="permanent_mission",
        country="TJK",
        name_forms={
            "fr": "Mission permanente de la République du Tadjikistan auprès de l'Office des "
            "Nations Unies à Genève",
            "ar": "البعثة الدائمة لجمهورية طاجيكستان لدى مكتب الأمم المتحدة في جنيف",
        },
    )
    uzb_mfa = make_organisation(
        db, "Ministry of Foreign Affairs of the Republic of Uzbekistan", country="UZB"
    )
    uzb_mission = make_organisation(db, MISSION_UZB, type="permanent_mission", country="UZB")
    return Directory(
        tjk=countries_service.get_by_code(db, "TJK").id,
        uzb=countries_service.get_by_code(db, "UZB").id,
        tjk_mfa=tjk_mfa,
        tjk_mission=tjk_mission,
        uzb_mfa=uzb_mfa,
        uzb_mission=uzb_mission,
    )


def _letters(db: Session, d: Directory, *specs: tuple[str, str, date]) -> dict[str, Letter]:
    orgs = {"TJK": d.tjk_mfa, "UZB": d.uzb_mfa}
    return {
        reference: make_letter(
            db, iso3=iso3, reference=reference, organisation=orgs[iso3], sent_on=sent_on
        )
        for reference, iso3, sent_on in specs
    }


def _suggest(
    db: Session,
    text: str,
    *,
    country_id: int | None = None,
    sender_organisation_id: int | None = None,
) -> list[matching.Suggestion]:
    query = matching.MatchInput(
        text=text, country_id=country_id, sender_organisation_id=sender_organisation_id
    )
    return matching.suggest(db, query)


FORWARDED = """---------- Forwarded message ---------
From: Permanent Mission of Tajikistan in Geneva <mission.tajikistan@example.org>
Date: Wed, 12 May 2010 at 10:12
Subject: Convention on Cluster Munitions

The Permanent Mission presents its compliments and, with reference to your letter dated
1 May 2010 to the Minister of Foreign Affairs, forwards the Ministry's answer.
"""


def test_a_mission_forwarding_its_capitals_answer(db: Session, directory: Directory) -> None:
    _letters(
        db,
        directory,
        ("CMC/2010/TJK/0001", "TJK", date(2010, 5, 1)),
        ("CMC/2010/UZB/0001", "UZB", date(2010, 5, 1)),
    )
    found = reading.read_reply(db, text=FORWARDED)
    assert found.sender_organisation_id == directory.tjk_mission.id
    assert found.sender_reason.startswith('Letterhead "Permanent Mission of Tajikistan in Geneva"')
    assert found.cited_letter_date == date(2010, 5, 1)
    assert found.language == "en"

    best, *rest = _suggest(db, FORWARDED)
    assert best.reference == "CMC/2010/TJK/0001"
    assert f"The {MISSION_TJK} answers for its capital" in " ".join(best.reasons)
    assert "Cites our letter of 1 May 2010." in best.reasons
    assert best.confident and not best.tied
    uzbek = next(s for s in rest if s.reference == "CMC/2010/UZB/0001")
    assert uzbek.score < best.score and not uzbek.confident
    assert not any("answers for its capital" in r for r in uzbek.reasons)


def test_the_letterhead_is_matched_by_an_organisation_s_alias(
    db: Session, directory: Directory
) -> None:
    from app.contacts import aliases
    from app.models import AliasKind

    text = "KOMITETI DAVLATII AMNIYATI MILLI\nDushanbe, 12 May 2010\n\nDear Sir,"
    assert letterhead.find_sender(db, text) is None
    aliases.add_alias(
        db,
        kind="organisation",
        owner_id=directory.tjk_mfa.id,
        name="Komiteti Davlatii Amniyati Milli",
        alias_kind=AliasKind.former,
        actor=None,
    )
    match = letterhead.find_sender(db, text)
    assert match is not None and match.organisation_id == directory.tjk_mfa.id


def test_a_mission_line_never_matches_another_states_organisation(
    db: Session, directory: Directory
) -> None:
    # Kazakhstan is not in the directory: its mission is not Uzbekistan's or Tajikistan's
    text = "Permanent Mission of the Republic of Kazakhstan to the United Nations Office at Geneva"
    assert letterhead.find_sender(db, text) is None
    assert reading.read_reply(db, text=f"{text}\nNote No. 12").sender_organisation_id is None
    text = "Permanent Mission of Tajikistan in Geneva"
    match = letterhead.find_sender(db, text)
    assert match is not None and match.organisation_id == directory.tjk_mission.id


@pytest.mark.parametrize(
    ("text", "language", "sender"),
    [
        (
            "البعثة الدائمة لجمهورية طاجيكستان لدى مكتب الأمم المتحدة في جنيف\n"
            "جنيف في ١٢ مايو ٢٠١٠\n"
            "بالإشارة إلى رسالتكم المؤرخة 1 مايو 2010 بشأن اتفاقية الذخائر العنقودية",
            "ar",
            "tjk_mission",
        ),
        (
            "Министерство иностранных дел Республики Таджикистан\n"
            "Душанбе, 12 мая 2010 г.\n"
            "В ответ на Ваше письмо от 1 мая 2010 г. сообщаем следующее.",
            "ru",
            "tjk_mfa",
        ),
        (
            "塔吉克斯坦共和国外交部\n2010年5月12日\n贵方2010年5月1日来函收悉。",
            "zh",
            "tjk_mfa",
        ),
        (
            "Mission permanente de la République du Tadjikistan auprès de l'Office des Nations "
            "Unies à Genève\nGenève, le 12 mai 2010\n"
            "La Mission accuse réception de votre lettre du 1er mai 2010.",
            "fr",
            "tjk_mission",
        ),
        (
            "Ministry of Foreign Affairs of the Republic of Tajikistan\nDushanbe, 12 May 2010\n"
            "Estimada señora: en respuesta a su carta de fecha 1 de mayo de 2010, le informo.",
            "es",
            "tjk_mfa",
        ),
        (
            "Ministry of Foreign Affairs of the Republic of Tajikistan\nDuschanbe, 12. Mai 2010\n"
            "Sehr geehrte Frau Direktorin, bezugnehmend auf Ihr Schreiben vom 1. Mai 2010 "
            "teilen wir Ihnen mit, dass die Regierung die Konvention prüft.",
            "de",
            "tjk_mfa",
        ),
    ],
)
def test_a_reply_citing_our_letter_by_date_in_its_language(
    db: Session, directory: Directory, text: str, language: str, sender: str
) -> None:
    _letters(
        db,
        directory,
        ("CMC/2010/TJK/0001", "TJK", date(2010, 5, 1)),
        ("CMC/2010/TJK/0002", "TJK", date(2010, 3, 2)),
        ("CMC/2010/UZB/0001", "UZB", date(2010, 5, 1)),
    )
    found = reading.read_reply(db, text=text)
    assert found.language == language
    assert found.sender_organisation_id == getattr(directory, sender).id
    assert (found.cited_letter_date, found.dated_on) == (date(2010, 5, 1), date(2010, 5, 12))
    best, *_ = _suggest(db, text)
    assert best.reference == "CMC/2010/TJK/0001"
    assert "Cites our letter of 1 May 2010." in best.reasons
    assert best.confident


def test_a_date_without_a_year_takes_the_year_of_our_letter(
    db: Session, directory: Directory
) -> None:
    _letters(
        db,
        directory,
        ("CMC/2009/TJK/0003", "TJK", date(2009, 12, 5)),
        ("CMC/2010/TJK/0007", "TJK", date(2010, 12, 5)),
        ("CMC/2010/UZB/0004", "UZB", date(2010, 12, 6)),
    )
    text = (
        "Министерство иностранных дел Республики Таджикистан\nДушанбе, 20 января 2011 г.\n"
        "Подтверждаем получение Вашего письма от 5 декабря."
    )
    found = reading.read_reply(db, text=text)
    assert (found.dated_on, found.cited_letter_date) == (date(2011, 1, 20), date(2010, 12, 5))
    best, *rest = _suggest(db, text)
    assert best.reference == "CMC/2010/TJK/0007"
    assert any('"5 декабря" has no year: read as 5 December 2010' in r for r in best.reasons)
    assert not any(r.startswith("Cites") for s in rest for r in s.reasons)
    # in English, from a sender we have no letter to on that day: the last 5 December before
    mentions = dates.find_dates("Thank you for your letter of 5 December.")
    (resolved,) = dates.resolve_dates(
        db, mentions, dates.Scope(country_id=directory.uzb), reply_on=date(2011, 1, 10)
    )
    assert resolved.on == date(2010, 12, 5)


@pytest.mark.parametrize(
    "written", ["CMC 2010/TJK/1", "cmc/2010/tjk/01", "CMC-2010-TJK-0001", "CMC/2010/TJK/0001"]
)
def test_our_reference_retyped(db: Session, directory: Directory, written: str) -> None:
    _letters(
        db,
        directory,
        ("CMC/2010/TJK/0001", "TJK", date(2010, 5, 1)),
        ("CMC/2010/TJK/0010", "TJK", date(2010, 6, 1)),
        ("CMC/2010/UZB/0001", "UZB", date(2010, 5, 1)),
    )
    text = f"Your ref.: {written}\nOur ref.: 12/345\n\nDear Madam,"
    found = reading.read_reply(db, text=text)
    assert (found.our_reference, found.sender_reference) == ("CMC/2010/TJK/0001", "12/345")
    best, *rest = _suggest(db, text)
    assert best.reference == "CMC/2010/TJK/0001"
    assert best.reasons[0].startswith("Quotes our reference CMC/2010/TJK/0001")
    assert best.confident
    assert all(s.score < best.score for s in rest)


def test_a_retyped_reference_that_fits_two_letters_counts_for_neither(
    db: Session, directory: Directory
) -> None:
    _letters(
        db,
        directory,
        ("TST/2010/TJK/0001", "TJK", date(2010, 5, 1)),
        ("TST-2010-TJK-001", "TJK", date(2010, 6, 1)),
    )
    assert references.our_references(db, "your letter TST 2010 TJK 1") == []
    assert reading.read_reply(db, text="Re: TST 2010 TJK 1").our_reference == ""


def test_two_letters_of_the_same_day_to_the_same_state_are_a_tie(
    db: Session, directory: Directory
) -> None:
    _letters(
        db,
        directory,
        ("CMC/2010/TJK/0002", "TJK", date(2010, 5, 1)),
        ("CMC/2010/TJK/0001", "TJK", date(2010, 5, 1)),
        ("CMC/2010/UZB/0001", "UZB", date(2010, 5, 1)),
    )
    found = _suggest(
        db, "Reference your letter dated 1 May 2010.", sender_organisation_id=directory.tjk_mfa.id
    )
    first, second, third = found
    assert [first.reference, second.reference] == ["CMC/2010/TJK/0001", "CMC/2010/TJK/0002"]
    assert first.score == second.score and first.tied and second.tied
    assert not first.confident and not second.confident
    assert not third.tied and third.reference == "CMC/2010/UZB/0001"
    assert matching.tie_note(found) == (
        "2 letters fit equally: CMC/2010/TJK/0001 (1 May 2010), CMC/2010/TJK/0002 (1 May 2010)"
    )
    # one letter standing out: no note
    assert matching.tie_note(found[2:]) is None


@pytest.mark.parametrize(
    ("ours", "expected_note"),
    [
        (date(2010, 1, 5), '"01.05.2010" read as 5 January 2010'),
        (date(2010, 5, 1), '"01.05.2010" read as 1 May 2010'),
    ],
)
def test_an_ambiguous_numeric_date_is_read_as_our_letter_to_that_state(
    db: Session, directory: Directory, ours: date, expected_note: str
) -> None:
    other = date(2010, 5, 1) if ours.month == 1 else date(2010, 1, 5)
    _letters(
        db,
        directory,
        ("CMC/2010/TJK/0001", "TJK", ours),
        ("CMC/2010/UZB/0001", "UZB", other),  # the other reading, but to another state
    )
    text = "Thank you for your letter of 01.05.2010."
    found = reading.read_reply(db, text=text, country_id=directory.tjk)
    assert found.cited_letter_date == ours
    best, *rest = _suggest(db, text, country_id=directory.tjk)
    assert best.reference == "CMC/2010/TJK/0001"
    cited = next(r for r in best.reasons if r.startswith("Cites"))
    assert expected_note in cited and "Tajikistan" in cited
    assert all(not any(r.startswith("Cites") for r in s.reasons) for s in rest)


def test_a_reply_that_answers_none_of_our_letters_is_never_confident(
    db: Session, directory: Directory
) -> None:
    _letters(
        db,
        directory,
        ("CMC/2010/TJK/0001", "TJK", date(2010, 5, 1)),
        ("CMC/2010/UZB/0001", "UZB", date(2010, 6, 3)),
    )
    # same state and a date that is not a cited letter's
    found = _suggest(db, "The seminar of 1 May 2010 was useful.", country_id=directory.tjk)
    assert found and not any(s.confident for s in found)
    # a cited date that is our letter's to another state
    kaz = countries_service.get_by_code(db, "KAZ").id
    found = _suggest(db, "Your letter of 3 June 2010 was received.", country_id=kaz)
    assert [s.reference for s in found] == ["CMC/2010/UZB/0001"]
    assert found[0].other_state and not found[0].confident
    # nothing known of the sender: a cited date alone does not settle it
    found = _suggest(db, "Your letter of 3 June 2010 was received.")
    assert not any(s.confident for s in found)


def test_links_keep_the_suggestions_reasons_or_who_linked(
    db: Session, directory: Directory
) -> None:
    letters = _letters(
        db,
        directory,
        ("CMC/2010/TJK/0001", "TJK", date(2010, 5, 1)),
        ("CMC/2010/TJK/0002", "TJK", date(2010, 6, 1)),
    )
    user = make_user(db, Role.coordinator)
    reply_id = log_reply(db, received_on=date(2010, 5, 20), full_text=FORWARDED)
    reply = service.get(db, reply_id)
    (expected, *_) = service.suggest_for_reply(db, reply)
    assert expected.reference == "CMC/2010/TJK/0001"
    service.link_letters(
        db,
        reply_id=reply_id,
        letter_ids=[letters["CMC/2010/TJK/0001"].id],
        actor=user,
        from_suggestion=True,
    )
    service.link_letters(
        db, reply_id=reply_id, letter_ids=[letters["CMC/2010/TJK/0002"].id], actor=user
    )
    links = {
        link.letter_id: link
        for link in db.scalars(select(ReplyLetter).where(ReplyLetter.reply_id == reply_id))
    }
    accepted = links[letters["CMC/2010/TJK/0001"].id]
    assert accepted.reasons == expected.reasons
    assert accepted.matched_by == "cited date"
    manual = links[letters["CMC/2010/TJK/0002"].id]
    assert (manual.matched_by, manual.reasons) == ("manual", [f"Linked by {user.full_name}"])


def test_the_extracted_fields_as_the_form_takes_them(db: Session, directory: Directory) -> None:
    _letters(db, directory, ("CMC/2010/TJK/0001", "TJK", date(2010, 5, 1)))
    text = (
        "PERMANENT MISSION OF THE REPUBLIC OF TAJIKISTAN\n"
        "TO THE UNITED NATIONS OFFICE AT GENEVA\n"
        "No. 12/345\n"
        "Geneva, 12 May 2010\n\n"
        "Dear Madam,\n"
        "With reference to your letter CMC/2010/TJK/0001 dated 1 May 2010, the Mission has the "
        "honour to inform you that the Government is considering the Convention."
    )
    found = reading.read_reply(db, subject="Cluster munitions", text=text)
    assert found.as_dict() == {
        "sender_organisation_id": directory.tjk_mission.id,
        "sender_organisation": MISSION_TJK,
        "sender_reason": found.sender_reason,
        "sender_reference": "12/345",
        "dated_on": "2010-05-12",
        "cited_letter_date": "2010-05-01",
        "our_reference": "CMC/2010/TJK/0001",
        "language": "en",
        "country": "TJK",
    }
    assert MISSION_TJK in found.sender_reason
    assert reading.read_reply(db, text="").as_dict()["dated_on"] is None


def test_a_letterhead_on_several_lines_names_the_ministry_not_the_presidency(
    db: Session,
) -> None:
    presidency = make_organisation(
        db,
        "Office of the President of the Republic of Senegal",
        type="head_of_state_office",
        country="SEN",
        name_forms={"fr": "Présidence de la République du Sénégal"},
    )
    ministry = make_organisation(
        db,
        "Ministry of Foreign Affairs of Senegal",
        country="SEN",
        name_forms={"fr": "Ministère des Affaires étrangères de la République du Sénégal"},
    )
    text = (
        "République du Sénégal\nUn Peuple – Un But – Une Foi\nMINISTÈRE DES AFFAIRES ÉTRANGÈRES\n"
        "Direction des Organisations internationales\n\nDakar, le 16 février 2009"
    )
    found = letterhead.find_sender(db, text)
    assert found is not None and found.organisation_id == ministry.id != presidency.id
    # a sentence of the body naming another office is not a letterhead
    embassy = make_organisation(
        db,
        "Embassy of Chile in the United States",
        type="embassy",
        country="CHL",
        host_city="Washington",
        name_forms={"es": "Embajada de Chile en los Estados Unidos de América"},
    )
    make_organisation(
        db,
        "Ministry of Foreign Affairs of Chile",
        country="CHL",
        name_forms={"es": "Ministerio de Relaciones Exteriores de Chile"},
    )
    text = (
        "EMBAJADA DE CHILE\nWASHINGTON D.C.\n\nWashington D.C., 20 de abril de 2010\n\n"
        "Por especial encargo del Ministerio de Relaciones Exteriores de Chile, tengo el\n"
        "agrado de dar respuesta a su carta de 3 de marzo de 2010."
    )
    found = letterhead.find_sender(db, text)
    assert found is not None and found.organisation_id == embassy.id


def test_a_letterhead_in_a_language_the_directory_lacks_is_known_by_its_city(
    db: Session,
) -> None:
    ministry = make_organisation(
        db,
        "Ministry of Foreign Affairs of Madagascar",
        country="MDG",
        host_city="Antananarivo",
        name_forms={"fr": "Ministère des Affaires étrangères de Madagascar"},
    )
    text = (
        "REPOBLIKAN'I MADAGASIKARA\nFitiavana – Tanindrazana – Fandrosoana\n"
        "MINISTÈRE DES AFFAIRES ÉTRANGÈRES\n\nAntananarivo, le 2 mars 2009"
    )
    found = letterhead.find_sender(db, text)
    assert found is not None and found.organisation_id == ministry.id
    # without the city, the generic words alone name no one
    assert letterhead.find_sender(db, "MINISTÈRE DES AFFAIRES ÉTRANGÈRES\nMonsieur,") is None


def test_letters_to_other_states_of_the_same_day_are_folded_away_on_the_form(
    db: Session, directory: Directory, client: TestClient
) -> None:
    _letters(
        db,
        directory,
        ("CMC/2010/TJK/0001", "TJK", date(2010, 5, 1)),
        ("CMC/2010/UZB/0001", "UZB", date(2010, 5, 1)),
    )
    login(client, make_user(db, Role.campaigner))
    page = client.get(
        "/replies/suggest",
        params={"sender_organisation_id": str(directory.tjk_mission.id), "full_text": FORWARDED},
        headers={"HX-Request": "true"},
    ).text
    main, _, folded = page.partition("<details")
    assert "CMC/2010/TJK/0001" in main and "CMC/2010/UZB/0001" not in main
    assert "1 letter to other states of the same date" in folded
    assert "CMC/2010/UZB/0001" in folded
