"""Campaigns: targets from a saved filter, milestones with countdowns, API and web UI."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns import service
from app.campaigns.schemas import CampaignCreate, MilestoneCreate, TargetFilter
from app.models import Campaign, Role, User
from app.treaties.rules import Status
from tests.factories import api_headers, login, make_user

CENTRAL_ASIA_NON_PARTIES = {
    "name": "CCM in Central Asia",
    "treaty": "CCM",
    "target_filter": {"sub_region": "Central Asia", "statuses": ["non_signatory", "signatory"]},
    "countries": ["MNG"],
}


def make_campaign(db: Session, owner: User, **extra: object) -> Campaign:
    data = CampaignCreate.model_validate({**CENTRAL_ASIA_NON_PARTIES, **extra})
    return service.create(db, data=data, owner=owner, actor=owner)


def test_targets_from_filter_and_hand_picked(db: Session) -> None:
    campaign = make_campaign(db, make_user(db, Role.coordinator))
    targets = {t.country.iso3: t for t in service.targets(db, campaign)}
    assert {"KAZ", "KGZ", "TJK", "TKM", "UZB", "MNG"} <= set(targets)
    assert targets["TJK"].status is Status.non_signatory and not targets["TJK"].hand_picked
    assert targets["MNG"].hand_picked


def test_targets_re_evaluated_as_of_a_date(db: Session) -> None:
    owner = make_user(db, Role.coordinator)
    data = CampaignCreate(
        name="Parties in 2010",
        treaty="CCM",
        target_filter=TargetFilter(
            region="Asia", statuses=[Status.state_party], as_of=date(2010, 8, 1)
        ),
    )
    campaign = service.create(db, data=data, owner=owner, actor=owner)
    assert {t.country.iso3 for t in service.targets(db, campaign)} == {"LAO", "JPN"}


def test_milestones_derived_and_custom_with_countdown(db: Session) -> None:
    campaign = make_campaign(db, make_user(db, Role.coordinator))
    today = date(2026, 1, 1)
    service.add_milestone(
        db,
        campaign_id=campaign.id,
        actor=campaign.owner,
        data=MilestoneCreate(title="Letters out", due_date=today + timedelta(days=100)),
    )
    campaign = service.get(db, campaign.id)
    ms = {m.key: m for m in service.milestones(db, campaign, today=today)}
    assert ms["eif:CCM"].due_date == date(2010, 8, 1)
    assert ms["eif:CCM"].countdown(today) == "5632 days ago"
    custom = next(m for m in ms.values() if m.kind == "custom")
    assert custom.countdown(today) == "in 100 days"
    assert any(m.kind == "meeting" and "Vientiane" in m.title for m in ms.values())
    assert ms["annual:CCM:annual_report:2026"].due_date == date(2026, 4, 30)


def test_deadlines_of_target_states_become_milestones(db: Session) -> None:
    owner = make_user(db, Role.coordinator)
    data = CampaignCreate(name="Iraq", treaty="CCM", countries=["IRQ"])
    campaign = service.create(db, data=data, owner=owner, actor=owner)
    ms = {m.key: m for m in service.milestones(db, campaign, today=date(2020, 1, 1))}
    stockpile = next(m for k, m in ms.items() if k.endswith(":stockpile"))
    assert stockpile.due_date == date(2021, 11, 1)


def test_future_state_eif_counts_down_to_entry_into_force(db: Session, client: TestClient) -> None:
    coordinator = make_user(db, Role.coordinator)
    headers = api_headers(db, coordinator)
    client.post(
        "/api/v1/state-actions",
        headers=headers,
        json={
            "country": "KAZ",
            "treaty": "CCM",
            "kind": "accession",
            "action_date": "2030-01-15",
            "source": "hypothetical",
        },
    )
    data = CampaignCreate(name="KAZ", treaty="CCM", countries=["KAZ"])
    campaign = service.create(db, data=data, owner=coordinator, actor=coordinator)
    ms = service.milestones(db, campaign, today=date(2030, 3, 23))
    eif = next(m for m in ms if m.kind == "state_eif")
    assert eif.due_date == date(2030, 7, 1)
    assert eif.countdown(date(2030, 3, 23)) == "100 days to entry into force"


def test_api_crud_and_roles(client: TestClient, db: Session) -> None:
    coordinator = api_headers(db, make_user(db, Role.coordinator))
    campaigner = api_headers(db, make_user(db, Role.campaigner))
    assert (
        client.post(
            "/api/v1/campaigns", json=CENTRAL_ASIA_NON_PARTIES, headers=campaigner
        ).status_code
        == 403
    )
    resp = client.post("/api/v1/campaigns", json=CENTRAL_ASIA_NON_PARTIES, headers=coordinator)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["countries"] == ["MNG"] and body["calendar_url"].endswith(".ics")
    cid = body["id"]
    targets = client.get(f"/api/v1/campaigns/{cid}/targets", headers=campaigner).json()
    assert "TJK" in {t["iso3"] for t in targets}
    m = client.post(
        f"/api/v1/campaigns/{cid}/milestones",
        headers=coordinator,
        json={"title": "Workshop", "due_date": "2099-01-01"},
    )
    assert m.status_code == 201 and m.json()["countdown"].startswith("in ")
    ms = client.get(
        f"/api/v1/campaigns/{cid}/milestones?today=2098-12-31", headers=campaigner
    ).json()
    assert {"key": f"custom:{m.json()['id']}", "countdown": "in 1 day"}.items() <= next(
        x for x in ms if x["kind"] == "custom"
    ).items()
    update = {
        **CENTRAL_ASIA_NON_PARTIES,
        "name": "Renamed",
        "status": "active",
        "version": body["version"],
    }
    assert (
        client.put(f"/api/v1/campaigns/{cid}", json=update, headers=coordinator).json()["name"]
        == "Renamed"
    )
    assert (
        client.put(f"/api/v1/campaigns/{cid}", json=update, headers=coordinator).status_code == 409
    )
    listing = client.get("/api/v1/campaigns?q=renamed", headers=campaigner).json()
    assert listing["total"] == 1
    assert client.delete(f"/api/v1/campaigns/{cid}", headers=coordinator).status_code == 204
    assert client.get(f"/api/v1/campaigns/{cid}", headers=campaigner).status_code == 404


def test_api_rejects_bad_input(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    bad_dates = {**CENTRAL_ASIA_NON_PARTIES, "start_date": "2026-05-01", "end_date": "2026-01-01"}
    resp = client.post("/api/v1/campaigns", json=bad_dates, headers=headers)
    assert resp.status_code == 422 and "end before it starts" in resp.json()["detail"]
    resp = client.post(
        "/api/v1/campaigns",
        json={**CENTRAL_ASIA_NON_PARTIES, "countries": ["ZZZ"]},
        headers=headers,
    )
    assert resp.status_code == 422 and "ZZZ" in resp.json()["detail"]
    resp = client.post(
        "/api/v1/campaigns", json={**CENTRAL_ASIA_NON_PARTIES, "treaty": "NOPE"}, headers=headers
    )
    assert resp.status_code == 404
    assert db.scalars(select(Campaign)).first() is None


def test_web_create_campaign_and_dashboard(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.coordinator))
    assert client.get("/campaigns/new").status_code == 200
    bad = client.post("/campaigns", data={"csrf_token": token, "name": "", "treaty": "CCM"})
    assert bad.status_code == 422 and "has-error" in bad.text
    form = {
        "csrf_token": token,
        "name": "Central Asia",
        "treaty": "CCM",
        "status": "active",
        "reminder_days": "14",
        "filter_sub_region": "Central Asia",
        "filter_statuses": ["non_signatory", "signatory"],
        "countries": "",
    }
    resp = client.post("/campaigns", data=form, follow_redirects=False)
    assert resp.status_code == 303
    page = client.get(resp.headers["location"])
    assert "Tajikistan" in page.text and "Targets by status" in page.text
    cid = int(resp.headers["location"].rsplit("/", 1)[1])
    added = client.post(
        f"/campaigns/{cid}/milestones",
        data={
            "csrf_token": token,
            "title": "Regional workshop",
            "due_date": (date.today() + timedelta(days=3)).isoformat(),
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = client.get(f"/campaigns/{cid}")
    assert "in 3 days" in page.text and "Due this week" in page.text
    assert "Central Asia" in client.get("/campaigns?q=central").text
    assert "Regional workshop" in client.get("/").text  # dashboard panel


def test_campaigner_views_but_cannot_edit(client: TestClient, db: Session) -> None:
    campaign = make_campaign(db, make_user(db, Role.coordinator))
    token = login(client, make_user(db, Role.campaigner))
    page = client.get(f"/campaigns/{campaign.id}")
    assert page.status_code == 200 and "Add a milestone" not in page.text
    assert client.get("/campaigns/new").status_code == 403
    resp = client.post(f"/campaigns/{campaign.id}/delete", data={"csrf_token": token})
    assert resp.status_code == 403


def test_old_milestones_fold_away(client: TestClient, db: Session) -> None:
    campaign = make_campaign(db, make_user(db, Role.coordinator), start_date=date.today())
    login(client, make_user(db))
    page = client.get(f"/campaigns/{campaign.id}")
    assert "Entry into force of the CCM" not in page.text
    assert "earlier milestones" in page.text
    assert "Entry into force of the CCM" in client.get(f"/campaigns/{campaign.id}?all=1").text


def test_owner_can_be_another_user(client: TestClient, db: Session) -> None:
    other = make_user(db, Role.campaigner)
    headers = api_headers(db, make_user(db, Role.coordinator))
    body = {**CENTRAL_ASIA_NON_PARTIES, "owner": other.email}
    resp = client.post("/api/v1/campaigns", json=body, headers=headers)
    assert resp.status_code == 201 and resp.json()["owner"] == other.email
    resp = client.post(
        "/api/v1/campaigns", json={**body, "owner": "nobody@example.org"}, headers=headers
    )
    assert resp.status_code == 422 and "nobody@example.org" in resp.json()["detail"]


def test_web_form_shows_service_errors_inline(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.coordinator))
    resp = client.post("/campaigns", data={"csrf_token": token, "name": "X", "countries": "ZZZ"})
    assert resp.status_code == 422
    assert "has-error" in resp.text and "ZZZ is not a country code" in resp.text
    assert db.scalars(select(Campaign)).first() is None


def test_page_links_keep_a_search_with_an_ampersand() -> None:
    from app.web.pagination import page_query

    assert page_query({"q": "Bosnia & Herzegovina", "status": "", "batch_id": None}) == (
        "q=Bosnia+%26+Herzegovina"
    )
