"""Treaties web UI: as-of status table, a country's record, forms with inline errors."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Role, StateAction, Treaty
from tests.factories import login, make_user


def test_status_table_as_of_2010(client: TestClient, db: Session) -> None:
    login(client, make_user(db))
    page = client.get("/treaties/CCM?on=2010-08-01&status=state_party")
    assert page.status_code == 200
    tables = page.text[page.text.index('class="status-tiles"') :]  # after the world map
    assert "Lao People" in tables and "Kazakhstan" not in tables
    assert "30 state party" in page.text
    fragment = client.get("/treaties/CCM?on=bad", headers={"HX-Request": "true"})
    assert "is not a date" in fragment.text and "<html" not in fragment.text


def test_country_page_shows_original_and_extended_deadline(client: TestClient, db: Session) -> None:
    login(client, make_user(db))
    page = client.get("/treaties/countries/TJK")
    assert page.status_code == 200
    assert "<s>1 Apr 2010</s>" in page.text
    assert "Cartagena" in page.text
    assert "Record an action" not in page.text  # campaigners only view


def test_coordinator_records_and_edits_an_action(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.coordinator))
    bad = client.post(
        "/treaties/countries/KGZ/actions",
        data={
            "csrf_token": token,
            "treaty": "CCM",
            "kind": "signature",
            "action_date": "",
            "source": "note",
        },
    )
    assert bad.status_code == 422 and "has-error" in bad.text
    assert db.scalars(select(StateAction).where(StateAction.source == "note")).first() is None
    ok = client.post(
        "/treaties/countries/KGZ/actions",
        data={
            "csrf_token": token,
            "treaty": "CCM",
            "kind": "signature",
            "action_date": "2031-05-05",
            "source": "note",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    action = db.scalars(select(StateAction).where(StateAction.source == "note")).one()
    edit = client.post(
        f"/treaties/actions/{action.id}",
        data={
            "csrf_token": token,
            "kind": "signature",
            "action_date": "2031-05-06",
            "source": "note 2",
            "version": action.version,
        },
        follow_redirects=False,
    )
    assert edit.status_code == 303
    history = client.get(f"/treaties/actions/{action.id}")
    assert "was: signature 2031-05-05" in history.text


def test_admin_adds_treaty_in_the_web_ui(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.admin))
    bad = client.post(
        "/treaties",
        data={"csrf_token": token, "short_name": "ATT", "name": "", "eif_trigger_count": "x"},
    )
    assert bad.status_code == 422
    ok = client.post(
        "/treaties",
        data={
            "csrf_token": token,
            "short_name": "ATT",
            "name": "Arms Trade Treaty",
            "eif_trigger_count": "50",
            "adopted_on": "",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert db.scalars(select(Treaty).where(Treaty.short_name == "ATT")).one()
    ob = client.post(
        "/treaties/ATT/obligations",
        data={
            "csrf_token": token,
            "code": "annual_report",
            "label": "Annual report",
            "annual_month": "5",
            "annual_day": "31",
        },
        follow_redirects=False,
    )
    assert ob.status_code == 303
    assert "every year by 31/5" in client.get("/treaties/ATT").text


def test_coordinator_cannot_add_treaty(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.coordinator))
    resp = client.post("/treaties", data={"csrf_token": token, "short_name": "ATT"})
    assert resp.status_code == 403


def test_status_tiles_link_each_state(client: TestClient, db: Session) -> None:
    login(client, make_user(db))
    page = client.get("/treaties/MBT?on=2026-02-03&region=Europe")
    assert 'class="tile status-withdrawn"' in page.text
    assert 'title="Finland: Withdrawn"' in page.text
    assert "Treaties" in client.get("/treaties").text


def test_templates_have_nothing_the_csp_would_block() -> None:
    import re

    from app.config import PROJECT_ROOT

    folders = ["treaties", "campaigns", "notifications"]
    for folder in folders:
        for path in (PROJECT_ROOT / "app" / "templates" / folder).glob("*.html"):
            text = path.read_text()
            assert 'style="' not in text, path
            assert "<script" not in text, path
            assert not re.search(r"\son[a-z]+=", text), path


def test_status_world_map_as_of_a_past_date(client: TestClient, db: Session) -> None:
    """Who was party on 1 August 2010, on a map drawn offline, with a legend."""
    import re

    login(client, make_user(db))
    html = client.get("/treaties/CCM?on=2010-08-01").text
    svg = html[html.index("<svg") : html.index("</svg>")]

    def category(iso2: str) -> str:
        match = re.search(rf'data-iso2="{iso2}" data-category="([a-z_]+)"', svg)
        assert match, iso2
        return match.group(1)

    assert category("LA") == "state_party"  # Lao PDR ratified in 2009
    assert category("KZ") == "non_signatory"
    assert category("AF") == "signatory"  # signed 2008, ratified 2011
    assert 'href="/treaties/countries/LA"' in svg
    assert "State party" in html and "(30)" in html  # the legend counts the 30 parties
    assert "http://" not in svg.replace("http://www.w3.org/2000/svg", "")
