"""A small directory to export: a ministry with its minister, people in Cyrillic and Arabic,
do-not-contact flags, two people at the same address, a formula in a name."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from app.contacts import service as contacts_service
from app.contacts.schemas import ContactPointCreate
from app.models import Organisation, Person, Role, Segment, User
from tests.factories import make_organisation, make_person, make_position, make_user


def pdf_text(data: bytes) -> tuple[int, str]:
    """A PDF's page count and its text, pages joined by newlines."""
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(p.extract_text() or "" for p in reader.pages)


def postal(
    session: Session,
    *,
    person: Person | None = None,
    org: Organisation | None = None,
    street: str,
    city: str,
    code: str,
    postcode: str = "",
    area: str = "",
) -> None:
    contacts_service.create_contact_point(
        session,
        data=ContactPointCreate(
            kind="postal",
            person_id=person.id if person else None,
            organisation_id=org.id if org else None,
            street_address=street,
            city=city,
            postal_code=postcode,
            country_area=area,
            country_code=code,
        ),
        actor=None,
    )


def email(session: Session, person: Person, value: str) -> None:
    contacts_service.create_contact_point(
        session,
        data=ContactPointCreate(kind="email", person_id=person.id, value=value),
        actor=None,
    )


def _point(session: Session, **data: object) -> None:
    contacts_service.create_contact_point(
        session, data=ContactPointCreate.model_validate(data), actor=None
    )


@dataclass
class Directory:
    tag: str
    ministry: Organisation
    minister: Person
    russian: Person
    arabic: Person
    no_post: Person
    no_email: Person
    formula: Person
    colleague: Person
    segment: Segment


@pytest.fixture
def directory(db: Session) -> Directory:
    return build_directory(db)


def build_directory(db: Session) -> Directory:
    tag = "export-test"
    ministry = make_organisation(
        db,
        "Ministry of Foreign Affairs of Tajikistan",
        country="TJK",
        office_title="Minister of Foreign Affairs",
        tags=[tag],
    )
    postal(
        db, org=ministry, street="33 Sheroz Street", city="Dushanbe", code="TJ", postcode="734051"
    )
    minister = make_person(
        db,
        honorific="H.E. Mr",
        given_name="Sirojiddin",
        family_name="Muhriddin",
        native_name="Сироҷиддин Муҳриддин",
        tags=[tag],
    )
    make_position(
        db, minister, ministry, title="Minister of Foreign Affairs", is_office_holder=True
    )
    russian = make_person(db, given_name="Мария", family_name="Иванова", tags=[tag])
    postal(
        db,
        person=russian,
        street="ул. Тверская, 13",
        city="Москва",
        code="RU",
        postcode="125009",
        area="Москва",
    )
    email(db, russian, "maria@example.org")
    arabic = make_person(db, given_name="", family_name="", native_name="ليلى الحسن", tags=[tag])
    postal(db, person=arabic, street="12 شارع النيل", city="القاهرة", code="EG", postcode="11511")
    no_post = make_person(db, given_name="Paul", family_name="Nopost", no_post=True, tags=[tag])
    postal(
        db, person=no_post, street="1 Rue de Lausanne", city="Genève", code="CH", postcode="1202"
    )
    no_email = make_person(db, given_name="Ella", family_name="Noemail", no_email=True, tags=[tag])
    postal(
        db, person=no_email, street="2 Rue de Lausanne", city="Genève", code="CH", postcode="1202"
    )
    formula = make_person(
        db, given_name='=HYPERLINK("http://evil")', family_name="+Attack", tags=[tag]
    )
    postal(db, person=formula, street="-2 Evil Road", city="@Town", code="GB", postcode="SW1A 1AA")
    colleague = make_person(db, given_name="Anna", family_name="Colleague", tags=[tag])
    postal(
        db,
        person=colleague,
        street="ул. Тверская, 13",
        city="Москва",
        code="RU",
        postcode="125009",
        area="Москва",
    )
    segment = Segment(name="Export test segment", filters={"tag": tag})
    db.add(segment)
    db.flush()
    return Directory(
        tag, ministry, minister, russian, arabic, no_post, no_email, formula, colleague, segment
    )


@pytest.fixture
def coordinator(db: Session) -> User:
    return make_user(db, Role.coordinator)


@pytest.fixture
def campaigner(db: Session) -> User:
    return make_user(db, Role.campaigner)


@pytest.fixture
def tricky(db: Session, directory: Directory) -> list[int]:
    return build_tricky(db, directory)


def build_tricky(db: Session, directory: Directory) -> list[int]:
    """People whose rows take each branch: two current positions, ended and future positions,
    contact points of their organisation, a preferred point after an older one, flags and
    languages that come from the organisation."""
    today = date.today()
    embassy = make_organisation(
        db,
        "Embassy of Tajikistan in Berlin",
        country="TJK",
        preferred_language="ru",
        no_email=True,
        tags=[directory.tag],
    )
    postal(
        db, org=embassy, street="Perleberger Str. 43", city="Berlin", code="DE", postcode="10559"
    )
    _point(db, kind="email", organisation_id=embassy.id, value="-embassy@example.org")
    _point(db, kind="phone", organisation_id=embassy.id, value="+49 30 347 9300")

    holder = make_person(db, given_name="Zarina", family_name="Holder", tags=[directory.tag])
    make_position(db, holder, embassy, title="Counsellor", start_date=today - timedelta(days=30))
    mission = make_organisation(db, "Permanent Mission of Tajikistan in Geneva", country="TJK")
    make_position(
        db,
        holder,
        mission,  # not in the segment: the holder is listed in person
        title="Ambassador-at-large",
        is_office_holder=True,
        start_date=date(2015, 1, 1),
    )
    latest = make_person(db, given_name="Rustam", family_name="Latest", tags=[directory.tag])
    make_position(db, latest, directory.ministry, title="Adviser", start_date=date(2012, 5, 1))
    make_position(db, latest, embassy, title="First Secretary", start_date=date(2019, 9, 1))
    make_position(db, latest, embassy, title="Intern")  # no start date: oldest
    former = make_person(db, given_name="Olim", family_name="Former", tags=[directory.tag])
    make_position(
        db,
        former,
        embassy,
        title="Attaché",
        start_date=date(2001, 1, 1),
        end_date=date(2003, 1, 1),
    )
    make_position(db, former, embassy, title="Next", start_date=today + timedelta(days=10))
    choosy = make_person(db, given_name="Nodira", family_name="Choosy", tags=[directory.tag])
    email(db, choosy, "older@example.org")
    _point(db, kind="email", person_id=choosy.id, value="preferred@example.org", preferred=True)
    return [holder.id, latest.id, former.id, choosy.id]
