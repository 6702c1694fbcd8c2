"""Demo directory (`demarche demo`): states' offices, ministries, desks and embassies,
international organisations and coalition members. Idempotent: looks before it inserts.

The heads of state of Tajikistan, Kazakhstan, Kyrgyzstan and Uzbekistan are real office holders,
with their names in Russian, Arabic and Chinese; every other person is invented and marked as
sample data.

Over 600 lines: most of it is the demo directory itself, written out as data."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.contacts.service import organisation_search_text, person_search_text
from app.contacts.text import search_text
from app.countries import service as countries_service
from app.models import (
    ContactKind,
    ContactPoint,
    Gender,
    Organisation,
    OrganisationType,
    Person,
    Position,
    Tag,
    UnLocation,
)

# iso3, head-of-state office, head of state's title, capital, foreign-ministry name, language
STATES: list[tuple[str, str, str, str, str, str]] = [
    (
        "TJK",
        "Executive Office of the President of the Republic of Tajikistan",
        "President of the Republic of Tajikistan",
        "Dushanbe",
        "Ministry of Foreign Affairs",
        "ru",
    ),
    (
        "PAK",
        "Office of the President of Pakistan",
        "President of Pakistan",
        "Islamabad",
        "Ministry of Foreign Affairs",
        "en",
    ),
    (
        "LAO",
        "Office of the President of the Lao PDR",
        "President of the Lao PDR",
        "Vientiane",
        "Ministry of Foreign Affairs",
        "fr",
    ),
    (
        "AFG",
        "Office of the Head of State of Afghanistan",
        "Head of State",
        "Kabul",
        "Ministry of Foreign Affairs",
        "en",
    ),
    (
        "KAZ",
        "Administration of the President of Kazakhstan",
        "President of Kazakhstan",
        "Astana",
        "Ministry of Foreign Affairs",
        "ru",
    ),
    (
        "KGZ",
        "Administration of the President of the Kyrgyz Republic",
        "President of the Kyrgyz Republic",
        "Bishkek",
        "Ministry of Foreign Affairs",
        "ru",
    ),
    (
        "UZB",
        "Administration of the President of Uzbekistan",
        "President of Uzbekistan",
        "Tashkent",
        "Ministry of Foreign Affairs",
        "ru",
    ),
    (
        "AUT",
        "Office of the Federal President of Austria",
        "Federal President",
        "Vienna",
        "Federal Ministry for European and International Affairs",
        "en",
    ),
    (
        "NOR",
        "Office of the Prime Minister of Norway",
        "Prime Minister of Norway",
        "Oslo",
        "Ministry of Foreign Affairs",
        "en",
    ),
    (
        "MEX",
        "Office of the President of Mexico",
        "President of Mexico",
        "Mexico City",
        "Secretariat of Foreign Affairs",
        "es",
    ),
    (
        "CHL",
        "Office of the President of Chile",
        "President of Chile",
        "Santiago",
        "Ministry of Foreign Affairs",
        "es",
    ),
    (
        "NZL",
        "Office of the Prime Minister of New Zealand",
        "Prime Minister of New Zealand",
        "Wellington",
        "Ministry of Foreign Affairs and Trade",
        "en",
    ),
    (
        "IRL",
        "Office of the Taoiseach",
        "Taoiseach",
        "Dublin",
        "Department of Foreign Affairs",
        "en",
    ),
    (
        "CHE",
        "Federal Chancellery of Switzerland",
        "President of the Swiss Confederation",
        "Bern",
        "Federal Department of Foreign Affairs",
        "fr",
    ),
    (
        "DEU",
        "Office of the Federal President of Germany",
        "Federal President",
        "Berlin",
        "Federal Foreign Office",
        "en",
    ),
    (
        "FRA",
        "Présidence de la République française",
        "Président de la République",
        "Paris",
        "Ministère de l'Europe et des Affaires étrangères",
        "fr",
    ),
    (
        "GBR",
        "Prime Minister's Office",
        "Prime Minister of the United Kingdom",
        "London",
        "Foreign, Commonwealth and Development Office",
        "en",
    ),
    (
        "JPN",
        "Prime Minister's Office of Japan",
        "Prime Minister of Japan",
        "Tokyo",
        "Ministry of Foreign Affairs",
        "en",
    ),
    (
        "ZAF",
        "The Presidency of South Africa",
        "President of South Africa",
        "Pretoria",
        "Department of International Relations and Cooperation",
        "en",
    ),
    (
        "NGA",
        "Office of the President of Nigeria",
        "President of Nigeria",
        "Abuja",
        "Ministry of Foreign Affairs",
        "en",
    ),
    (
        "PHL",
        "Office of the President of the Philippines",
        "President of the Philippines",
        "Manila",
        "Department of Foreign Affairs",
        "en",
    ),
    (
        "IDN",
        "Office of the President of Indonesia",
        "President of Indonesia",
        "Jakarta",
        "Ministry of Foreign Affairs",
        "en",
    ),
    (
        "THA",
        "Office of the Prime Minister of Thailand",
        "Prime Minister of Thailand",
        "Bangkok",
        "Ministry of Foreign Affairs",
        "en",
    ),
    (
        "VNM",
        "Office of the President of Viet Nam",
        "President of Viet Nam",
        "Hanoi",
        "Ministry of Foreign Affairs",
        "en",
    ),
    (
        "BRA",
        "Presidency of the Republic of Brazil",
        "President of Brazil",
        "Brasília",
        "Ministry of Foreign Affairs",
        "es",
    ),
    (
        "CRI",
        "Office of the President of Costa Rica",
        "President of Costa Rica",
        "San José",
        "Ministry of Foreign Affairs and Worship",
        "es",
    ),
    (
        "SEN",
        "Presidency of the Republic of Senegal",
        "Président de la République du Sénégal",
        "Dakar",
        "Ministère de l'Intégration africaine et des Affaires étrangères",
        "fr",
    ),
]

# Invented desk officers and diplomats (sample data): given, family, gender.
SAMPLE_NAMES = [
    ("Amina", "Qureshi", Gender.feminine),
    ("Daniyar", "Seitkali", Gender.masculine),
    ("Malika", "Yusupova", Gender.feminine),
    ("Farrukh", "Nazarov", Gender.masculine),
    ("Lena", "Hartmann", Gender.feminine),
    ("Tomás", "Echeverría", Gender.masculine),
    ("Claire", "Dumont", Gender.feminine),
    ("Kenji", "Morita", Gender.masculine),
    ("Aroha", "Ngata", Gender.feminine),
    ("Sipho", "Dlamini", Gender.masculine),
]

INTERNATIONAL = [
    (
        "United Nations Office for Disarmament Affairs",
        "UNODA",
        OrganisationType.international_organisation,
        "405 East 42nd Street",
        "New York",
        "NY",
        "10017",
        "US",
        "High Representative for Disarmament Affairs",
    ),
    (
        "Organization for Security and Co-operation in Europe",
        "OSCE",
        OrganisationType.international_organisation,
        "Wallnerstrasse 6",
        "Vienna",
        "",
        "1010",
        "AT",
        "Secretary General",
    ),
    (
        "European External Action Service",
        "EU EEAS",
        OrganisationType.international_organisation,
        "Rond-Point Robert Schuman 9A",
        "Brussels",
        "",
        "1046",
        "BE",
        "High Representative",
    ),
    (
        "International Committee of the Red Cross",
        "ICRC",
        OrganisationType.international_organisation,
        "19 Avenue de la Paix",
        "Geneva",
        "",
        "1202",
        "CH",
        "President of the ICRC",
    ),
    (
        "Mines Action Canada",
        "MAC",
        OrganisationType.ngo,
        "1 Nicholas Street",
        "Ottawa",
        "ON",
        "K1N 7B7",
        "CA",
        "Executive Director",
    ),
    (
        "Norwegian People's Aid",
        "NPA",
        OrganisationType.ngo,
        "Storgata 33A",
        "Oslo",
        "",
        "0184",
        "NO",
        "Secretary General",
    ),
    (
        "Humanity & Inclusion",
        "HI",
        OrganisationType.ngo,
        "138 Avenue des Frères Lumière",
        "Lyon",
        "",
        "69008",
        "FR",
        "Director",
    ),
]


def _org(session: Session, name: str, **values: object) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        org = Organisation(name=name, **values)
        org.search_text = search_text(
            name,
            str(values.get("short_name", "")),
            str(values.get("office_title", "")),
            str(values.get("host_city", "")),
        )
        session.add(org)
        session.flush()
    return org


def _postal(session: Session, owner: Organisation | Person, **fields: str) -> None:
    column = (
        ContactPoint.organisation_id if isinstance(owner, Organisation) else ContactPoint.person_id
    )
    if session.scalar(
        select(ContactPoint.id).where(column == owner.id, ContactPoint.kind == ContactKind.postal)
    ):
        return
    key = "organisation_id" if isinstance(owner, Organisation) else "person_id"
    session.add(
        ContactPoint(
            kind=ContactKind.postal, label="Office", preferred=True, **{key: owner.id}, **fields
        )
    )


def _point(
    session: Session, owner: Organisation | Person, kind: ContactKind, value: str, label: str
) -> None:
    key = "organisation_id" if isinstance(owner, Organisation) else "person_id"
    column = getattr(ContactPoint, key)
    if session.scalar(
        select(ContactPoint.id).where(column == owner.id, ContactPoint.value == value)
    ):
        return
    session.add(
        ContactPoint(kind=kind, value=value, label=label, preferred=True, **{key: owner.id})
    )


def _person(session: Session, given: str, family: str, **values: object) -> Person:
    person = session.scalar(
        select(Person).where(Person.given_name == given, Person.family_name == family)
    )
    if person is None:
        person = Person(given_name=given, family_name=family, **values)
        person.search_text = person_search_text(person)
        person.sort_name = f"{family} {given}".lower()
        session.add(person)
        session.flush()
    return person


def _hold(
    session: Session,
    person: Person,
    org: Organisation,
    title: str,
    start: date,
    office: bool = True,
) -> None:
    if session.scalar(
        select(Position.id).where(
            Position.person_id == person.id,
            Position.organisation_id == org.id,
            Position.title == title,
        )
    ):
        return
    session.add(
        Position(
            person_id=person.id,
            organisation_id=org.id,
            title=title,
            start_date=start,
            is_office_holder=office,
        )
    )


def load(session: Session) -> None:
    usa = countries_service.get_by_code(session, "USA")
    tag = session.scalar(select(Tag).where(Tag.name == "Central Asia initiative"))
    if tag is None:
        tag = Tag(name="Central Asia initiative")
        session.add(tag)
        session.flush()
    names = iter(SAMPLE_NAMES * 10)
    for iso3, hos_name, hos_title, capital, mfa_name, lang in STATES:
        country = countries_service.get_by_code(session, iso3)
        cc = country.iso2
        tags = [tag] if iso3 in {"TJK", "PAK", "KAZ", "KGZ", "UZB", "AFG"} else []
        hos = _org(
            session,
            hos_name,
            tags=list(tags),
            type=OrganisationType.head_of_state_office,
            country_id=country.id,
            office_title=hos_title,
            preferred_language=lang,
        )
        mfa = _org(
            session,
            f"{mfa_name} of {country.name}"
            if mfa_name.startswith(("Ministry", "Department", "Secretariat"))
            else f"{mfa_name} ({country.name})",
            type=OrganisationType.ministry,
            country_id=country.id,
            office_title="Minister of Foreign Affairs",
            preferred_language=lang,
            tags=list(tags),
        )
        desk = _org(
            session,
            f"Disarmament Division, {mfa.name}",
            type=OrganisationType.ministry,
            parent_id=mfa.id,
            country_id=country.id,
            office_title="Director General (Disarmament)",
            preferred_language=lang,
            tags=list(tags),
        )
        if iso3 != "USA":
            _org(
                session,
                f"Embassy of {country.name} in the United States",
                type=OrganisationType.embassy,
                parent_id=mfa.id,
                country_id=country.id,
                host_country_id=usa.id,
                host_city="Washington",
                office_title="Ambassador",
            )
        _org(
            session,
            f"Permanent Mission of {country.name} to the United Nations Office at Geneva",
            type=OrganisationType.permanent_mission,
            parent_id=mfa.id,
            country_id=country.id,
            un_location=UnLocation.geneva,
            host_city="Geneva",
            office_title="Permanent Representative",
        )
        if iso3 != "TJK":
            _postal(session, hos, street_address="", city=capital, country_code=cc)
        _postal(session, mfa, street_address="", city=capital, country_code=cc)
        given, family, gender = next(names)
        if iso3 not in {"PAK"}:
            officer = _person(
                session,
                given,
                f"{family}",
                gender=gender,
                honorific="",
                preferred_language=lang,
                is_sample=True,
            )
            _hold(session, officer, desk, "Head, Disarmament Division", date(2023, 1, 9))
    _tajikistan(session)
    _heads_of_state(session)
    _pakistan(session)
    for name, short, kind, street, city, area, postcode, cc, title in INTERNATIONAL:
        org = _org(
            session,
            name,
            short_name=short,
            type=kind,
            office_title=title,
            tags=[] if kind != OrganisationType.ngo else [_coalition_tag(session)],
        )
        _postal(
            session,
            org,
            street_address=street,
            city=city,
            country_area=area,
            postal_code=postcode,
            country_code=cc,
        )
    session.flush()


def _coalition_tag(session: Session) -> Tag:
    tag = session.scalar(select(Tag).where(Tag.name == "Coalition member"))
    if tag is None:
        tag = Tag(name="Coalition member")
        session.add(tag)
        session.flush()
    return tag


def _tajikistan(session: Session) -> None:
    office = session.scalar(
        select(Organisation).where(
            Organisation.name == "Executive Office of the President of the Republic of Tajikistan"
        )
    )
    assert office is not None
    office.native_name = "Дастгоҳи иҷроияи Президенти Ҷумҳурии Тоҷикистон"
    rahmon = _person(
        session,
        "Emomali",
        "Rahmon",
        honorific="H.E.",
        native_name="Эмомали Рахмон",
        gender=Gender.masculine,
        preferred_language="ru",
        is_sample=False,
    )
    rahmon.search_text = person_search_text(rahmon)
    _hold(session, rahmon, office, "President of the Republic of Tajikistan", date(1994, 11, 16))
    _postal(
        session,
        office,
        street_address="80 Rudaki Avenue",
        city="Dushanbe",
        postal_code="734023",
        country_code="TJ",
    )
    _point(session, office, ContactKind.phone, "+992372216000", "Reception")


# iso3 -> given, family, in office since, their names in Russian, Arabic and Chinese
HEADS_OF_STATE: dict[str, tuple[str, str, date, dict[str, dict[str, str]]]] = {
    "TJK": (
        "Emomali",
        "Rahmon",
        date(1994, 11, 16),
        {
            "ru": {"given": "Эмомали", "patronymic": "Шарипович", "family": "Рахмон"},
            "ar": {"given": "إمام علي", "family": "رحمان"},
            "zh": {"given": "埃莫马利", "family": "拉赫蒙"},
        },
    ),
    "KAZ": (
        "Kassym-Jomart",
        "Tokayev",
        date(2019, 3, 20),
        {
            "ru": {"given": "Касым-Жомарт", "patronymic": "Кемелевич", "family": "Токаев"},
            "ar": {"given": "قاسم جومارت", "family": "توكاييف"},
            "zh": {"given": "卡瑟姆-若马尔特", "family": "托卡耶夫"},
        },
    ),
    "KGZ": (
        "Sadyr",
        "Japarov",
        date(2021, 1, 28),
        {
            "ru": {"given": "Садыр", "patronymic": "Нургожоевич", "family": "Жапаров"},
            "ar": {"given": "صادر", "family": "جباروف"},
            "zh": {"given": "萨德尔", "family": "扎帕罗夫"},
        },
    ),
    "UZB": (
        "Shavkat",
        "Mirziyoyev",
        date(2016, 12, 14),
        {
            "ru": {"given": "Шавкат", "patronymic": "Миромонович", "family": "Мирзиёев"},
            "ar": {"given": "شوكت", "family": "ميرضيايف"},
            "zh": {"given": "沙夫卡特", "family": "米尔济约耶夫"},
        },
    ),
}
# the offices and ministries of those states in Russian, Arabic and Chinese
OFFICE_FORMS: dict[str, dict[str, str]] = {
    "Executive Office of the President of the Republic of Tajikistan": {
        "ru": "Исполнительный аппарат Президента Республики Таджикистан",
        "ar": "المكتب التنفيذي لرئيس جمهورية طاجيكستان",
        "zh": "塔吉克斯坦共和国总统执行办公室",
    },
    "Ministry of Foreign Affairs of Tajikistan": {
        "ru": "Министерство иностранных дел Республики Таджикистан",
        "ar": "وزارة خارجية جمهورية طاجيكستان",
        "zh": "塔吉克斯坦共和国外交部",
    },
    "Administration of the President of Kazakhstan": {
        "ru": "Администрация Президента Республики Казахстан",
        "ar": "إدارة رئيس جمهورية كازاخستان",
        "zh": "哈萨克斯坦共和国总统办公厅",
    },
    "Ministry of Foreign Affairs of Kazakhstan": {
        "ru": "Министерство иностранных дел Республики Казахстан",
        "ar": "وزارة خارجية جمهورية كازاخستان",
        "zh": "哈萨克斯坦共和国外交部",
    },
}


def _heads_of_state(session: Session) -> None:
    """Real heads of state holding their states' offices, with their names in other scripts
    (set on every run: the same values each time)."""
    for iso3, (given, family, since, forms) in HEADS_OF_STATE.items():
        office_name = next(s[1] for s in STATES if s[0] == iso3)
        title = next(s[2] for s in STATES if s[0] == iso3)
        office = session.scalar(select(Organisation).where(Organisation.name == office_name))
        assert office is not None
        person = _person(
            session,
            given,
            family,
            honorific="H.E.",
            gender=Gender.masculine,
            preferred_language="ru",
            is_sample=False,
        )
        person.name_forms = forms
        person.search_text = person_search_text(person)
        _hold(session, person, office, title, since)
    for name, org_forms in OFFICE_FORMS.items():
        org = session.scalar(select(Organisation).where(Organisation.name == name))
        if org is not None:
            org.name_forms = org_forms
            org.search_text = organisation_search_text(org)


def _pakistan(session: Session) -> None:
    mfa = session.scalar(
        select(Organisation).where(Organisation.name == "Ministry of Foreign Affairs of Pakistan")
    )
    embassy = session.scalar(
        select(Organisation).where(Organisation.name == "Embassy of Pakistan in the United States")
    )
    desk = session.scalar(
        select(Organisation).where(
            Organisation.name == "Disarmament Division, Ministry of Foreign Affairs of Pakistan"
        )
    )
    assert mfa is not None and embassy is not None and desk is not None
    _postal(
        session,
        embassy,
        street_address="3517 International Court, N.W.",
        city="Washington",
        country_area="DC",
        postal_code="20008",
        country_code="US",
    )
    _point(session, embassy, ContactKind.phone, "+12022436500", "Chancery")
    # the ministry's postal line was created city-only above; give it its street
    for cp in session.scalars(
        select(ContactPoint).where(
            ContactPoint.organisation_id == mfa.id, ContactPoint.kind == ContactKind.postal
        )
    ):
        if not cp.street_address:
            cp.street_address = "Constitution Avenue, G-5"
            cp.postal_code = "44000"
    minister = _person(
        session, "Sadia", "Rehman", honorific="H.E.", gender=Gender.feminine, is_sample=True
    )
    _hold(session, minister, mfa, "Minister of Foreign Affairs", date(2024, 3, 11))
    dg = _person(
        session, "Imran", "Farooqi", honorific="Mr", gender=Gender.masculine, is_sample=True
    )
    _hold(session, dg, desk, "Director General (Disarmament)", date(2022, 8, 1))
    counsellor = _person(
        session, "Nadia", "Baig", honorific="Ms", gender=Gender.feminine, is_sample=True
    )
    _hold(session, counsellor, embassy, "Counsellor", date(2023, 9, 4), office=False)
    _point(session, counsellor, ContactKind.email, "n.baig@embassy-pk.example", "Work")
