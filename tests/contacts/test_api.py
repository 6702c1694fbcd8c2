"""Contacts JSON API: CRUD, optimistic locking, search with filters, segments, tags, roles."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Role
from tests.factories import api_headers, make_organisation, make_person, make_position, make_user

RAHMON = {
    "honorific": "H.E.",
    "given_name": "Emomali",
    "family_name": "Rahmon",
    "native_name": "Эмомали Рахмон",
    "gender": "masculine",
    "preferred_language": "ru",
    "tags": ["heads of state"],
}


def test_person_crud_with_version_conflict(client: TestClient, db: Session) -> None:
    campaigner = api_headers(db, make_user(db, Role.campaigner))
    coordinator = api_headers(db, make_user(db, Role.coordinator))
    resp = client.post("/api/v1/people", json=RAHMON, headers=campaigner)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    pid, version = body["id"], body["version"]
    assert body["tags"] == ["heads of state"] and body["contact_points"] == []

    edited = {**RAHMON, "notes": "Met in Geneva", "version": version}
    resp = client.put(f"/api/v1/people/{pid}", json=edited, headers=campaigner)
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"] == version + 1

    stale = {**RAHMON, "notes": "Overwrite?", "version": version}
    resp = client.put(f"/api/v1/people/{pid}", json=stale, headers=campaigner)
    assert resp.status_code == 409
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "Someone else changed this person" in resp.json()["detail"]
    assert client.get(f"/api/v1/people/{pid}", headers=campaigner).json()["notes"] == (
        "Met in Geneva"
    )

    assert client.delete(f"/api/v1/people/{pid}", headers=campaigner).status_code == 403
    assert client.delete(f"/api/v1/people/{pid}", headers=coordinator).status_code == 204
    assert client.get(f"/api/v1/people/{pid}", headers=campaigner).status_code == 404


def test_api_needs_a_token(client: TestClient) -> None:
    resp = client.get("/api/v1/contacts/search?q=Rahmon")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_invalid_person_is_422_with_fields(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    resp = client.post("/api/v1/people", json={"honorific": "H.E."}, headers=headers)
    assert resp.status_code == 422
    assert "given name" in resp.text


def test_organisation_crud_and_recipient(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    org = {
        "name": "Ministry of Foreign Affairs of Pakistan",
        "type": "ministry",
        "country": "PAK",
        "office_title": "Minister of Foreign Affairs",
    }
    resp = client.post("/api/v1/organisations", json=org, headers=headers)
    assert resp.status_code == 201, resp.text
    oid = resp.json()["id"]
    assert resp.json()["country"] == "PAK"
    bad = client.post("/api/v1/organisations", json={**org, "country": "XXX"}, headers=headers)
    assert bad.status_code == 422 and "XXX" in bad.json()["detail"]

    rec = client.get(f"/api/v1/organisations/{oid}/recipient", headers=headers).json()
    assert rec["display_name"] == "The Minister of Foreign Affairs"
    assert rec["country_iso3"] == "PAK"

    stale = client.put(f"/api/v1/organisations/{oid}", json={**org, "version": 99}, headers=headers)
    assert stale.status_code == 409
    assert "version 99" in stale.json()["detail"]


def test_positions_and_contact_points(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    coordinator = api_headers(db, make_user(db, Role.coordinator))
    person = make_person(db, given_name="Ayesha", family_name="Khan")
    org = make_organisation(db, country="PAK")
    pos = client.post(
        "/api/v1/positions",
        json={
            "person_id": person.id,
            "organisation_id": org.id,
            "title": "Director General (Disarmament)",
            "start_date": "2020-01-01",
        },
        headers=headers,
    )
    assert pos.status_code == 201, pos.text
    ended = client.put(
        f"/api/v1/positions/{pos.json()['id']}",
        json={"title": "Director General (Disarmament)", "end_date": "2019-01-01"},
        headers=headers,
    )
    assert ended.status_code == 200  # no start date sent: the edit replaces it

    phone = client.post(
        "/api/v1/contact-points",
        json={"person_id": person.id, "kind": "phone", "value": "+92 51 921 0335"},
        headers=headers,
    )
    assert phone.status_code == 201, phone.text
    assert phone.json()["value"] == "+92519210335"
    bad_phone = client.post(
        "/api/v1/contact-points",
        json={"person_id": person.id, "kind": "phone", "value": "12"},
        headers=headers,
    )
    assert bad_phone.status_code == 422
    bad_email = client.post(
        "/api/v1/contact-points",
        json={"person_id": person.id, "kind": "email", "value": "not-an-email"},
        headers=headers,
    )
    assert bad_email.status_code == 422
    bad_zip = client.post(
        "/api/v1/contact-points",
        json={
            "organisation_id": org.id,
            "kind": "postal",
            "street_address": "3517 International Court, N.W.",
            "city": "Washington",
            "postal_code": "2000",
            "country_code": "US",
        },
        headers=headers,
    )
    assert bad_zip.status_code == 422
    fields = {e["field"] for e in bad_zip.json()["errors"]}
    assert {"postal_code", "country_area"} <= fields

    cp_id = phone.json()["id"]
    edited = client.put(
        f"/api/v1/contact-points/{cp_id}",
        json={"kind": "phone", "value": "+92 51 921 0999"},
        headers=headers,
    )
    assert edited.json()["value"] == "+92519210999"
    timeline = client.get(f"/api/v1/people/{person.id}/timeline", headers=headers).json()
    assert any("+92519210999" in e["title"] for e in timeline)
    assert client.delete(f"/api/v1/contact-points/{cp_id}", headers=headers).status_code == 403
    assert client.delete(f"/api/v1/contact-points/{cp_id}", headers=coordinator).status_code == 204


def test_search_filters_and_pagination(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    office = make_organisation(
        db, name="Executive Office of the President of Tajikistan", country="TJK"
    )
    rahmon = make_person(db, **RAHMON)
    make_position(db, rahmon, office, title="President", start_date=date(1994, 11, 16))
    for q in ("Rahmon", "рахмон", "emomali rahmon"):
        items = client.get("/api/v1/contacts/search", params={"q": q}, headers=headers).json()[
            "items"
        ]
        assert [i["id"] for i in items if i["kind"] == "person"] == [rahmon.id], q
    by_region = client.get(
        "/api/v1/contacts/search",
        params={"q": "Rahmon", "sub_region": "Central Asia", "kind": "person"},
        headers=headers,
    ).json()
    assert by_region["total"] == 1
    elsewhere = client.get(
        "/api/v1/contacts/search",
        params={"q": "Rahmon", "region": "Europe"},
        headers=headers,
    ).json()
    assert elsewhere["total"] == 0
    by_tag = client.get("/api/v1/people", params={"tag": "heads of state"}, headers=headers).json()
    assert rahmon.id in [i["id"] for i in by_tag["items"]]
    too_big = client.get("/api/v1/contacts/search", params={"per_page": 5000}, headers=headers)
    assert too_big.status_code == 422
    capped = client.get("/api/v1/contacts/search", params={"per_page": 2}, headers=headers).json()
    assert capped["per_page"] == 2 and len(capped["items"]) <= 2
    bad = client.get("/api/v1/contacts/search", params={"country": "ZZZ"}, headers=headers)
    assert bad.status_code == 422


def test_treaty_status_filter(client: TestClient, db: Session) -> None:
    """Tajikistan is not party to the CCM; Lao PDR is."""
    headers = api_headers(db, make_user(db))
    tj = make_organisation(db, name="MFA Tajikistan zq", country="TJK")
    la = make_organisation(db, name="MFA Lao zq", country="LAO")
    params = {"q": "zq", "treaty": "ccm", "treaty_status": "not_party"}
    found = client.get("/api/v1/contacts/search", params=params, headers=headers).json()
    assert [i["id"] for i in found["items"]] == [tj.id]
    params["treaty_status"] = "state_party"
    found = client.get("/api/v1/contacts/search", params=params, headers=headers).json()
    assert [i["id"] for i in found["items"]] == [la.id]
    no_treaty = client.get(
        "/api/v1/contacts/search", params={"treaty_status": "state_party"}, headers=headers
    )
    assert no_treaty.status_code == 422 and "treaty" in no_treaty.json()["detail"]
    unknown = client.get(
        "/api/v1/contacts/search",
        params={"treaty": "XYZ", "treaty_status": "state_party"},
        headers=headers,
    )
    assert unknown.status_code == 422


def test_segments_are_evaluated_each_time(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    coordinator = api_headers(db, make_user(db, Role.coordinator))
    make_organisation(db, name="Segment Org One qx", country="KAZ")
    body = {"name": "Kazakh qx", "filters": {"q": "qx", "country": "KAZ"}}
    resp = client.post("/api/v1/segments", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    assert resp.json()["filters"]["country"] == "KAZ"
    assert client.post("/api/v1/segments", json=body, headers=headers).status_code == 409
    members = client.get(f"/api/v1/segments/{sid}/members", headers=headers).json()
    assert members["total"] == 1
    make_organisation(db, name="Segment Org Two qx", country="KAZ")
    members = client.get(f"/api/v1/segments/{sid}/members", headers=headers).json()
    assert members["total"] == 2
    listed = client.get("/api/v1/segments", params={"q": "kazakh"}, headers=headers).json()
    assert listed["total"] == 1
    bad = client.post(
        "/api/v1/segments",
        json={"name": "Bad", "filters": {"nonsense": 1}},
        headers=headers,
    )
    assert bad.status_code == 422
    assert client.delete(f"/api/v1/segments/{sid}", headers=headers).status_code == 403
    assert client.delete(f"/api/v1/segments/{sid}", headers=coordinator).status_code == 204


def test_tags_crud(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    coordinator = api_headers(db, make_user(db, Role.coordinator))
    resp = client.post("/api/v1/tags", json={"name": "CMC member"}, headers=headers)
    assert resp.status_code == 201
    tid = resp.json()["id"]
    assert client.post(
        "/api/v1/tags", json={"name": "cmc member"}, headers=headers
    ).status_code == (409)
    renamed = client.put(f"/api/v1/tags/{tid}", json={"name": "ICBL-CMC"}, headers=headers)
    assert renamed.json()["name"] == "ICBL-CMC"
    assert "ICBL-CMC" in [t["name"] for t in client.get("/api/v1/tags", headers=headers).json()]
    assert client.delete(f"/api/v1/tags/{tid}", headers=headers).status_code == 403
    assert client.delete(f"/api/v1/tags/{tid}", headers=coordinator).status_code == 204
