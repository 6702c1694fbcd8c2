"""Importing embassies and missions abroad, and what the import keeps of a coalition's sheet:
addresses and phones of the host country carried through to letters, labels and vCards, the
organisation type of people's rows, honorifics, headers in four languages, fuller addresses,
and dry-run counts that are the import's."""

from __future__ import annotations

from typing import Any

import vobject
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.contacts import recipients as contacts_recipients
from app.contacts.imports import csvfile
from app.contacts.imports.csvfile import write_csv
from app.contacts.imports.schemas import ImportOptions, ImportReport
from app.contacts.imports.service import run
from app.models import (
    ContactKind,
    ContactPoint,
    Country,
    Organisation,
    OrganisationType,
    Person,
    Position,
    Role,
    Segment,
)
from tests.exports.conftest import pdf_text
from tests.factories import api_headers, make_organisation, make_person, make_position, make_user

HEADERS = ["Title", "Name", "Organisation", "Organisation type", "Country", "Host country"]
HEADERS += ["Host city", "Address", "City", "Postal code", "State/Province", "Phone", "Email"]
HEADERS += ["Tags"]
SHEET = [
    # an ambassador in Washington: US address, US phone written as dialled there
    ["H.E.", "Masood Khan", "Embassy of Pakistan in Washington", "embassy", "Pakistan"]
    + ["United States", "Washington", "3517 International Court NW", "Washington", "20008"]
    + ["DC", "(202) 243-6500", "info@embassyofpakistanusa.org", "abroad"],
    # a colleague's row says nothing of the host country: the embassy's row did
    ["", "Ali Nawaz", "Embassy of Pakistan in Washington", "", "PK", "", "", "", "", "", ""]
    + ["202-243-6501", "", "abroad"],
    # a permanent representative in Geneva: Swiss address and phone, Russian Federation's mission
    ["S.E. M.", "Gennady Gatilov", "Permanent Mission of the Russian Federation in Geneva"]
    + ["permanent_mission", "Russian Federation", "Switzerland", "Geneva"]
    + ["Avenue de la Paix 15", "Genève", "1202", "", "022 733 18 70"]
    + ["mission.russian@vtxnet.ch", "abroad"],
    # a mission in New York
    ["Excmo. Sr.", "Kairat Umarov", "Permanent Mission of Kazakhstan to the United Nations"]
    + ["permanent_mission", "KZ", "US", "New York", "305 East 47th Street, 3rd Floor"]
    + ["New York", "10017", "NY", "212-230-1900", "kazakhstan@un.int", "abroad"],
    # an embassy's own row (no person)
    ["", "", "Embassy of Tajikistan in Washington", "embassy", "TJ", "US", "Washington"]
    + ["1005 New Hampshire Ave NW", "Washington", "20037", "DC", "(202) 223-6090"]
    + ["tajikistan@verizon.net", "abroad"],
]


def _import(db: Session, data: bytes, dry_run: bool = False, **options: Any) -> ImportReport:
    return run(
        db,
        data=data,
        filename="coalition.csv",
        options=ImportOptions.model_validate(options),
        dry_run=dry_run,
        actor=None,
    )


def _sheet(rows: list[list[str]] = SHEET, headers: list[str] = HEADERS) -> bytes:
    return write_csv(headers, rows).encode("utf-8")


def _person(db: Session, family: str) -> Person:
    person = db.scalar(select(Person).where(Person.family_name == family))
    assert person is not None, family
    return person


def _org(db: Session, name: str) -> Organisation:
    org = db.scalar(select(Organisation).where(Organisation.name == name))
    assert org is not None, name
    return org


def _points(db: Session, **owner: int) -> dict[str, list[ContactPoint]]:
    column = ContactPoint.person_id if "person_id" in owner else ContactPoint.organisation_id
    out: dict[str, list[ContactPoint]] = {}
    for cp in db.scalars(
        select(ContactPoint).where(column == next(iter(owner.values()))).order_by(ContactPoint.id)
    ):
        out.setdefault(cp.kind.value, []).append(cp)
    return out


def _iso2(db: Session, country_id: int | None) -> str:
    return db.scalar(select(Country.iso2).where(Country.id == country_id)) or ""


