"""Aliases: other names people and organisations are known by, in search, in name lookups (imports,
replies), on their pages and in the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.contacts import aliases
from app.contacts import search as contacts_search
from app.contacts.schemas import SearchFilters
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Alias, AliasKind, AuditEntry, Role
from tests.factories import api_headers, csrf_from, login, make_organisation, make_person, make_user


def _found(db: Session, q: str, kind: str) -> list[int]:
    return [h.id for h in contacts_search.search(db, SearchFilters(q=q, kind=kind)).items]


def test_an_alias_is_searched_folded_and_audited(db: Session) -> None:
    person = make_person(db, given_name="Muhriddin", family_name="Karimov")
    assert _found(db, "Mukhriddin", "person") == []
    alias = aliases.add_alias(
        db, kind="person", owner_id=person.id, name="  Mukhriddin   Karimov ", actor=None
    )
    assert alias.name == "Mukhriddin Karimov" and alias.folded == "mukhriddin karimov"
    assert alias.kind == AliasKind.spelling
    assert _found(db, "MUKHRIDDIN", "person") == [person.id]
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "person.alias_add"))
    assert entry is not None and entry.entity_id == str(person.id)
    aliases.remove_alias(db, kind="person", owner_id=person.id, alias_id=alias.id, actor=None)
    assert _found(db, "Mukhriddin", "person") == []
    assert db.get(Alias, alias.id) is None


def test_an_organisation_alias_in_another_script(db: Session) -> None:
    org = make_organisation(db, "Ministry of Foreign Affairs of the Republic of Tajikistan")
    aliases.add_alias(
        db,
        kind="organisation",
        owner_id=org.id,
        name="МИД Республики Таджикистан",
        alias_kind=AliasKind.abbreviation,
        actor=None,
    )
    assert _found(db, "мид таджикистан", "organisation") == [org.id]
    assert _found(db, "MID Tadzhikistan", "organisation") == [org.id]  # the other scheme


def test_names_it_already_answers_to_are_refused(db: Session) -> None:
    person = make_person(db, given_name="José", family_name="Hernández")
    with pytest.raises(Conflict, match="own name"):
        aliases.add_alias(db, kind="person", owner_id=person.id, name="Jose HERNANDEZ", actor=None)
    with pytest.raises(Conflict, match="own name"):
        aliases.add_alias(db, kind="person", owner_id=person.id, name="Hernandez Jose", actor=None)
    aliases.add_alias(db, kind="person", owner_id=person.id, name="Pepe Hernández", actor=None)
    with pytest.raises(Conflict, match="already known as"):
        aliases.add_alias(db, kind="person", owner_id=person.id, name="pepe hernandez", actor=None)
    with pytest.raises(InvalidInput, match="needs a name"):
        aliases.add_alias(db, kind="person", owner_id=person.id, name=" ‘’ ", actor=None)
    with pytest.raises(InvalidInput, match="at most 300"):
        aliases.add_alias(db, kind="person", owner_id=person.id, name="x" * 301, actor=None)
    with pytest.raises(NotFound):
        aliases.add_alias(db, kind="person", owner_id=2**30, name="Nobody", actor=None)
    other = make_person(db)
    alias_id = aliases.list_aliases(db, "person", person.id)[0].id
    with pytest.raises(NotFound):  # not this person's alias
        aliases.remove_alias(db, kind="person", owner_id=other.id, alias_id=alias_id, actor=None)


def test_find_people_matches_whole_names_and_aliases_only(db: Session) -> None:
    rahmon = make_person(
        db, given_name="Emomali", family_name="Rahmon", native_name="Эмомали Раҳмон"
    )
    other = make_person(db, given_name="Emomali", family_name="Rahmonov")
    aliases.add_alias(db, kind="person", owner_id=rahmon.id, name="Emomali Rakhmonov", actor=None)
    assert aliases.find_people(db, "Эмомали Рахмон") == [rahmon.id]
    assert aliases.find_people(db, "RAHMON Emomali") == [rahmon.id]
    assert aliases.find_people(db, "Emomali Rahmonov") == [other.id]
    assert aliases.find_people(db, "Emomali Rakhmonov") == [rahmon.id]
    assert aliases.find_people(db, "Rahmon") == []  # a part of a name is not the name
    assert aliases.find_people(db, "") == []
    org = make_organisation(db, "Permanent Mission of Tajikistan", short_name="PM Tajikistan")
    assert aliases.find_organisations(db, "pm tajikistan") == [org.id]
    assert aliases.find_organisations(db, "Permanent Mission of Tajikistan") == [org.id]
    assert aliases.find_organisations(db, "Permanent Mission") == []
    owners = aliases.alias_owners(db, "person", ["EMOMALI RAKHMONOV", "nobody"])
    assert owners == {"emomali rakhmonov": [rahmon.id]}


def test_api(client: TestClient, db: Session) -> None:
    person = make_person(db, given_name="Kassym-Jomart", family_name="Tokayev")
    org = make_organisation(db, "Embassy of Kazakhstan in Vienna")
    campaigner = make_user(db)
    coordinator = make_user(db, Role.coordinator)
    headers = api_headers(db, campaigner)
    url = f"/api/v1/people/{person.id}/aliases"
    resp = client.post(
        url, json={"name": "Қасым-Жомарт Тоқаев", "kind": "transliteration"}, headers=headers
    )
    assert resp.status_code == 201, resp.text
    made = resp.json()
    assert made["kind"] == "transliteration" and made["folded"] == "kasym-zomart tokaev"
    assert (
        client.post(url, json={"name": "Қасым-Жомарт Тоқаев"}, headers=headers).status_code == 409
    )
    bad = client.post(url, json={"name": "", "kind": "nickname"}, headers=headers)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert client.post(url, json={"name": "x", "extra": 1}, headers=headers).status_code == 422
    assert (
        client.post(
            "/api/v1/people/999999/aliases", json={"name": "x"}, headers=headers
        ).status_code
        == 404
    )
    listed = client.get(url, headers=headers).json()
    assert [a["name"] for a in listed] == ["Қасым-Жомарт Тоқаев"]
    detail = client.get(f"/api/v1/people/{person.id}", headers=headers).json()
    assert [a["name"] for a in detail["aliases"]] == ["Қасым-Жомарт Тоқаев"]
    found = client.get("/api/v1/contacts/search", params={"q": "Токаев"}, headers=headers).json()
    assert [i["id"] for i in found["items"]] == [person.id]
    # removing is a coordinator's
    assert client.delete(f"{url}/{made['id']}", headers=headers).status_code == 403
    assert (
        client.delete(f"{url}/{made['id']}", headers=api_headers(db, coordinator)).status_code
        == 204
    )
    assert (
        client.delete(f"{url}/{made['id']}", headers=api_headers(db, coordinator)).status_code
        == 404
    )
    org_url = f"/api/v1/organisations/{org.id}/aliases"
    resp = client.post(
        org_url, json={"name": "Посольство Казахстана в Вене", "kind": "spelling"}, headers=headers
    )
    assert resp.status_code == 201
    assert (
        client.get(f"/api/v1/organisations/{org.id}", headers=headers).json()["aliases"][0]["kind"]
        == "spelling"
    )
    assert client.get(org_url).status_code == 401


def test_pages(client: TestClient, db: Session) -> None:
    person = make_person(db, given_name="Muhriddin", family_name="Karimov")
    org = make_organisation(db, "Ministry of Foreign Affairs of Uzbekistan")
    user = make_user(db)
    token = login(client, user)
    page = client.get(f"/contacts/people/{person.id}")
    assert "Also known as" in page.text and "No other names recorded." in page.text
    resp = client.post(
        f"/contacts/people/{person.id}/aliases",
        data={"csrf_token": token, "alias_name": "Mukhriddin Karimov", "alias_kind": "spelling"},
        follow_redirects=True,
    )
    assert resp.status_code == 200 and "Mukhriddin Karimov" in resp.text
    assert "Remove" not in resp.text.split("Also known as", 1)[1].split("Add another name")[0]
    again = client.post(
        f"/contacts/people/{person.id}/aliases",
        data={"csrf_token": token, "alias_name": "MUKHRIDDIN karimov", "alias_kind": "spelling"},
    )
    assert again.status_code == 422 and "already known as" in again.text
    wrong = client.post(
        f"/contacts/people/{person.id}/aliases",
        data={"csrf_token": token, "alias_name": "X", "alias_kind": "merged"},
    )
    assert wrong.status_code == 422 and "Choose what kind" in wrong.text
    assert (
        client.post(f"/contacts/people/{person.id}/aliases", data={"alias_name": "Y"}).status_code
        == 403
    )
    resp = client.post(
        f"/contacts/organisations/{org.id}/aliases",
        data={"csrf_token": token, "alias_name": "MFA Uzbekistan", "alias_kind": "abbreviation"},
        follow_redirects=True,
    )
    assert "MFA Uzbekistan" in resp.text and "Abbreviation" in resp.text
    alias_id = aliases.list_aliases(db, "organisation", org.id)[0].id
    delete_url = f"/contacts/organisations/{org.id}/aliases/{alias_id}/delete"
    assert client.post(delete_url, data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    coordinator = make_user(db, Role.coordinator)
    token = login(client, coordinator)
    page = client.get(f"/contacts/organisations/{org.id}")
    assert delete_url in page.text and csrf_from(page.text)
    resp = client.post(delete_url, data={"csrf_token": token}, follow_redirects=False)
    assert resp.status_code == 303
    assert aliases.list_aliases(db, "organisation", org.id) == []
