"""Folding: one key for search, aliases, duplicates and imports, whatever the case, accents,
alphabet or transliteration scheme; the search column and its rebuild."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.contacts import search as contacts_search
from app.contacts import searchindex, service
from app.contacts.schemas import ContactPointCreate, SearchFilters
from app.contacts.text import fold, search_text, terms, variants
from app.models import Alias, AliasKind, Organisation, Person
from tests.factories import make_organisation, make_person


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("José Hernández", "Jose Hernandez"),
        ("JOSÉ HERNÁNDEZ", "josé hernández"),
        ("Раҳмон", "Рахмон"),  # Tajik ҳ, Russian х
        ("Тоқаев", "Токаев"),  # Kazakh қ
        ("Ғафуров", "Гафуров"),  # Tajik/Uzbek ғ
        ("Ҷумъа", "Чумъа"),  # Tajik ҷ is the Russian ч
        ("Әлихан", "Алихан"),  # Kazakh ә
        ("Өмірзақ", "Омирзак"),  # Kazakh ө, і, қ
        ("Ўзбекистон", "Узбекистон"),  # Uzbek ў
        ("Ёлкин", "Елкин"),
        ("Ұлы", "Улы"),
        ("Straße", "STRASSE"),
        ("O‘zbekiston", "Ozbekiston"),  # Uzbek apostrophes
        ("Ærø", "aero"),
    ],
)
def test_spellings_fold_alike(one: str, other: str) -> None:
    assert fold(one) == fold(other)
    assert fold(one).isascii()


def test_every_script_is_written_in_latin() -> None:
    assert fold("Раҳмон") == "rahmon"
    assert fold("外交部") == "wai jiao bu"
    assert fold("وزارة الخارجية").startswith("wzar")
    assert fold("  Jean   Dupont ") == "jean dupont"


def test_both_transliteration_schemes_are_kept_for_cyrillic() -> None:
    assert variants("Рахмон") == ("rahmon", "rakhmon")
    assert variants("Жуков") == ("zukov", "zhukov")
    assert variants("José") == ("jose",)
    assert variants("") == ()
    text = search_text("Эмомали", "Рахмон", "Rahmon")
    assert text.split(" | ") == ["emomali", "rahmon", "rakhmon"]


def test_query_terms_are_folded_words() -> None:
    assert terms("Раҳмон Эмомали") == ["rahmon", "emomali"]
    assert terms("100%_done") == ["100", "done"]
    assert len(terms(" ".join(f"w{i}" for i in range(20)))) == 8


def _search(db: Session, q: str, kind: str = "") -> set[tuple[str, int]]:
    page = contacts_search.search(db, SearchFilters(q=q, kind=kind), per_page=200)
    return {(hit.kind, hit.id) for hit in page.items}


@pytest.mark.parametrize("query", ["Раҳмон", "Рахмон", "Rahmon", "Rakhmon", "RAHMON", "рахмон"])
def test_a_person_is_found_in_any_script_and_spelling(db: Session, query: str) -> None:
    person = make_person(db, given_name="", family_name="", native_name="Эмомали Раҳмон")
    other = make_person(db, given_name="Emomali", family_name="Sharipov")
    found = _search(db, query, "person")
    assert ("person", person.id) in found
    assert ("person", other.id) not in found


def test_russian_spelling_finds_the_kazakh_one(db: Session) -> None:
    person = make_person(db, given_name="", family_name="", native_name="Қасым-Жомарт Тоқаев")
    assert ("person", person.id) in _search(db, "Токаев")
    assert ("person", person.id) in _search(db, "Tokaev")
    assert ("person", person.id) not in _search(db, "Токарев")


def test_accents_and_case_do_not_matter(db: Session) -> None:
    person = make_person(db, given_name="José", family_name="Hernández")
    assert ("person", person.id) in _search(db, "jose HERNANDEZ")
    assert ("person", person.id) in _search(db, "Hernández")


def test_organisations_are_found_by_email_and_alias(db: Session) -> None:
    org = make_organisation(db, "Embassy of Tajikistan in Vienna")
    service.create_contact_point(
        db,
        data=ContactPointCreate(organisation_id=org.id, kind="email", value="tajemb@austria.tj"),
        actor=None,
    )
    assert ("organisation", org.id) in _search(db, "tajemb@austria.tj")
    assert ("organisation", org.id) in _search(db, "tajemb")
    db.add(Alias(organisation_id=org.id, name="Посольство Таджикистана", kind=AliasKind.spelling))
    db.flush()
    service.refresh_search(db, "organisation", org.id)
    assert ("organisation", org.id) in _search(db, "посольство таджикистана")
    assert ("organisation", org.id) not in _search(db, "tajemb@austria.tk")


def test_reindex_rebuilds_stale_search_columns(db: Session) -> None:
    person = make_person(db, given_name="", family_name="", native_name="Раҳмон")
    org = make_organisation(db, "МИД Республики Таджикистан")
    db.add(Alias(person_id=person.id, name="Мухриддин", folded="stale"))
    db.flush()
    # as an older release folded them: one scheme, no aliases
    db.execute(update(Person).where(Person.id == person.id).values(search_text="rakh'mon"))
    db.execute(update(Organisation).where(Organisation.id == org.id).values(search_text="x"))
    report = searchindex.reindex(db)
    assert report.people >= 1 and report.organisations >= 1 and report.aliases >= 1
    stored = db.scalar(select(Person.search_text).where(Person.id == person.id))
    assert stored is not None and "rahmon" in stored and "muhriddin" in stored
    assert "mukhriddin" in stored
    assert db.scalar(select(Alias.folded).where(Alias.person_id == person.id)) == "muhriddin"
    assert "mid respubliki tadzikistan" in (
        db.scalar(select(Organisation.search_text).where(Organisation.id == org.id)) or ""
    )
    again = searchindex.reindex(db)
    assert (again.people, again.organisations, again.aliases) == (0, 0, 0)


def test_reindex_command(connection: object) -> None:
    from app.cli import app as cli

    result = CliRunner().invoke(cli, ["contacts", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Search index rebuilt" in result.output