def test_embassies_and_missions_are_addressed_in_their_host_country(
    client: TestClient, db: Session
) -> None:
    report = _import(db, _sheet())
    assert report.bad_rows == [], report.bad_rows
    assert report.mapping[:2] == ["honorific", "full_name"]  # "H.E." is no position
    assert report.mapping[5:7] == ["host_country", "host_city"]

    embassy = _org(db, "Embassy of Pakistan in Washington")
    assert embassy.type == OrganisationType.embassy
    assert (_iso2(db, embassy.country_id), _iso2(db, embassy.host_country_id)) == ("PK", "US")
    assert embassy.host_city == "Washington"
    mission = _org(db, "Permanent Mission of the Russian Federation in Geneva")
    assert mission.type == OrganisationType.permanent_mission
    assert (_iso2(db, mission.country_id), _iso2(db, mission.host_country_id)) == ("RU", "CH")

    khan, nawaz, gatilov = (_person(db, n) for n in ("Khan", "Nawaz", "Gatilov"))
    assert khan.honorific == "H.E." and gatilov.honorific == "S.E. M."
    # national-format numbers read where the contact is
    assert _points(db, person_id=khan.id)["phone"][0].value == "+12022436500"
    assert _points(db, person_id=nawaz.id)["phone"][0].value == "+12022436501"
    assert _points(db, person_id=gatilov.id)["phone"][0].value == "+41227331870"
    assert _points(db, person_id=_person(db, "Umarov").id)["phone"][0].value == "+12122301900"
    tajik = _org(db, "Embassy of Tajikistan in Washington")
    assert _points(db, organisation_id=tajik.id)["phone"][0].value == "+12022236090"
    assert _points(db, person_id=khan.id)["postal"][0].country_code == "US"
    assert _points(db, person_id=gatilov.id)["postal"][0].country_code == "CH"

    # letters: the recipient's address block is the host country's
    block = list(contacts_recipients.recipient(db, person_id=khan.id).address_lines)
    assert block[-1] == "UNITED STATES" and "WASHINGTON, DC 20008" in block
    assert "PAKISTAN" not in block
    geneva = list(contacts_recipients.recipient(db, person_id=gatilov.id).address_lines)
    assert geneva[-1] == "SWITZERLAND" and "CH-1202 Genève" in geneva
    assert "RUSSIAN FEDERATION" not in geneva
    office = list(contacts_recipients.recipient(db, organisation_id=tajik.id).address_lines)
    assert office[-1] == "UNITED STATES" and "WASHINGTON, DC 20037" in office

    # labels and vCards of the same people
    segment = Segment(name="Abroad", filters={"tag": "abroad"})
    db.add(segment)
    db.flush()
    headers = api_headers(db, make_user(db, Role.coordinator))
    body = {"source": "segment", "segment_id": segment.id}
    labels = client.post("/api/v1/exports", headers=headers, json={**body, "format": "labels"})
    assert labels.status_code == 200, labels.text
    _, text = pdf_text(labels.content)
    lines = [line.strip() for line in text.splitlines()]
    assert "WASHINGTON, DC 20008" in lines and "CH-1202 Genève" in lines
    assert lines.count("UNITED STATES") >= 3 and "SWITZERLAND" in lines
    assert "PAKISTAN" not in lines and "RUSSIAN FEDERATION" not in lines
    cards = client.post("/api/v1/exports", headers=headers, json={**body, "format": "vcard"})
    assert cards.status_code == 200, cards.text
    by_name = {c.fn.value: c for c in vobject.readComponents(cards.content.decode())}
    khan_card = next(c for name, c in by_name.items() if "Khan" in name)
    assert khan_card.adr.value.street == "3517 International Court NW"
    assert khan_card.adr.value.country in ("US", "United States", "UNITED STATES")
    gatilov_card = next(c for name, c in by_name.items() if "Gatilov" in name)
    assert gatilov_card.adr.value.country in ("CH", "Switzerland", "SWITZERLAND")


