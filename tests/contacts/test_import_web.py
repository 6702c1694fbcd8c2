"""Import and merge through the API and the web UI: roles, CSRF, escaping, all or nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.contacts.imports import csvfile
from app.contacts.imports import sink as import_sink
from app.contacts.imports.csvfile import write_csv
from app.models import ContactPoint, Letter, Person, Role
from tests.factories import api_headers, login, make_person, make_user

HEADERS = ["Given name", "Family name", "Organisation", "Country", "Email", "Phone"]
GOOD = [
    [
        "Emomali",
        "Rahmon",
        "Executive Office of the President",
        "TJK",
        "p@prezident.tj",
        "+992 37 221 1234",
    ],
    ["Jane", "Doe", "ICBL", "CH", "jane@icbl.org", ""],
]


def _csv(rows: list[list[str]], headers: list[str] = HEADERS) -> bytes:
    return write_csv(headers, rows).encode("utf-8")


def _people(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Person)) or 0


# --- API ---------------------------------------------------------------------------------------


def test_api_dry_run_returns_the_report(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    resp = client.post(
        "/api/v1/contacts/imports",
        headers=headers,
        files={"file": ("c.csv", _csv(GOOD + [["", "", "", "", "bad", ""]]), "text/csv")},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["dry_run"] is True and body["imported"] is False
    assert body["mapping"] == [
        "given_name",
        "family_name",
        "organisation",
        "country",
        "email",
        "phone",
    ]
    assert [b["row"] for b in body["bad_rows"]] == [4]
    assert body["created"]["people"] == 2


def test_api_import_with_a_mapping(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    data = _csv([["Rahmon", "Emomali", "p@prezident.tj"]], ["Surname?", "Forename?", "Mail?"])
    mapping = {"Surname?": "family_name", "Forename?": "given_name", "3": "email"}
    resp = client.post(
        "/api/v1/contacts/imports",
        headers=headers,
        data={"dry_run": "false", "mapping": json.dumps(mapping)},
        files={"file": ("c.csv", data, "text/csv")},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["created"]["people"] == 1
    person = db.scalar(select(Person).where(Person.family_name == "Rahmon"))
    assert person is not None and person.given_name == "Emomali"


def test_api_refuses_a_file_with_bad_rows(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    before = _people(db)
    resp = client.post(
        "/api/v1/contacts/imports",
        headers=headers,
        data={"dry_run": "false"},
        files={"file": ("c.csv", _csv(GOOD + [["X", "Y", "", "ZZ", "", ""]]), "text/csv")},
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["errors"] == [{"row": 4, "message": "unknown country 'ZZ'"}]
    assert _people(db) == before


@pytest.mark.parametrize(
    ("data", "status", "text"),
    [
        ({"mapping": "{not json"}, 422, "not valid JSON"),
        ({"mapping": json.dumps({"Email": "password"})}, 422, "not a contact field"),
        ({"mapping": json.dumps({"Nope": "email"})}, 422, "does not have"),
        ({"encoding": "ebcdic"}, 422, "Unknown encoding"),
        ({"duplicates": json.dumps({"default": "explode"})}, 422, "duplicates"),
    ],
)
def test_api_bad_options_are_4xx(
    client: TestClient, db: Session, data: dict[str, str], status: int, text: str
) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    resp = client.post(
        "/api/v1/contacts/imports",
        headers=headers,
        data=data,
        files={"file": ("c.csv", _csv(GOOD), "text/csv")},
    )
    assert resp.status_code == status, resp.text
    assert text in resp.json()["detail"]


def test_api_file_too_large_is_413(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvfile, "MAX_BYTES", 100)
    headers = api_headers(db, make_user(db, Role.coordinator))
    resp = client.post(
        "/api/v1/contacts/imports",
        headers=headers,
        files={"file": ("c.csv", _csv(GOOD * 5), "text/csv")},
    )
    assert resp.status_code == 413
    assert "limit" in resp.json()["detail"]


def test_campaigners_cannot_import_or_merge(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.campaigner))
    resp = client.post(
        "/api/v1/contacts/imports", headers=headers, files={"file": ("c.csv", _csv(GOOD))}
    )
    assert resp.status_code == 403
    a, b = make_person(db), make_person(db)
    resp = client.post(
        "/api/v1/contacts/merge",
        headers=headers,
        json={"kind": "person", "keep_id": a.id, "drop_id": b.id},
    )
    assert resp.status_code == 403
    assert client.post("/api/v1/contacts/merge", json={}).status_code == 401


def test_api_import_is_all_or_nothing_when_the_database_fails(
    web_app: Any, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    db.flush()
    before = _people(db)
    real = import_sink._bulk

    def failing(session: Session, table: Any, rows: list[dict[str, Any]], **kw: Any) -> Any:
        if table.name == "positions":
            raise RuntimeError("simulated failure after people were inserted")
        return real(session, table, rows, **kw)

    monkeypatch.setattr(import_sink, "_bulk", failing)
    with TestClient(web_app, raise_server_exceptions=False) as client:
        resp = client.post(
            "/api/v1/contacts/imports",
            headers=headers,
            data={"dry_run": "false"},
            files={"file": ("c.csv", _csv(GOOD), "text/csv")},
        )
    assert resp.status_code == 500
    db.expire_all()
    assert _people(db) == before
    assert db.scalar(select(func.count()).select_from(ContactPoint)) == 0


def test_api_merge(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    keep = make_person(db, given_name="A", family_name="Keep")
    drop = make_person(db, given_name="A", family_name="Drop", honorific="Dr")
    db.add(Letter(reference="API/1", person_id=drop.id))
    db.flush()
    preview = client.get(
        "/api/v1/contacts/merge/preview",
        headers=headers,
        params={"kind": "person", "keep_id": keep.id, "drop_id": drop.id},
    )
    assert preview.status_code == 200
    assert {"table": "letters", "column": "person_id", "count": 1} in preview.json()["references"]
    resp = client.post(
        "/api/v1/contacts/merge",
        headers=headers,
        json={"kind": "person", "keep_id": keep.id, "drop_id": drop.id},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == "Dr A Keep"
    assert db.scalar(select(Letter.person_id).where(Letter.reference == "API/1")) == keep.id
    again = client.post(
        "/api/v1/contacts/merge",
        headers=headers,
        json={"kind": "person", "keep_id": keep.id, "drop_id": drop.id},
    )
    assert again.status_code == 404
    same = client.post(
        "/api/v1/contacts/merge",
        headers=headers,
        json={"kind": "person", "keep_id": keep.id, "drop_id": keep.id},
    )
    assert same.status_code == 422


# --- web ---------------------------------------------------------------------------------------


def _upload(client: TestClient, token: str, data: bytes) -> str:
    resp = client.post(
        "/contacts/import",
        data={"csrf_token": token, "encoding": "auto", "delimiter": "auto"},
        files={"file": ("contacts.csv", data, "text/csv")},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return resp.headers["location"]


def _mapping_form(page: str, token: str) -> dict[str, str]:
    form = {"csrf_token": token, "encoding": "auto", "delimiter": "auto"}
    for name, value in re.findall(
        r'<select name="(col_\d+)">.*?<option value="([a-z_]*)" selected', page, re.S
    ):
        form[name] = value
    return form


def test_web_upload_map_check_import_result(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.coordinator))
    url = _upload(client, token, _csv(GOOD))
    page = client.get(url)
    assert page.status_code == 200 and "Map the columns" in page.text
    form = _mapping_form(page.text, token)
    assert form["col_4"] == "email"
    report = client.post(f"{url}/check", data=form)
    assert report.status_code == 200
    assert "people to create" in report.text and "Every row is valid" in report.text
    before = _people(db)
    done = client.post(f"{url}/import", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    result = client.get(done.headers["location"])
    assert "people created" in result.text and "Emomali Rahmon" in result.text
    assert _people(db) == before + 2
    assert "contacts.csv" in client.get("/contacts/import").text  # listed among earlier imports
    twice = client.post(f"{url}/import", data={"csrf_token": token}, follow_redirects=False)
    assert twice.status_code == 303 and _people(db) == before + 2


def test_web_bad_rows_are_listed_and_import_is_not_offered(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.coordinator))
    url = _upload(client, token, _csv(GOOD + [["A", "B", "", "", "nope", ""]]))
    page = client.get(url)
    report = client.post(f"{url}/check", data=_mapping_form(page.text, token))
    assert "Rows with problems" in report.text and "invalid email" in report.text
    assert 'data-confirm="Import' not in report.text
    refused = client.post(f"{url}/import", data={"csrf_token": token})
    assert refused.status_code == 422 and "Nothing was imported" in refused.text


def test_web_upload_errors_are_shown_inline(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.coordinator))
    resp = client.post(
        "/contacts/import",
        data={"csrf_token": token, "encoding": "auto", "delimiter": "auto"},
        files={"file": ("empty.csv", b"", "text/csv")},
    )
    assert resp.status_code == 422 and "empty" in resp.text


def test_web_needs_csrf_and_a_coordinator(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.coordinator))
    resp = client.post("/contacts/import", files={"file": ("c.csv", _csv(GOOD), "text/csv")})
    assert resp.status_code == 403 and "CSRF" in resp.text
    resp = client.post("/contacts/merge", data={"kind": "person", "keep_id": "1", "drop_id": "2"})
    assert resp.status_code == 403
    assert token
    other = TestClient(client.app, base_url="http://testserver")
    login(other, make_user(db, Role.campaigner))
    assert other.get("/contacts/import").status_code == 403
    assert other.get("/contacts/merge").status_code == 403


def test_web_another_users_upload_is_not_found(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.coordinator))
    url = _upload(client, token, _csv(GOOD))
    other = TestClient(client.app, base_url="http://testserver")
    login(other, make_user(db, Role.coordinator))
    assert other.get(url).status_code == 404
    assert client.get("/contacts/import/../../etc").status_code == 404
    assert client.get("/contacts/import/" + "0" * 32).status_code == 404


def test_imported_names_are_escaped(client: TestClient, db: Session) -> None:
    evil = "<script>alert(1)</script>"
    existing = make_person(db, given_name=evil, family_name="Doe")
    db.add(ContactPoint(person_id=existing.id, kind="email", value="x@example.org"))
    db.flush()
    token = login(client, make_user(db, Role.coordinator))
    url = _upload(
        client,
        token,
        _csv([[evil, "Doe", "", "", "x@example.org", ""], [evil, "", "", "", "bad", ""]]),
    )
    page = client.get(url)
    assert evil not in page.text and "&lt;script&gt;" in page.text
    report = client.post(f"{url}/check", data=_mapping_form(page.text, token))
    assert evil not in report.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in report.text
    other = make_person(db, given_name=evil, family_name="Doe")
    review = client.get(
        "/contacts/merge/review",
        params={"kind": "person", "keep_id": existing.id, "drop_id": other.id},
    )
    assert review.status_code == 200
    assert evil not in review.text and "&lt;script&gt;" in review.text


def test_web_duplicates_offer_merge_and_skip(client: TestClient, db: Session) -> None:
    existing = make_person(db, given_name="Jane", family_name="Doe")
    db.add(ContactPoint(person_id=existing.id, kind="email", value="jane@icbl.org"))
    db.flush()
    token = login(client, make_user(db, Role.coordinator))
    url = _upload(client, token, _csv(GOOD))
    page = client.get(url)
    report = client.post(f"{url}/check", data=_mapping_form(page.text, token))
    assert 'name="dup_3"' in report.text and "same email" in report.text
    done = client.post(
        f"{url}/import", data={"csrf_token": token, "dup_3": "skip"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert "1" in client.get(done.headers["location"]).text
    assert (
        db.scalar(select(func.count()).select_from(Person).where(Person.family_name == "Doe")) == 1
    )


def test_web_merge_flow(client: TestClient, db: Session) -> None:
    keep = make_person(db, given_name="Emomali", family_name="Rahmon")
    drop = make_person(db, given_name="Emomali", family_name="Rakhmonov")
    db.add(Letter(reference="WEB/1", person_id=drop.id))
    db.flush()
    token = login(client, make_user(db, Role.coordinator))
    found = client.get("/contacts/merge", params={"kind": "person", "q": "emomali"})
    assert found.status_code == 200 and f'value="{drop.id}"' in found.text
    review = client.get(
        "/contacts/merge/review",
        params={"kind": "person", "keep_id": keep.id, "drop_id": drop.id},
    )
    assert "data-confirm" in review.text and "letters" in review.text
    done = client.post(
        "/contacts/merge",
        data={
            "csrf_token": token,
            "kind": "person",
            "keep_id": str(keep.id),
            "drop_id": str(drop.id),
            "field_family_name": "drop",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    drop_id = drop.id
    db.expire_all()
    assert db.get(Person, drop_id) is None
    kept = db.get(Person, keep.id)
    assert kept is not None and kept.family_name == "Rakhmonov"
    assert db.scalar(select(Letter.person_id).where(Letter.reference == "WEB/1")) == keep.id
    bad = client.get(
        "/contacts/merge/review", params={"kind": "person", "keep_id": "x", "drop_id": "1"}
    )
    assert bad.status_code == 422


def test_large_imports_run_in_the_worker_with_progress(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.contacts.imports import tasks as import_tasks
    from app.contacts.imports import uploads
    from app.contacts.imports import views as import_views

    task = import_tasks.import_contacts
    monkeypatch.setattr(uploads, "BACKGROUND_ROWS", 1)
    queued: list[tuple[str, int]] = []
    monkeypatch.setattr(
        import_views.import_tasks, "import_contacts", lambda *args: queued.append(args)
    )
    user = make_user(db, Role.coordinator)
    token = login(client, user)
    url = _upload(client, token, _csv(GOOD))
    page = client.get(url)
    client.post(f"{url}/check", data=_mapping_form(page.text, token))
    before = _people(db)
    started = client.post(f"{url}/import", data={"csrf_token": token}, follow_redirects=False)
    assert started.headers["location"].endswith("/progress")
    assert queued == [(url.rsplit("/", 1)[1], user.id)]
    waiting = client.get(f"{url}/progress")
    assert "Waiting for the worker" in waiting.text and 'hx-trigger="every 1s"' in waiting.text
    assert _people(db) == before
    # what the worker runs
    assert task.call_local(*queued[0]) == "done"
    done = client.get(f"{url}/progress", headers={"HX-Request": "true"})
    assert done.status_code == 204 and done.headers["HX-Redirect"].endswith("/result")
    assert _people(db) == before + 2
    assert "people created" in client.get(f"{url}/result").text


def test_a_failed_background_import_says_why(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.contacts.imports import uploads
    from app.contacts.imports import views as import_views

    monkeypatch.setattr(uploads, "BACKGROUND_ROWS", 1)
    queued: list[tuple[str, int]] = []
    monkeypatch.setattr(
        import_views.import_tasks, "import_contacts", lambda *args: queued.append(args)
    )
    token = login(client, make_user(db, Role.coordinator))
    url = _upload(client, token, _csv(GOOD))
    page = client.get(url)
    client.post(f"{url}/check", data=_mapping_form(page.text, token))
    client.post(f"{url}/import", data={"csrf_token": token})
    meta = uploads.load_meta(queued[0][0])
    meta["job"]["options"]["mapping"] = {"1": "password"}
    uploads.save_meta(queued[0][0], meta)
    assert uploads.run_stored(*queued[0]) == "failed"
    page = client.get(f"{url}/progress")
    assert "Nothing was imported" in page.text and "is not a contact field" in page.text
    assert "hx-trigger" not in page.text


def test_web_merge_of_a_record_edited_meanwhile_is_refused(client: TestClient, db: Session) -> None:
    keep = make_person(db, given_name="A", family_name="One")
    drop = make_person(db, given_name="A", family_name="Two")
    token = login(client, make_user(db, Role.coordinator))
    review = client.get(
        "/contacts/merge/review",
        params={"kind": "person", "keep_id": keep.id, "drop_id": drop.id},
    )
    assert f'name="drop_version" value="{drop.version}"' in review.text
    resp = client.post(
        "/contacts/merge",
        data={
            "csrf_token": token,
            "kind": "person",
            "keep_id": str(keep.id),
            "drop_id": str(drop.id),
            "keep_version": str(keep.version),
            "drop_version": str(drop.version + 5),
        },
    )
    assert resp.status_code == 409 and "changed by someone else" in resp.text
    assert db.get(Person, drop.id) is not None


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    ),
    dry_run=st.booleans(),
    delimiter=st.sampled_from(["auto", ",", ";", "tab", "|"]),
)
def test_api_never_fails_with_a_500_on_any_file(
    client: TestClient, db: Session, data: bytes, dry_run: bool, delimiter: str
) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    resp = client.post(
        "/api/v1/contacts/imports",
        headers=headers,
        data={"dry_run": str(dry_run).lower(), "delimiter": delimiter},
        files={"file": ("x.csv", data, "text/csv")},
    )
    assert resp.status_code in (200, 201, 413, 422), resp.text
