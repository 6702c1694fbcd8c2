"""Names in other scripts (name_forms): API, web forms, search, the contact page, and the
structured recipient that letters build their forms of address from."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.contacts import recipients, service
from app.contacts import search as contacts_search
from app.contacts.schemas import ContactPointCreate, SearchFilters
from app.models import Role
from tests.factories import (
    api_headers,
    login,
    make_organisation,
    make_person,
    make_position,
    make_user,
)

RAHMON_FORMS = {
    "ru": {"given": "Эмомали", "patronymic": "Шарипович", "family": "Рахмон"},
    "ar": {"given": "إمام علي", "family": "رحمان"},
    "zh": {"given": "埃莫马利", "family": "拉赫蒙"},
}
MFA_RU = "Министерство иностранных дел Республики Таджикистан"


def _office(db: Session, *, holder: bool = True) -> tuple[int, int | None]:
    office = make_organisation(
        db,
        "Executive Office of the President",
        type="head_of_state_office",
        country="TJK",
        office_title="President of the Republic of Tajikistan",
        name_forms={"ru": "Исполнительный аппарат Президента Республики Таджикистан"},
    )
    service.create_contact_point(
        db,
        data=ContactPointCreate(
            kind="postal",
            organisation_id=office.id,
            street_address="80 Rudaki Avenue",
            city="Dushanbe",
            country_code="TJ",
        ),
        actor=None,
    )
    if not holder:
        return office.id, None
    person = make_person(
        db,
        honorific="H.E.",
        given_name="Emomali",
        family_name="Rahmon",
        gender="masculine",
        name_forms=RAHMON_FORMS,
    )
    make_position(
        db,
        person,
        office,
        title="President of the Republic of Tajikistan",
        start_date=date(1994, 11, 16),
        is_office_holder=True,
    )
    return office.id, person.id


def test_api_keeps_the_forms_and_refuses_other_languages(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    body = {"given_name": "Emomali", "family_name": "Rahmon", "name_forms": RAHMON_FORMS}
    resp = client.post("/api/v1/people", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    assert resp.json()["name_forms"] == RAHMON_FORMS
    for bad in ({"de": {"given": "Emomali"}}, {"ru": {"given": "Э" * 121}}, {"ru": {"x": "y"}}):
        resp = client.post("/api/v1/people", json={**body, "name_forms": bad}, headers=headers)
        assert resp.status_code == 422
        assert resp.headers["content-type"].startswith("application/problem+json")
    org = {"name": "MFA", "type": "ministry", "name_forms": {"ru": f" {MFA_RU} ", "ar": ""}}
    resp = client.post("/api/v1/organisations", json=org, headers=headers)
    assert resp.status_code == 201, resp.text
    assert resp.json()["name_forms"] == {"ru": MFA_RU}
    too_long = {**org, "name_forms": {"zh": "外" * 201}}
    assert client.post("/api/v1/organisations", json=too_long, headers=headers).status_code == 422


def test_a_name_in_another_script_finds_the_contact(db: Session) -> None:
    _, pid = _office(db)
    make_organisation(db, "Ministry of Foreign Affairs", name_forms={"ru": MFA_RU})
    hits = contacts_search.search(db, SearchFilters(q="Рахмон"))
    assert [h.id for h in hits.items if h.kind == "person"] == [pid]
    hits = contacts_search.search(db, SearchFilters(q="拉赫蒙", kind="person"))
    assert [h.id for h in hits.items] == [pid]
    orgs = contacts_search.search(db, SearchFilters(q="иностранных дел", kind="organisation"))
    assert [h.name for h in orgs.items] == ["Ministry of Foreign Affairs"]


def test_recipient_carries_what_a_letter_builds_its_address_from(db: Session) -> None:
    office_id, pid = _office(db)
    rec = recipients.recipient(db, organisation_id=office_id)
    assert rec.person_id == pid and rec.has_holder
    assert (rec.gender, rec.organisation_type) == ("m", "head_of_state_office")
    assert rec.office_title == "President of the Republic of Tajikistan"
    assert rec.postal is not None and rec.postal.city == "Dushanbe"
    assert rec.postal_lines == ("80 Rudaki Avenue", "DUSHANBE", "TAJIKISTAN")
    # the address block is the name lines on the same postal block
    assert rec.address_lines[-3:] == rec.postal_lines
    assert list(rec.address_lines) == rec.address_block(list(rec.address_lines[:-3]))
    protocol = ["Его Превосходительству", "господину Эмомали Рахмону"]
    assert rec.address_block(protocol) == [*protocol, *rec.postal_lines]
    ru = rec.name_in("ru")
    assert (ru.given, ru.patronymic, ru.family) == ("Эмомали", "Шарипович", "Рахмон")
    assert rec.name_in("zh").full() == "埃莫马利·拉赫蒙"
    assert rec.name_in("fr").full() == "Emomali Rahmon"  # no French form: the Latin name
    assert rec.organisation_in("ru").startswith("Исполнительный аппарат")
    assert rec.organisation_in("ar") == "Executive Office of the President"
    data = rec.as_dict()
    assert data["name_forms"] == RAHMON_FORMS and data["postal"]["country_code"] == "TJ"


def test_an_office_with_no_holder_says_so(db: Session) -> None:
    office_id, _ = _office(db, holder=False)
    rec = recipients.recipient(db, organisation_id=office_id)
    assert rec.person_id is None and not rec.has_holder and rec.gender == ""
    assert rec.display_name == "The President of the Republic of Tajikistan"
    assert rec.address_lines[:2] == (
        "The President of the Republic of Tajikistan",
        "Executive Office of the President",
    )


def test_recipient_api_shows_the_new_fields(client: TestClient, db: Session) -> None:
    office_id, _ = _office(db)
    headers = api_headers(db, make_user(db))
    resp = client.get(f"/api/v1/organisations/{office_id}/recipient", headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["has_holder"] is True and body["gender"] == "m"
    assert body["postal_lines"][-1] == "TAJIKISTAN"
    assert body["name_forms"]["ru"]["family"] == "Рахмон"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_web_form_edits_the_forms_and_the_page_shows_them(client: TestClient, db: Session) -> None:
    login(client, make_user(db, Role.campaigner))
    person = make_person(db, given_name="Emomali", family_name="Rahmon")
    page = client.get(f"/contacts/people/{person.id}/edit")
    assert 'name="name_forms.zh.family"' in page.text
    form = {
        "csrf_token": _csrf(page.text),
        "given_name": "Emomali",
        "family_name": "Rahmon",
        "gender": "masculine",
        "preferred_language": "ru",
        "version": str(person.version),
        "name_forms.ru.given": "Эмомали",
        "name_forms.ru.patronymic": "Шарипович",
        "name_forms.ru.family": "Рахмон",
        "name_forms.zh.given": "",
    }
    resp = client.post(f"/contacts/people/{person.id}", data=form, follow_redirects=False)
    assert resp.status_code in (303, 302), resp.text
    saved = service.get_person(db, person.id)
    assert saved.name_forms == {
        "ru": {"given": "Эмомали", "patronymic": "Шарипович", "family": "Рахмон"}
    }
    page = client.get(f"/contacts/people/{person.id}")
    assert "Эмомали Шарипович Рахмон" in page.text
    edit = client.get(f"/contacts/people/{person.id}/edit").text
    assert 'value="Шарипович"' in edit

    bad = {**form, "version": str(saved.version), "name_forms.ru.family": "Р" * 121}
    resp = client.post(f"/contacts/people/{person.id}", data=bad)
    assert resp.status_code == 422
    assert 'class="has-error"' in resp.text and "at most 120" in resp.text
    other = {**form, "version": str(saved.version), "name_forms.de.given": "Emomali"}
    resp = client.post(f"/contacts/people/{person.id}", data=other)
    assert resp.status_code == 422 and "de.[key]" in resp.text


def test_web_organisation_form_edits_the_forms(client: TestClient, db: Session) -> None:
    login(client, make_user(db, Role.campaigner))
    org = make_organisation(db, "Ministry of Foreign Affairs")
    page = client.get(f"/contacts/organisations/{org.id}/edit")
    form = {
        "csrf_token": _csrf(page.text),
        "name": "Ministry of Foreign Affairs",
        "type": "ministry",
        "preferred_language": "en",
        "version": str(org.version),
        "name_forms.ru": MFA_RU,
        "name_forms.ar": "وزارة الخارجية",
    }
    resp = client.post(f"/contacts/organisations/{org.id}", data=form, follow_redirects=False)
    assert resp.status_code in (302, 303), resp.text
    assert service.get_organisation(db, org.id).name_forms == {
        "ru": MFA_RU,
        "ar": "وزارة الخارجية",
    }
    assert MFA_RU in client.get(f"/contacts/organisations/{org.id}").text