def test_an_address_country_column_wins_and_defaults_to_the_host_country(db: Session) -> None:
    headers = ["Name", "Organisation", "Country", "Host country", "Address country"]
    headers += ["Address", "City", "Postal code", "Phone"]
    rows = [
        # a consulate's postal address across the border from its host city
        ["Ana Ruiz", "Consulate of Spain", "ES", "CH", "FR", "1 Rue de Genève", "Annemasse"]
        + ["74100", "04 50 37 00 00"],
        ["Luis Gil", "Consulate of Spain", "ES", "CH", "", "Rue Pestalozzi 7", "Genève", "1202"]
        + ["022 734 46 06"],
        ["Eva Sanz", "Ministry of Foreign Affairs", "ES", "", "", "Plaza del Marqués 1"]
        + ["Madrid", "28012", "913 79 97 00"],
    ]
    report = _import(db, _sheet(rows, headers))
    assert report.bad_rows == [], report.bad_rows
    assert report.mapping[4] == "address_country"
    found = {
        family: (
            _points(db, person_id=_person(db, family).id)["postal"][0].country_code,
            _points(db, person_id=_person(db, family).id)["phone"][0].value,
        )
        for family in ("Ruiz", "Gil", "Sanz")
    }
    assert found == {
        "Ruiz": ("FR", "+33450370000"),
        "Gil": ("CH", "+41227344606"),
        "Sanz": ("ES", "+34913799700"),
    }
    atlantis = [["X Y", "Z", "ES", "", "Atlantis", "1 A St", "B", "", ""]]
    refused = _import(db, _sheet(atlantis, headers), dry_run=True)
    assert refused.bad_rows[0].reasons == ["unknown address country 'Atlantis'"]


def test_a_person_added_to_an_embassy_already_in_the_directory_is_addressed_there(
    db: Session,
) -> None:
    make_organisation(
        db, "Embassy of Laos in Washington", type="embassy", country="LA", host_country="US"
    )
    headers = ["Given name", "Family name", "Organisation", "Country", "Phone", "Address", "City"]
    headers += ["Postal code"]
    rows = [["Khamphao", "Ernthavanh", "Embassy of Laos in Washington", "LA", "(202) 332-6416"]]
    rows[0] += ["2222 S Street NW", "Washington", "20008"]
    report = _import(db, _sheet(rows, headers))
    assert report.bad_rows == [] and report.created.organisations == 0
    points = _points(db, person_id=_person(db, "Ernthavanh").id)
    assert points["phone"][0].value == "+12023326416"
    assert points["postal"][0].country_code == "US"


def test_the_organisation_type_of_peoples_rows_is_kept(db: Session) -> None:
    headers = ["Given name", "Family name", "Organisation", "Organisation type", "Country"]
    rows = [
        ["Sirojiddin", "Muhriddin", "Ministry of Foreign Affairs of Tajikistan", "Ministry", "TJ"],
        ["Emomali", "Rahmon", "Executive Office of the President", "head_of_state_office", "TJ"],
        ["Jane", "Doe", "Geneva Disarmament Platform", "", "CH"],
        ["John", "Roe", "Ministry of Foreign Affairs of Tajikistan", "", "TJ"],
    ]
    report = _import(db, _sheet(rows, headers), new_organisation_type="international_organisation")
    assert report.bad_rows == [] and report.created.organisations == 3
    found = db.execute(
        select(Organisation.name, Organisation.type).where(
            Organisation.name.in_([r[2] for r in rows])
        )
    )
    types = {row[0]: row[1] for row in found}
    assert types == {
        "Ministry of Foreign Affairs of Tajikistan": OrganisationType.ministry,
        "Executive Office of the President": OrganisationType.head_of_state_office,
        # no type on any of its rows: the import's default
        "Geneva Disarmament Platform": OrganisationType.international_organisation,
    }


def test_honorifics_in_a_title_column_are_honorifics(db: Session) -> None:
    headers = ["Title", "Given name", "Family name", "Organisation", "Country"]
    rows = [
        ["Его Превосходительство", "Сергей", "Лавров", "МИД России", "RU"],
        ["Excmo. Sr.", "José Manuel", "Albares", "Ministerio de Asuntos Exteriores", "ES"],
        ["S.E. Mme", "Catherine", "Colonna", "Ministère de l'Europe", "FR"],
    ]
    report = _import(db, _sheet(rows, headers))
    assert report.mapping[0] == "honorific"
    assert _person(db, "Лавров").honorific == "Его Превосходительство"
    assert _person(db, "Albares").honorific == "Excmo. Sr."
    # a Title column of positions keeps them, and an honorific on one row still goes across
    mixed = [
        ["President", "Kassym-Jomart", "Tokayev", "Presidency of Kazakhstan", "KZ"],
        ["H.E.", "Murat", "Nurtleu", "Ministry of Foreign Affairs of Kazakhstan", "KZ"],
    ]
    report = _import(db, _sheet(mixed, [*headers[:4], "State"]))
    assert report.mapping[0] == "title"
    tokayev, nurtleu = _person(db, "Tokayev"), _person(db, "Nurtleu")
    assert tokayev.honorific == "" and nurtleu.honorific == "H.E."
    titles = dict(
        db.execute(
            select(Position.person_id, Position.title).where(
                Position.person_id.in_([tokayev.id, nurtleu.id])
            )
        ).all()
    )
    assert titles == {tokayev.id: "President", nurtleu.id: ""}


