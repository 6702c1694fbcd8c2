"""Contacts web UI: directory, filters, segments, detail pages, forms, conflicts, roles."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.contacts import service
from app.contacts.schemas import ContactPointCreate
from app.models import Role
from tests.factories import login, make_organisation, make_person, make_position, make_user


def _rahmon(db: Session) -> int:
    office = make_organisation(
        db,
        name="Executive Office of the President",
        type="head_of_state_office",
        country="TJK",
        office_title="President of the Republic of Tajikistan",
    )
    person = make_person(
        db,
        honorific="H.E.",
        given_name="Emomali",
        family_name="Rahmon",
        native_name="Эмомали Рахмон",
        gender="masculine",
        tags=["heads of state"],
    )
    make_position(
        db,
        person,
        office,
        title="President of the Republic of Tajikistan",
        start_date=date(1994, 11, 16),
        is_office_holder=True,
    )
    service.create_contact_point(
        db,
        data=ContactPointCreate(
            person_id=person.id,
            kind="postal",
            street_address="80 Rudaki Avenue",
            city="Dushanbe",
            postal_code="734023",
            country_code="TJ",
        ),
        actor=None,
    )
    service.create_contact_point(
        db,
        data=ContactPointCreate(person_id=person.id, kind="phone", value="+992 37 221 1234"),
        actor=None,
    )
    return person.id


def test_directory_requires_sign_in(client: TestClient) -> None:
    resp = client.get("/contacts", follow_redirects=False)
    assert resp.status_code in (302, 303, 401)


def test_search_as_you_type_returns_the_results_block(client: TestClient, db: Session) -> None:
    pid = _rahmon(db)
    login(client, make_user(db))
    full = client.get("/contacts", params={"q": "Rahmon"})
    assert full.status_code == 200
    assert "<nav" in full.text and f"/contacts/people/{pid}" in full.text
    fragment = client.get("/contacts", params={"q": "рахмон"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<nav" not in fragment.text and f"/contacts/people/{pid}" in fragment.text
    empty = client.get("/contacts", params={"q": "nobody-by-this-name"})
    assert "No contact matches this search" in empty.text


def test_filters_by_treaty_status_region_and_tag(client: TestClient, db: Session) -> None:
    pid = _rahmon(db)
    login(client, make_user(db))
    url = f"/contacts/people/{pid}"
    base = {"q": "Rahmon"}
    assert url in client.get("/contacts", params={**base, "sub_region": "Central Asia"}).text
    assert url not in client.get("/contacts", params={**base, "region": "Europe"}).text
    assert url in client.get("/contacts", params={**base, "tag": "heads of state"}).text
    not_party = {**base, "treaty": "CCM", "treaty_status": "not_party"}
    assert url in client.get("/contacts", params=not_party).text
    party = {**base, "treaty": "CCM", "treaty_status": "state_party"}
    assert url not in client.get("/contacts", params=party).text
    missing = client.get("/contacts", params={"treaty_status": "state_party"})
    assert missing.status_code == 422 and "choose the treaty" in missing.text
    as_you_type = client.get(
        "/contacts", params={"treaty_status": "state_party"}, headers={"HX-Request": "true"}
    )
    assert as_you_type.status_code == 200 and "choose the treaty" in as_you_type.text


def test_save_search_as_segment_and_open_it(client: TestClient, db: Session) -> None:
    pid = _rahmon(db)
    token = login(client, make_user(db))
    resp = client.post(
        "/contacts/segments",
        data={
            "csrf_token": token,
            "name": "CCM non-parties",
            "q": "Rahmon",
            "treaty": "CCM",
            "treaty_status": "not_party",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    opened = client.get(resp.headers["location"])
    assert "segment CCM non-parties" in opened.text and f"/contacts/people/{pid}" in opened.text
    listing = client.get("/contacts/segments")
    assert "CCM non-parties" in listing.text
    segment_id = int(resp.headers["location"].rsplit("segment=", 1)[1])
    count = client.get(f"/contacts/segments/{segment_id}/count")
    assert count.text == '<span class="segment-count">1</span>'
    again = client.post(
        "/contacts/segments",
        data={"csrf_token": token, "name": "CCM non-parties", "q": "x"},
    )
    assert again.status_code == 422 and "already exists" in again.text


def test_person_page_shows_address_salutations_positions_and_treaty(
    client: TestClient, db: Session
) -> None:
    pid = _rahmon(db)
    login(client, make_user(db))
    page = client.get(f"/contacts/people/{pid}").text
    assert "80 Rudaki Avenue" in page and "DUSHANBE" in page.upper()
    assert "Excellency," in page and "Excelencia:" in page
    assert "Ваше Превосходительство!" in page
    assert "President of the Republic of Tajikistan" in page
    assert "Not a signatory" in page  # Tajikistan and the CCM
    assert "+992372211234" in page
    assert "Created H.E. Emomali Rahmon" in page  # timeline from the audit log


def test_organisation_page_resolves_the_office_holder(client: TestClient, db: Session) -> None:
    _rahmon(db)
    login(client, make_user(db))
    org = service.get_organisation_by_name(db, "Executive Office of the President")
    assert org is not None
    page = client.get(f"/contacts/organisations/{org.id}").text
    assert "Held today by" in page and "Rahmon" in page


def test_edit_person_and_stale_version_conflict(client: TestClient, db: Session) -> None:
    pid = _rahmon(db)
    token = login(client, make_user(db))
    form = {
        "csrf_token": token,
        "honorific": "H.E.",
        "given_name": "Emomali",
        "family_name": "Rahmon",
        "gender": "masculine",
        "preferred_language": "ru",
        "version": "1",
    }
    ok = client.post(f"/contacts/people/{pid}", data=form, follow_redirects=False)
    assert ok.status_code == 303
    stale = client.post(f"/contacts/people/{pid}", data={**form, "notes": "late"})
    assert stale.status_code == 422
    assert "Someone else changed this person" in stale.text
    assert service.get_person(db, pid).notes == ""


def test_invalid_person_shows_inline_errors(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db))
    resp = client.post(
        "/contacts/people",
        data={"csrf_token": token, "honorific": "H.E.", "preferred_language": "not a language"},
    )
    assert resp.status_code == 422
    assert 'class="error"' in resp.text and "preferred_language" in resp.text


def test_contact_points_validated_inline(client: TestClient, db: Session) -> None:
    pid = _rahmon(db)
    token = login(client, make_user(db))
    bad_phone = client.post(
        f"/contacts/people/{pid}/points",
        data={"csrf_token": token, "kind": "phone", "value": "12"},
    )
    assert bad_phone.status_code == 422 and "phone number" in bad_phone.text
    bad_email = client.post(
        f"/contacts/people/{pid}/points",
        data={"csrf_token": token, "kind": "email", "value": "nope@"},
    )
    assert bad_email.status_code == 422 and "not a valid email" in bad_email.text
    bad_zip = client.post(
        f"/contacts/people/{pid}/points",
        data={
            "csrf_token": token,
            "kind": "postal",
            "street_address": "1 Main St",
            "city": "Washington",
            "postal_code": "2000",
            "country_code": "US",
        },
    )
    assert bad_zip.status_code == 422 and "ZIP code" in bad_zip.text
    good = client.post(
        f"/contacts/people/{pid}/points",
        data={"csrf_token": token, "kind": "email", "value": "office@example.tj"},
        follow_redirects=False,
    )
    assert good.status_code == 303


def test_edit_phone_appears_on_timeline(client: TestClient, db: Session) -> None:
    pid = _rahmon(db)
    token = login(client, make_user(db))
    person = service.get_person(db, pid)
    phone = next(cp for cp in person.contact_points if cp.kind.value == "phone")
    assert client.get(f"/contacts/points/{phone.id}/edit").status_code == 200
    resp = client.post(
        f"/contacts/points/{phone.id}",
        data={"csrf_token": token, "kind": "phone", "value": "+992 37 221 9999"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    page = client.get(f"/contacts/people/{pid}").text
    assert "+992372211234 → +992372219999" in page


def test_add_and_end_a_position(client: TestClient, db: Session) -> None:
    person = make_person(db, given_name="Ayesha", family_name="Khan")
    org = make_organisation(db, name="MoFA Pakistan", country="PAK")
    token = login(client, make_user(db))
    resp = client.post(
        f"/contacts/people/{person.id}/positions",
        data={
            "csrf_token": token,
            "organisation_id": str(org.id),
            "title": "Director General (Disarmament)",
            "start_date": "2021-03-01",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    pos = service.get_person(db, person.id).positions[0]
    early = client.post(
        f"/contacts/positions/{pos.id}/end", data={"csrf_token": token, "end_date": "2020-01-01"}
    )
    assert early.status_code == 422 and "before the start date" in early.text
    ended = client.post(
        f"/contacts/positions/{pos.id}/end",
        data={"csrf_token": token, "end_date": "2024-06-30"},
        follow_redirects=False,
    )
    assert ended.status_code == 303
    db.expire_all()
    assert service.get_position(db, pos.id).end_date == date(2024, 6, 30)
    page = client.get(f"/contacts/people/{person.id}").text
    assert "Position ended on 2024-06-30" in page


def test_deleting_needs_a_coordinator(client: TestClient, db: Session) -> None:
    pid = _rahmon(db)
    token = login(client, make_user(db, Role.campaigner))
    resp = client.post(f"/contacts/people/{pid}/delete", data={"csrf_token": token})
    assert resp.status_code == 403
    page = client.get(f"/contacts/people/{pid}").text
    assert f"/contacts/people/{pid}/delete" not in page

    client.cookies.clear()
    token = login(client, make_user(db, Role.coordinator))
    page = client.get(f"/contacts/people/{pid}").text
    assert "data-confirm=" in page
    resp = client.post(
        f"/contacts/people/{pid}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert resp.status_code == 303
    assert client.get(f"/contacts/people/{pid}").status_code == 404


def test_csrf_refused(client: TestClient, db: Session) -> None:
    login(client, make_user(db))
    resp = client.post(
        "/contacts/people",
        data={"given_name": "No", "family_name": "Token", "csrf_token": "forged"},
    )
    assert resp.status_code == 403
    assert "CSRF" in resp.text


def test_xss_payload_is_escaped(client: TestClient, db: Session) -> None:
    payload = "<script>alert(1)</script>"
    person = make_person(db, given_name=payload, family_name="Xss", notes=payload)
    make_organisation(db, name=f"Org {payload}", website="javascript:alert(1)")
    login(client, make_user(db))
    page = client.get(f"/contacts/people/{person.id}").text
    assert payload not in page and "&lt;script&gt;" in page
    listing = client.get("/contacts", params={"q": "Xss"}).text
    assert payload not in listing
    org = service.get_organisation_by_name(db, f"Org {payload}")
    assert org is not None
    org_page = client.get(f"/contacts/organisations/{org.id}").text
    assert payload not in org_page and 'href="javascript:' not in org_page


def test_create_organisation_with_unknown_country_inline(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db))
    resp = client.post(
        "/contacts/organisations",
        data={"csrf_token": token, "name": "Embassy", "type": "embassy", "country": "ZZZ"},
    )
    assert resp.status_code == 422 and "unknown country code" in resp.text
    ok = client.post(
        "/contacts/organisations",
        data={
            "csrf_token": token,
            "name": "Embassy of Pakistan",
            "type": "embassy",
            "country": "PAK",
            "host_country": "USA",
            "host_city": "Washington, D.C.",
            "tags": "embassies, washington",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    page = client.get(ok.headers["location"]).text
    assert "Embassy of Pakistan" in page and "washington" in page
