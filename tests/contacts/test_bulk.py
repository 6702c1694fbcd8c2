"""Bulk actions on the directory (tag, untag, list segment, do-not-contact, export) by ids and
by "every contact matching", their counts, audit entries and undo, roles, the web form's
confirmation and CSRF, the API's refusals, background jobs; and the treaty-status filters
(party, signatory, not party, withdrawn, on a date) through every path the search takes."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.contacts import bulk, bulk_tasks, bulk_views, segments, service, tags
from app.contacts import search as contacts_search
from app.contacts.schemas import SearchFilters, SegmentIn
from app.models import AuditEntry, ExportJob, Organisation, Person, Role
from app.platform import leases
from tests.factories import (
    api_headers,
    login,
    make_organisation,
    make_person,
    make_position,
    make_user,
)

API = "/api/v1/contacts/bulk"


def _people(db: Session, n: int, word: str = "Bulkzq", **values: Any) -> list[Person]:
    return [
        make_person(db, given_name="Ann", family_name=f"{word}{i:03d}", **values) for i in range(n)
    ]


def _tags(db: Session, person: Person | Organisation) -> set[str]:
    db.expire_all()
    loaded = (
        service.get_person(db, person.id)
        if isinstance(person, Person)
        else service.get_organisation(db, person.id)
    )
    return {t.name for t in loaded.tags}


def _entry(db: Session, audit_id: int) -> AuditEntry:
    entry = db.get(AuditEntry, audit_id)
    assert entry is not None
    return entry


# --- the API ------------------------------------------------------------------------------------


def test_add_tag_by_ids_counts_audits_and_undoes_only_what_it_changed(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    headers = api_headers(db, user)
    people = _people(db, 3)
    already = make_person(db, given_name="Ann", family_name="Bulkzq-tagged", tags=["ccm-push"])
    ids = [p.id for p in people] + [already.id]
    resp = client.post(
        API,
        json={"action": "add_tag", "target": "people", "ids": ids, "tag": "ccm-push"},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["matched"], body["changed"], body["people"], body["undo"]) == (4, 3, 3, True)
    assert all(_tags(db, p) == {"ccm-push"} for p in [*people, already])
    entry = _entry(db, body["audit_id"])
    assert entry.action == "contacts.bulk" and entry.actor == user.email
    assert entry.details["matched"] == 4
    assert sorted(entry.details["person_ids"]) == sorted(p.id for p in people)
    assert entry.summary == "Tagged ccm-push: 3 people (1 of the 4 selected already were)"

    undo = client.post(f"{API}/{body['audit_id']}/undo", headers=headers)
    assert undo.status_code == 200 and undo.json()["changed"] == 3
    assert all(_tags(db, p) == set() for p in people)
    assert _tags(db, already) == {"ccm-push"}  # it was tagged before: left alone
    again = client.post(f"{API}/{body['audit_id']}/undo", headers=headers)
    assert again.status_code == 409 and "already been undone" in again.json()["detail"]


def test_remove_tag_from_all_that_match_and_undo(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    tajik = make_organisation(db, name="MFA Tajikistan Bulkzr", country="TJK", tags=["asia"])
    lao = make_organisation(db, name="MFA Lao Bulkzr", country="LAO", tags=["asia"])
    minister = make_person(db, given_name="Zr", family_name="Bulkzr", tags=["asia"])
    make_position(db, minister, tajik, title="Minister")
    filters = {"q": "bulkzr", "treaty": "CCM", "treaty_status": "not_party"}
    resp = client.post(
        API,
        json={"action": "remove_tag", "target": "all", "filters": filters, "tag": "Asia"},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["matched"], body["people"], body["organisations"]) == (2, 1, 1)
    assert _tags(db, tajik) == set() and _tags(db, minister) == set()
    assert _tags(db, lao) == {"asia"}  # Lao PDR is party to the CCM
    assert client.post(f"{API}/{body['audit_id']}/undo", headers=headers).status_code == 200
    assert _tags(db, tajik) == {"asia"} and _tags(db, minister) == {"asia"}
    only_orgs = client.post(
        API,
        json={
            "action": "add_tag",
            "target": "organisations",
            "filters": {"q": "bulkzr"},
            "tag": "mfa",
        },
        headers=headers,
    ).json()
    assert (only_orgs["matched"], only_orgs["organisations"]) == (2, 2)
    assert _tags(db, minister) == {"asia"}


def test_do_not_contact_sets_flags_bumps_versions_and_undo_restores_only_changed(
    client: TestClient, db: Session
) -> None:
    headers = api_headers(db, make_user(db))
    fresh = make_person(db, given_name="Bo", family_name="Bulkzs")
    careful = make_person(db, given_name="Cy", family_name="Bulkzs", no_email=True)
    org = make_organisation(db, name="Embassy Bulkzs")
    version = fresh.version
    resp = client.post(
        API,
        json={
            "action": "do_not_contact",
            "target": "all",
            "person_ids": [fresh.id, careful.id],
            "organisation_ids": [org.id],
            "no_post": False,
        },
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["matched"], resp.json()["changed"]) == (3, 2)
    db.expire_all()
    assert db.get_one(Person, fresh.id).no_email and not db.get_one(Person, fresh.id).no_post
    assert db.get_one(Person, fresh.id).version == version + 1
    assert db.get_one(Organisation, org.id).no_email
    assert client.post(f"{API}/{resp.json()['audit_id']}/undo", headers=headers).status_code == 200
    db.expire_all()
    assert not db.get_one(Person, fresh.id).no_email
    assert db.get_one(Person, careful.id).no_email  # was so before
    assert not db.get_one(Organisation, org.id).no_email


def test_add_to_a_new_list_segment_then_to_it_by_filters(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    first = _people(db, 2, "Bulkzt")
    org = make_organisation(db, name="Mission Bulkzt", country="KAZ")
    resp = client.post(
        API,
        json={
            "action": "add_to_segment",
            "target": "people",
            "ids": [first[0].id],
            "segment_name": "Picked Bulkzt",
        },
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    seg_id = resp.json()["segment_id"]
    assert segments.member_ids(db, segment_id=seg_id) == ([first[0].id], [])
    more = client.post(
        API,
        json={
            "action": "add_to_segment",
            "target": "all",
            "filters": {"q": "bulkzt"},
            "segment_id": seg_id,
        },
        headers=headers,
    ).json()
    assert (more["matched"], more["changed"]) == (3, 2)  # the first one was in already
    assert segments.member_ids(db, segment_id=seg_id) == (sorted(p.id for p in first), [org.id])
    listed = client.get(f"/api/v1/segments/{seg_id}/members", headers=headers).json()
    assert listed["total"] == 3
    saved_search = segments.create(
        db, data=SegmentIn(name="Search Bulkzt", filters=SearchFilters(q="bulkzt")), actor=None
    )
    refused = client.post(
        API,
        json={
            "action": "add_to_segment",
            "target": "people",
            "ids": [first[0].id],
            "segment_id": saved_search.id,
        },
        headers=headers,
    )
    assert refused.status_code == 409 and "saved search" in refused.json()["detail"]


def test_export_is_a_coordinators_and_queues_the_selection(client: TestClient, db: Session) -> None:
    people = _people(db, 2, "Bulkzu")
    body = {"action": "export", "target": "people", "ids": [p.id for p in people], "format": "xlsx"}
    refused = client.post(API, json=body, headers=api_headers(db, make_user(db, Role.campaigner)))
    assert refused.status_code == 403
    coordinator = make_user(db, Role.coordinator)
    resp = client.post(API, json=body, headers=api_headers(db, coordinator))
    assert resp.status_code == 202, resp.text
    job = db.get(ExportJob, resp.json()["export_job_id"])
    assert job is not None and job.total == 2 and job.owner_id == coordinator.id
    assert job.request["filters"]["person_ids"] == sorted(p.id for p in people)
    assert _entry(db, resp.json()["audit_id"]).details["export_job_id"] == job.id


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"action": "add_tag", "target": "people", "tag": "x"}, 422, "either the ids"),
        (
            {"action": "add_tag", "target": "people", "ids": [1], "filters": {}, "tag": "x"},
            422,
            "not both",
        ),
        ({"action": "add_tag", "target": "people", "ids": [1]}, 422, "name the tag"),
        ({"action": "add_tag", "target": "people", "ids": [0], "tag": "x"}, 422, "positive"),
        ({"action": "explode", "target": "people", "ids": [1]}, 422, "action"),
        (
            {"action": "add_tag", "target": "people", "ids": [2_000_000_000], "tag": "x"},
            422,
            "2000000000",
        ),
        ({"action": "add_tag", "target": "all", "ids": [1], "tag": "x"}, 422, "person_ids"),
        ({"action": "add_to_segment", "target": "people", "ids": [1]}, 422, "segment"),
        (
            {
                "action": "do_not_contact",
                "target": "people",
                "ids": [1],
                "no_email": False,
                "no_post": False,
            },
            422,
            "no_email",
        ),
        (
            {
                "action": "add_tag",
                "target": "people",
                "filters": {"treaty_status": "state_party"},
                "tag": "x",
            },
            422,
            "treaty",
        ),
        (
            {"action": "add_tag", "target": "people", "filters": {"country": "ZZZ"}, "tag": "x"},
            422,
            "ZZZ",
        ),
        (
            {"action": "remove_tag", "target": "people", "filters": {}, "tag": "no such tag zz"},
            404,
            "no such tag",
        ),
        (
            {"action": "add_tag", "target": "people", "ids": list(range(1, 10_002)), "tag": "x"},
            422,
            "10000",
        ),
    ],
)
def test_bad_requests_are_4xx_saying_what_to_fix(
    client: TestClient, db: Session, body: dict[str, Any], status: int, words: str
) -> None:
    resp = client.post(API, json=body, headers=api_headers(db, make_user(db)))
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert words.lower() in resp.text.lower()


def test_undo_refusals_and_sign_in(client: TestClient, db: Session) -> None:
    assert client.post(API, json={"action": "add_tag", "ids": [1], "tag": "x"}).status_code == 401
    headers = api_headers(db, make_user(db, Role.coordinator))
    assert client.post(f"{API}/999999999/undo", headers=headers).status_code == 404
    person = make_person(db, given_name="Dee", family_name="Bulkzv")
    export = client.post(API, json={"action": "export", "ids": [person.id]}, headers=headers).json()
    refused = client.post(f"{API}/{export['audit_id']}/undo", headers=headers)
    assert refused.status_code == 409
    tagged = client.post(
        API, json={"action": "add_tag", "ids": [person.id], "tag": "gone zz"}, headers=headers
    ).json()
    tag_id = _entry(db, tagged["audit_id"]).details["tag_id"]
    tags.delete_tag(db, tag_id=tag_id, actor=None)
    gone = client.post(f"{API}/{tagged['audit_id']}/undo", headers=headers)
    assert gone.status_code == 409 and "deleted" in gone.json()["detail"]


def test_a_large_selection_runs_in_the_worker_with_progress(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[str] = []
    monkeypatch.setattr(bulk, "BACKGROUND_ROWS", 2)
    monkeypatch.setattr(bulk_tasks, "run_bulk", queued.append)
    user = make_user(db)
    headers = api_headers(db, user)
    people = _people(db, 3, "Bulkzw")
    resp = client.post(
        API,
        json={"action": "add_tag", "target": "people", "filters": {"q": "bulkzw"}, "tag": "big"},
        headers=headers,
    )
    assert resp.status_code == 202 and resp.json()["status"] == "queued"
    token = resp.json()["job"]
    assert queued == [token]
    status = client.get(f"{API}/jobs/{token}", headers=headers).json()
    assert (status["status"], status["total"]) == ("queued", 3)
    assert all(_tags(db, p) == set() for p in people)  # nothing before the worker runs
    other = api_headers(db, make_user(db))
    assert client.get(f"{API}/jobs/{token}", headers=other).status_code == 404
    assert bulk.run_job(token) == "done"
    status = client.get(f"{API}/jobs/{token}", headers=headers).json()
    assert status["status"] == "done" and status["result"]["changed"] == 3
    assert all(_tags(db, p) == {"big"} for p in people)
    entry = _entry(db, status["result"]["audit_id"])
    assert entry.details["job"] == token
    assert bulk.run_job(token) == "done"  # run twice (a retried task): applied once
    assert client.get(f"{API}/jobs/{'0' * 32}", headers=headers).status_code == 404
    assert client.get(f"{API}/jobs/not-a-token", headers=headers).status_code == 404


def test_a_job_whose_worker_died_is_queued_again(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[str] = []
    monkeypatch.setattr(bulk, "BACKGROUND_ROWS", 1)
    monkeypatch.setattr(bulk_tasks, "run_bulk", queued.append)
    headers = api_headers(db, make_user(db))
    people = _people(db, 2, "Bulkzx")
    token = client.post(
        API,
        json={"action": "do_not_contact", "target": "people", "ids": [p.id for p in people]},
        headers=headers,
    ).json()["job"]
    record = bulk.load_job(token)
    dead = leases.Lease("elsewhere:1", leases.now_utc(), 1)  # expired now
    record["job"].update(status="running", lease=dead.as_dict())
    bulk.STORE.save(token, record)
    counts = bulk.recover_stale()
    assert counts["resumed"] >= 1 and queued[-1] == token
    assert bulk.load_job(token)["job"]["status"] == "queued"
    assert bulk.run_job(token) == "done"
    db.expire_all()
    assert all(db.get_one(Person, p.id).no_email for p in people)


# --- the web form -------------------------------------------------------------------------------


def _form(token: str, **values: Any) -> dict[str, Any]:
    return {"csrf_token": token, **values}


def test_web_rows_ticked_confirm_then_apply_and_undo(client: TestClient, db: Session) -> None:
    people = _people(db, 2, "Bulkzy")
    org = make_organisation(db, name="Embassy Bulkzy")
    token = login(client, make_user(db))
    page = client.get("/contacts", params={"q": "bulkzy"})
    assert page.status_code == 200
    assert (
        f'value="person:{people[0].id}"' in page.text
        and f'value="organisation:{org.id}"' in page.text
    )
    assert "All 3 that match" in page.text
    assert 'value="export"' not in page.text  # a campaigner does not export
    picked = [f"person:{people[0].id}", f"organisation:{org.id}"]
    confirm = client.post(
        "/contacts/bulk",
        data=_form(token, selected=picked, scope="selected", action="add_tag", tag="wave 1"),
    )
    assert confirm.status_code == 200
    assert "<strong>2</strong> contacts" in confirm.text and "Add a tag: 2 contacts" in confirm.text
    assert _tags(db, people[0]) == set()  # nothing until confirmed
    done = client.post(
        "/contacts/bulk",
        data=_form(
            token, selected=picked, scope="selected", action="add_tag", tag="wave 1", confirm="yes"
        ),
        follow_redirects=False,
    )
    assert done.status_code == 303
    result_url = done.headers["location"]
    assert _tags(db, people[0]) == {"wave 1"} and _tags(db, org) == {"wave 1"}
    assert _tags(db, people[1]) == set()
    result = client.get(result_url)
    assert (
        "Tagged wave 1: 1 person and 1 organisation" in result.text
        and ">Undo</button>" in result.text
    )
    audit_id = int(result_url.rsplit("/", 1)[1])
    undone = client.post(
        f"/contacts/bulk/{audit_id}/undo", data=_form(token), follow_redirects=True
    )
    assert (
        undone.status_code == 200
        and "Undone by" in undone.text
        and ">Undo</button>" not in undone.text
    )
    assert _tags(db, people[0]) == set() and _tags(db, org) == set()


def test_web_all_that_match_and_inline_messages(client: TestClient, db: Session) -> None:
    people = _people(db, 3, "Bulkzz")
    token = login(client, make_user(db))
    filters = {"f_q": "bulkzz", "f_include_sample": "true"}
    confirm = client.post(
        "/contacts/bulk",
        data=_form(token, scope="all", action="do_not_contact", no_email="on", **filters),
    )
    assert confirm.status_code == 200 and "<strong>3</strong> contacts" in confirm.text
    assert "matching the directory" in confirm.text
    # from the directory's bar, the flags are asked first (both ticked), nothing changes yet
    assert 'name="details" value="1"' in confirm.text
    assert 'name="no_post" checked' in confirm.text
    skipped = client.post(
        "/contacts/bulk",
        data=_form(token, scope="all", action="do_not_contact", confirm="yes", **filters),
    )
    assert skipped.status_code == 200 and "Do not email" in skipped.text
    db.expire_all()
    assert not any(db.get_one(Person, p.id).no_email for p in people)
    asked = client.post(
        "/contacts/bulk",
        data=_form(
            token, scope="all", action="do_not_contact", no_email="on", details="1", **filters
        ),
    )
    assert "Mark them <strong>do not email</strong>" in asked.text
    client.post(
        "/contacts/bulk",
        data=_form(
            token,
            scope="all",
            action="do_not_contact",
            no_email="on",
            confirm="yes",
            details="1",
            **filters,
        ),
    )
    db.expire_all()
    assert all(
        db.get_one(Person, p.id).no_email and not db.get_one(Person, p.id).no_post for p in people
    )
    nothing = client.post(
        "/contacts/bulk", data=_form(token, scope="selected", action="add_tag", tag="x")
    )
    assert nothing.status_code == 422 and "Select at least one contact" in nothing.text
    no_tag = client.post(
        "/contacts/bulk", data=_form(token, scope="all", action="add_tag", **filters)
    )
    assert no_tag.status_code == 422 and "name the tag" in no_tag.text
    no_match = client.post(
        "/contacts/bulk",
        data=_form(token, scope="all", action="add_tag", tag="x", f_q="nobody-zz-qq"),
    )
    assert no_match.status_code == 422 and "No contact matches" in no_match.text
    unread = client.post(
        "/contacts/bulk",
        data=_form(token, selected="person:abc", scope="selected", action="add_tag", tag="x"),
    )
    assert unread.status_code == 422
    export = client.post(
        "/contacts/bulk", data=_form(token, scope="all", action="export", confirm="yes", **filters)
    )
    assert export.status_code == 403


def test_web_form_refuses_a_missing_or_wrong_csrf_token(client: TestClient, db: Session) -> None:
    person = make_person(db, given_name="Ed", family_name="Bulkcsrf")
    login(client, make_user(db))
    data = {
        "selected": f"person:{person.id}",
        "scope": "selected",
        "action": "add_tag",
        "tag": "x",
        "confirm": "yes",
    }
    assert client.post("/contacts/bulk", data=data).status_code == 403
    assert client.post("/contacts/bulk", data={**data, "csrf_token": "forged"}).status_code == 403
    assert _tags(db, person) == set()


def test_web_export_streams_a_coordinators_selection(client: TestClient, db: Session) -> None:
    people = _people(db, 2, "Bulkexp")
    token = login(client, make_user(db, Role.coordinator))
    resp = client.post(
        "/contacts/bulk",
        data=_form(
            token,
            selected=[f"person:{p.id}" for p in people],
            scope="selected",
            action="export",
            format="csv",
            confirm="yes",
            details="1",
        ),
    )
    assert resp.status_code == 200 and "attachment" in resp.headers["content-disposition"]
    assert resp.text.count("Bulkexp") == 2


def test_web_list_segment_opens_with_its_members(client: TestClient, db: Session) -> None:
    people = _people(db, 2, "Bulkseg")
    token = login(client, make_user(db))
    from_bar = client.post(
        "/contacts/bulk",
        data=_form(
            token, selected=f"person:{people[1].id}", scope="selected", action="add_to_segment"
        ),
    )
    assert from_bar.status_code == 200 and "<strong>1</strong> contact" in from_bar.text
    assert "or a new list segment named" in from_bar.text and 'role="alert"' not in from_bar.text
    client.post(
        "/contacts/bulk",
        data=_form(
            token,
            selected=f"person:{people[1].id}",
            scope="selected",
            action="add_to_segment",
            segment_name="Listed Bulkseg",
            confirm="yes",
            details="1",
        ),
    )
    details = db.scalar(
        select(AuditEntry.details)
        .where(AuditEntry.action == "contacts.bulk")
        .order_by(AuditEntry.id.desc())
    )
    assert details is not None
    seg_id = details["segment_id"]
    page = client.get("/contacts", params={"segment": seg_id})
    assert "segment Listed Bulkseg" in page.text
    assert (
        f"/contacts/people/{people[1].id}" in page.text
        and f"/contacts/people/{people[0].id}" not in page.text
    )
    assert (str(seg_id), "Listed Bulkseg") in bulk_views.list_segments(db)


# --- the treaty-status filters ------------------------------------------------------------------


@pytest.fixture
def states(db: Session) -> dict[str, tuple[int, int]]:
    """(organisation id, person id) in a state of each status: Lao PDR party to the CCM,
    Indonesia a signatory, Tajikistan, Finland and the Marshall Islands not signatories,
    Lithuania withdrawn (2025, party in 2020); under the MBT Lithuania and Finland withdrew
    and the Marshall Islands was a signatory in 2020."""
    out = {}
    for iso3 in ("LAO", "IDN", "TJK", "LTU", "FIN", "MHL"):
        org = make_organisation(db, name=f"MFA {iso3} Treatyzq", country=iso3)
        person = make_person(db, given_name="Desk", family_name=f"Treatyzq{iso3}")
        make_position(db, person, org, title="Desk officer")
        out[iso3] = (org.id, person.id)
    former = make_person(db, given_name="Former", family_name="TreatyzqLAO")
    make_position(
        db,
        former,
        db.get_one(Organisation, out["LAO"][0]),
        title="Minister",
        end_date=date(2020, 1, 1),
    )
    return out


@pytest.mark.parametrize("broad", [False, True])
def test_treaty_status_filters(
    db: Session, states: dict[str, tuple[int, int]], broad: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if broad:  # the paths taken by large results: counted, then walked in name order
        monkeypatch.setattr(contacts_search, "SMALL_RESULT", 1)
        monkeypatch.setattr(contacts_search, "BY_ID", 0)
        monkeypatch.setattr(contacts_search, "WALK_COST", 10**9)
    ccm = {"treaty": "CCM"}

    def isos(**filters: Any) -> tuple[set[int], set[int]]:
        people, orgs = contacts_search.search_ids(db, SearchFilters(q="treatyzq", **filters))
        page = contacts_search.search(db, SearchFilters(q="treatyzq", **filters), 1, 200)
        assert page.total == len(people) + len(orgs)
        assert {(h.kind, h.id) for h in page.items} == {("person", i) for i in people} | {
            ("organisation", i) for i in orgs
        }
        return set(people), set(orgs)

    def expect(*iso3s: str) -> tuple[set[int], set[int]]:
        return {states[i][1] for i in iso3s}, {states[i][0] for i in iso3s}

    assert isos(**ccm, treaty_status="state_party") == expect("LAO")
    assert isos(**ccm, treaty_status="signatory") == expect("IDN")
    assert isos(**ccm, treaty_status="non_signatory") == expect("TJK", "FIN", "MHL")
    assert isos(**ccm, treaty_status="withdrawn") == expect("LTU")
    assert isos(**ccm, treaty_status="not_party") == expect("IDN", "TJK", "LTU", "FIN", "MHL")
    mbt = {"treaty": "MBT"}
    assert isos(**mbt, treaty_status="withdrawn") == expect("LTU", "FIN")
    assert isos(**mbt, treaty_status="signatory") == (set(), set())
    # on a date: the Marshall Islands signed the MBT and ratified it later; Lithuania was party
    on = date(2020, 1, 1)
    assert isos(**mbt, treaty_status="signatory", treaty_on=on) == expect("MHL")
    assert isos(**ccm, treaty_status="state_party", treaty_on=on) == expect("LAO", "LTU")
    # people only through current positions: the former minister of Lao PDR is not listed
    people, _ = isos(**ccm, treaty_status="state_party", kind="person")
    assert people == {states["LAO"][1]}
    # combined with other filters
    assert isos(**ccm, treaty_status="not_party", sub_region="Central Asia") == expect("TJK")
    desk = {states[i][1] for i in ("IDN", "TJK", "LTU", "FIN", "MHL")}
    assert isos(**ccm, treaty_status="not_party", position="desk") == (desk, set())


def test_broad_results_keep_name_order_and_pages(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = make_organisation(db, name="Ministry Orderzq", country="TJK")
    people = [make_person(db, given_name="Al", family_name=f"Orderzq{c}") for c in "dbeac"]
    for p in people:
        make_position(db, p, org, title="Officer")
    filters = SearchFilters(q="orderzq", treaty="CCM", treaty_status="not_party")
    small = [contacts_search.search(db, filters, page, 2).items for page in (1, 2, 3)]
    monkeypatch.setattr(contacts_search, "SMALL_RESULT", 1)
    monkeypatch.setattr(contacts_search, "BY_ID", 0)
    monkeypatch.setattr(contacts_search, "WALK_COST", 10**9)
    broad = [contacts_search.search(db, filters, page, 2).items for page in (1, 2, 3)]
    assert [[h.name for h in page] for page in broad] == [[h.name for h in page] for page in small]
    names = [h.name for page in broad for h in page]
    # people by family name ("orderzqa al"), the organisation by its name ("ministry orderzq")
    assert names == ["Ministry Orderzq"] + [f"Al Orderzq{c}" for c in "abcde"]
    monkeypatch.setattr(contacts_search, "DEEP_ROWS", 1)  # a page too deep: sorted by the database
    deep = [contacts_search.search(db, filters, page, 2).items for page in (1, 2, 3)]
    assert [[h.name for h in page] for page in deep] == [[h.name for h in page] for page in small]


def test_deep_pages_of_the_whole_list_keep_name_order(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unfiltered list's deep pages (PostgreSQL: the database merges both name orders) are
    the pages read by merging the two orders here."""
    for name in ("Ministry Aaazq", "Бюро Aaazq", "embassy aaazq"):
        make_organisation(db, name=name, country="TJK")
    for family in ("Aaazqb", "Aaazqa", "Ааазq"):
        make_person(db, given_name="Al", family_name=family)
    total = contacts_search.search(db, SearchFilters(), 1, 1).total
    pages = range(1, total // 2 + 2)

    def listed() -> list[list[tuple[str, int]]]:
        return [
            [(h.kind, h.id) for h in contacts_search.search(db, SearchFilters(), page, 2).items]
            for page in pages
        ]

    merged_here = listed()
    monkeypatch.setattr(contacts_search, "DEEP_LIST_ROWS", 1)
    assert listed() == merged_here
    assert sum(len(page) for page in merged_here) == total