def test_headers_in_french_spanish_and_russian() -> None:
    expected = ["given_name", "family_name", "organisation", "title", "country", "city"]
    expected += ["address_line1", "postal_code", "email", "phone"]
    for headers in (
        ["Prénom", "Nom", "Organisation", "Fonction", "Pays", "Ville", "Adresse", "Code postal"]
        + ["Courriel", "Téléphone"],
        ["Nombre", "Apellido", "Organización", "Cargo", "País", "Ciudad", "Dirección"]
        + ["Código postal", "Correo", "Teléfono"],
        ["Имя", "Фамилия", "Организация", "Должность", "Страна", "Город", "Адрес", "Индекс"]
        + ["Эл. почта", "Телефон"],
    ):
        assert csvfile.guess_mapping(headers) == expected, headers


def test_a_fuller_address_becomes_the_preferred_one(db: Session) -> None:
    org = make_organisation(db, "Ministry of Foreign Affairs of Kazakhstan", country="KZ")
    person = make_person(db, given_name="Murat", family_name="Nurtleu")
    make_position(db, person, org, title="Minister")
    city_only = ContactPoint(
        person_id=person.id,
        kind=ContactKind.postal,
        preferred=True,
        city="Astana",
        country_code="KZ",
    )
    db.add(city_only)
    db.flush()
    before = list(contacts_recipients.recipient(db, person_id=person.id).address_lines)
    assert before[0] == "ASTANA" and before[-1] == "KAZAKHSTAN" and len(before) == 5
    headers = ["Given name", "Family name", "Organisation", "Country", "Address", "City"]
    headers += ["Postal code"]
    row = ["Murat", "Nurtleu", org.name, "KZ", "Mangilik El Avenue 8", "Astana", "010000"]
    report = _import(db, _sheet([row], headers))
    assert report.updated.people == 1 and report.created.people == 0
    db.expire_all()
    postal = _points(db, person_id=person.id)["postal"]
    assert [(p.city, p.street_address, p.preferred) for p in postal] == [
        ("Astana", "", False),
        ("Astana", "Mangilik El Avenue 8", True),
    ]
    block = list(contacts_recipients.recipient(db, person_id=person.id).address_lines)
    assert "Mangilik El Avenue 8" in block
    # a row that says "not preferred" adds the address and leaves the preferred one alone
    headers.append("Preferred")
    other = ["Murat", "Nurtleu", org.name, "KZ", "Dostyk 2", "Astana", "010000", "no"]
    _import(db, _sheet([other], headers))
    db.expire_all()
    assert [p.preferred for p in _points(db, person_id=person.id)["postal"]] == [False, True, False]
    # and "yes" makes an address the record has already its preferred one
    again = ["Murat", "Nurtleu", org.name, "KZ", "Dostyk 2", "Astana", "010000", "yes"]
    _import(db, _sheet([again], headers))
    db.expire_all()
    assert [p.preferred for p in _points(db, person_id=person.id)["postal"]] == [False, False, True]


