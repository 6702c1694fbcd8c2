"""Treaties API: a country's dates as ISO strings, admin-only treaties, edited actions."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Role
from tests.factories import api_headers, make_user


def test_country_treaties_gives_iso_dates(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    resp = client.get("/api/v1/countries/TJK/treaties?on=2026-02-03", headers=headers)
    assert resp.status_code == 200
    by = {row["treaty"]: row for row in resp.json()}
    assert by["CCM"]["status"] == "non_signatory" and by["CCM"]["deadlines"] == []
    mbt = by["MBT"]
    assert mbt["status"] == "state_party"
    assert mbt["instrument_on"] == "1999-10-12"
    assert mbt["entry_into_force"] == "2000-04-01"
    clearance = next(d for d in mbt["deadlines"] if d["code"] == "clearance")
    assert clearance["original"] == "2010-04-01"
    assert clearance["current"] == "2025-12-31"
    assert "Cartagena" in clearance["extensions"][0]["granted_by"]


def test_unknown_country_is_a_404_problem(client: TestClient, db: Session) -> None:
    resp = client.get("/api/v1/countries/XXX/treaties", headers=api_headers(db, make_user(db)))
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"


def test_status_as_of_a_date(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    resp = client.get(
        "/api/v1/treaties/CCM/status?on=2010-08-01&status=state_party", headers=headers
    )
    assert resp.status_code == 200
    assert len(resp.json()["states"]) == 30
    counts = client.get("/api/v1/treaties/CCM/counts?on=2010-08-01", headers=headers).json()
    assert counts["counts"]["state_party"] == 30
    assert counts["entry_into_force"] == "2010-08-01"
    assert (
        client.get("/api/v1/treaties/CCM/status?on=2010-13-01", headers=headers).status_code == 422
    )


def test_admin_adds_a_treaty_with_obligations(client: TestClient, db: Session) -> None:
    admin = api_headers(db, make_user(db, Role.admin))
    body = {
        "short_name": "ATT",
        "name": "Arms Trade Treaty",
        "eif_trigger_count": 50,
        "eif_months_after": 3,
        "adopted_on": "2013-04-02",
    }
    assert client.post("/api/v1/treaties", json=body, headers=admin).status_code == 201
    assert client.post("/api/v1/treaties", json=body, headers=admin).status_code == 409
    ob = {"code": "initial_report", "label": "Initial report", "period_years": 1}
    resp = client.post("/api/v1/treaties/ATT/obligations", json=ob, headers=admin)
    assert resp.status_code == 201
    bad = {"code": "annual", "label": "Annual", "annual_month": 2, "annual_day": 30}
    resp = client.post("/api/v1/treaties/ATT/obligations", json=bad, headers=admin)
    assert resp.status_code == 422 and "does not exist" in resp.json()["detail"]
    coordinator = api_headers(db, make_user(db, Role.coordinator))
    assert client.post("/api/v1/treaties", json=body, headers=coordinator).status_code == 403
    treaty = client.get("/api/v1/treaties/ATT", headers=coordinator).json()
    assert treaty["obligations"][0]["period_years"] == 1


def test_state_action_edit_keeps_history(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    body = {
        "country": "KAZ",
        "treaty": "CCM",
        "kind": "signature",
        "action_date": "2030-01-10",
        "source": "test depositary note",
    }
    resp = client.post("/api/v1/state-actions", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    action = resp.json()
    assert client.post("/api/v1/state-actions", json=body, headers=headers).status_code == 409
    update = {
        "kind": "signature",
        "action_date": "2030-01-11",
        "source": "corrected",
        "version": action["version"],
    }
    resp = client.put(f"/api/v1/state-actions/{action['id']}", json=update, headers=headers)
    assert resp.status_code == 200 and resp.json()["action_date"] == "2030-01-11"
    stale = client.put(f"/api/v1/state-actions/{action['id']}", json=update, headers=headers)
    assert stale.status_code == 409
    history = client.get(f"/api/v1/state-actions/{action['id']}/history", headers=headers).json()
    assert history[0]["details"]["before"]["action_date"] == "2030-01-10"
    summary = client.get("/api/v1/countries/KAZ/treaties?on=2030-02-01", headers=headers).json()
    assert summary[0]["status"] == "signatory"


def test_campaigner_cannot_record_actions(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.campaigner))
    body = {
        "country": "KAZ",
        "treaty": "CCM",
        "kind": "signature",
        "action_date": "2030-01-10",
        "source": "x",
    }
    assert client.post("/api/v1/state-actions", json=body, headers=headers).status_code == 403


def test_bad_withdrawal_dates_refused(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    body = {
        "country": "KAZ",
        "treaty": "CCM",
        "kind": "withdrawal",
        "action_date": "2030-01-10",
        "effective_date": "2029-01-01",
        "source": "x",
    }
    resp = client.post("/api/v1/state-actions", json=body, headers=headers)
    assert resp.status_code == 422 and "before" in resp.json()["detail"]


def test_extension_supersedes_but_keeps_the_original(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    body = {
        "country": "IRQ",
        "treaty": "CCM",
        "obligation_code": "clearance",
        "new_deadline": "2028-11-01",
        "granted_by": "11MSP (Geneva, 2023)",
        "source": "CCM/MSP/2023 final report",
    }
    assert client.post("/api/v1/extensions", json=body, headers=headers).status_code == 201
    rows = client.get("/api/v1/countries/IRQ/treaties", headers=headers).json()
    clearance = next(d for d in rows[0]["deadlines"] if d["code"] == "clearance")
    assert clearance["original"] == "2023-11-01"
    assert clearance["current"] == "2028-11-01" and clearance["extended"] is True
    bad = {**body, "obligation_code": "nothing"}
    resp = client.post("/api/v1/extensions", json=bad, headers=headers)
    assert resp.status_code == 422 and "nothing" in resp.json()["detail"]