def test_dry_run_counts_are_the_imports(db: Session) -> None:
    org = make_organisation(db, "Ministry of Foreign Affairs of Tajikistan", country="TJ")
    person = make_person(db, given_name="Sirojiddin", family_name="Muhriddin")
    make_position(db, person, org, title="Minister")
    make_person(db, given_name="Zarina", family_name="Nazarova")
    headers = ["Given name", "Family name", "Organisation", "Country", "Email", "Phone"]
    headers += ["Address", "City", "Postal code", "Tags"]
    rows = [
        # completes an existing person: a new email, an address, a tag
        ["Sirojiddin", "Muhriddin", org.name, "TJ", "mfa@mfa.tj", "", "Sheroz 33", "Dushanbe"]
        + ["734001", "ccm"],
        # the same person again in the file, with a phone
        ["Sirojiddin", "Muhriddin", org.name, "TJ", "", "+992 37 221 1234", "", "", "", ""],
        # new people, one at a new organisation
        ["Aziz", "Karimov", "Embassy of Tajikistan in Berlin", "TJ", "", "", "", "", "", "ccm"],
        ["Saida", "Rahimova", org.name, "TJ", "saida@mfa.tj", "", "", "", "", "mbt"],
        # an existing person with no organisation gains a position and nothing else twice
        ["Zarina", "Nazarova", "", "TJ", "z@example.tj", "", "", "", "", ""],
        # an organisation's own row
        ["", "", "Permanent Mission of Tajikistan in Geneva", "TJ", "", "", "", "", "", ""],
        # a bad row is left out of both
        ["Bad", "Row", "", "TJ", "not-an-email", "", "", "", "", ""],
    ]
    data = _sheet(rows, headers)
    dry = _import(db, data, dry_run=True)
    assert [b.row for b in dry.bad_rows] == [8]
    good = _sheet(rows[:-1], headers)
    dry = _import(db, good, dry_run=True)
    real = _import(db, good)
    assert real.imported
    assert dry.created == real.created and dry.updated == real.updated
    assert real.created.people == 2 and real.created.organisations == 2
    assert real.updated.people == 2 and real.created.tags == 2
    # a second dry run now plans nothing, as the import would do
    after = _import(db, good, dry_run=True)
    assert after.created.model_dump() == dict.fromkeys(after.created.model_dump(), 0)
    assert after.updated.people == 0


def test_contact_points_take_the_host_country_through_the_api_and_the_form(
    client: TestClient, db: Session
) -> None:
    embassy = make_organisation(
        db, "Embassy of Pakistan in Washington", type="embassy", country="PK", host_country="US"
    )
    diplomat = make_person(db, given_name="Ali", family_name="Nawaz")
    make_position(db, diplomat, embassy, title="Counsellor")
    headers = api_headers(db, make_user(db, Role.coordinator))
    phone = client.post(
        "/api/v1/contact-points",
        headers=headers,
        json={"organisation_id": embassy.id, "kind": "phone", "value": "(202) 243-6500"},
    )
    assert phone.status_code == 201, phone.text
    assert phone.json()["value"] == "+12022436500"
    own = client.post(
        "/api/v1/contact-points",
        headers=headers,
        json={"person_id": diplomat.id, "kind": "fax", "value": "202 686 1534"},
    )
    assert own.status_code == 201 and own.json()["value"] == "+12026861534"
    postal = client.post(
        "/api/v1/contact-points",
        headers=headers,
        json={
            "organisation_id": embassy.id,
            "kind": "postal",
            "street_address": "3517 International Court NW",
            "city": "Washington",
            "country_area": "DC",
            "postal_code": "20008",
        },
    )
    assert postal.status_code == 201, postal.text
    assert postal.json()["country_code"] == "US"
    # US postal rules apply to it: a Pakistani postcode is refused
    bad = client.post(
        "/api/v1/contact-points",
        headers=headers,
        json={
            "organisation_id": embassy.id,
            "kind": "postal",
            "street_address": "3517 International Court NW",
            "city": "Washington",
            "country_area": "DC",
            "postal_code": "44000-PK",
        },
    )
    assert bad.status_code == 422 and "postal code" in bad.json()["detail"].lower()
    wrong = client.post(
        "/api/v1/contact-points",
        headers=headers,
        json={"organisation_id": embassy.id, "kind": "phone", "value": "051 111 222"},
    )
    assert wrong.status_code == 422 and "for US" in wrong.json()["detail"]
    nowhere = make_organisation(db, "Somewhere", type="ngo")
    stateless = client.post(
        "/api/v1/contact-points",
        headers=headers,
        json={"organisation_id": nowhere.id, "kind": "postal", "street_address": "1 A St"}
        | {"city": "B"},
    )
    assert stateless.status_code == 422 and "country" in stateless.json()["detail"]
    update = client.put(
        f"/api/v1/contact-points/{phone.json()['id']}",
        headers=headers,
        json={"kind": "phone", "value": "202.243.6599"},
    )
    assert update.status_code == 200, update.text
    assert update.json()["value"] == "+12022436599"
    assert db.scalar(select(func.count()).select_from(ContactPoint)) == 3
