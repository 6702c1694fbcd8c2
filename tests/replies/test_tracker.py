"""The reply tracker: rows per target, counts, filters, CSV (formula-safe), map and chart."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.campaigns import service as campaigns_service
from app.campaigns.schemas import CampaignCreate
from app.models import Campaign, Channel, LetterStatus, Role, User
from app.replies import tracker
from tests.factories import api_headers, login, make_user
from tests.replies.helpers import log_reply, make_letter

TODAY = date.today()


@pytest.fixture
def coordinator(db: Session) -> User:
    return make_user(db, Role.coordinator)


@pytest.fixture
def campaign(db: Session, coordinator: User) -> Campaign:
    data = CampaignCreate(
        name="Tracker test", treaty="CCM", countries=["PAK", "KAZ", "UZB", "VNM", "THA"]
    )
    campaign = campaigns_service.create(db, data=data, owner=coordinator, actor=coordinator)
    sent = TODAY - timedelta(days=40)
    pak = make_letter(db, iso3="PAK", campaign_id=campaign.id, sent_on=sent)
    log_reply(
        db,
        received_on=sent + timedelta(days=25),
        letter_ids=[pak.id],
        positions=[{"treaty": "CCM", "stance": "opposes", "quote": "CCW"}],
    )
    make_letter(db, iso3="KAZ", campaign_id=campaign.id, sent_on=sent)  # overdue (due after 30)
    make_letter(
        db,
        iso3="UZB",
        campaign_id=campaign.id,
        sent_on=TODAY - timedelta(days=5),
        channel=Channel.email,
    )  # waiting
    make_letter(
        db,
        iso3="VNM",
        campaign_id=campaign.id,
        status=LetterStatus.draft,
        recipient_name='=HYPERLINK("http://evil.example","click")',
    )
    return campaign  # THA: a target without a letter


def test_rows_and_counts(db: Session, campaign: Campaign) -> None:
    board = tracker.build(db, campaign.id)
    by_state = {r.iso3: r for r in board.rows}
    assert {k: r.category for k, r in by_state.items()} == {
        "PAK": "replied",
        "KAZ": "overdue",
        "UZB": "waiting",
        "VNM": "not_sent",
        "THA": "no_letter",
    }
    assert by_state["PAK"].days_waiting == 25 and by_state["PAK"].position == "opposes"
    assert by_state["KAZ"].days_waiting == 40
    assert board.counts["sent"] == 3
    assert board.counts["replied"] == 1
    assert board.counts["overdue"] == 1
    assert board.counts["response_rate"] == pytest.approx(33.3)
    assert board.counts["targets"] == 5


def test_filters_and_sorting(db: Session, campaign: Campaign) -> None:
    rows = tracker.build(db, campaign.id).rows
    assert [r.iso3 for r in tracker.filter_rows(rows, category="overdue")] == ["KAZ"]
    assert [r.iso3 for r in tracker.filter_rows(rows, position="opposes")] == ["PAK"]
    by_days = tracker.filter_rows(rows, sort="days", descending=True)
    assert [r.iso3 for r in by_days][:2] == ["KAZ", "PAK"]
    assert [r.iso3 for r in tracker.filter_rows(rows, q="kazakh")] == ["KAZ"]


def test_csv_is_formula_safe(
    client: TestClient, db: Session, campaign: Campaign, coordinator: User
) -> None:
    login(client, coordinator)
    resp = client.get(f"/campaigns/{campaign.id}/replies.csv")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert rows[0][:3] == ["State", "ISO3", "Addressee"]
    vnm = next(r for r in rows if r[1] == "VNM")
    assert vnm[2].startswith("'=HYPERLINK")
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\nx"):
        assert tracker.safe_cell(cell) == "'" + cell
    assert tracker.safe_cell("Pakistan") == "Pakistan"


def test_tracker_page_map_and_chart(
    client: TestClient, db: Session, campaign: Campaign, coordinator: User
) -> None:
    login(client, coordinator)
    page = client.get(f"/campaigns/{campaign.id}/replies")
    assert page.status_code == 200
    assert 'data-count="replied">1<' in page.text
    assert 'data-count="response_rate">33.3%<' in page.text
    assert 'data-iso2="PK" data-category="replied"' in page.text
    assert 'data-iso2="KZ" data-category="overdue"' in page.text
    assert 'class="reply-chart"' in page.text
    assert "=HYPERLINK(&#34;" in page.text or "=HYPERLINK(&quot;" in page.text
    positions_map = client.get(f"/campaigns/{campaign.id}/replies?map=position")
    assert 'data-iso2="PK" data-category="opposes"' in positions_map.text
    treaty_map = client.get(f"/campaigns/{campaign.id}/replies?map=treaty")
    assert 'data-iso2="PK" data-category="non_signatory"' in treaty_map.text
    fragment = client.get(
        f"/campaigns/{campaign.id}/replies?status=overdue", headers={"HX-Request": "true"}
    )
    assert "<html" not in fragment.text and "Kazakhstan" in fragment.text
    assert "Pakistan" not in fragment.text
    detail = client.get(f"/campaigns/{campaign.id}")
    assert f"/campaigns/{campaign.id}/replies" in detail.text


def test_chart_series_by_month(db: Session, campaign: Campaign) -> None:
    series = tracker.replies_by_month(db, campaign.id)
    assert sum(s for _, s, _ in series) == 3
    assert sum(r for _, _, r in series) == 1
    assert tracker.chart_svg(series).startswith("<svg")
    assert tracker.chart_svg([]) == ""


def test_tracker_is_for_coordinators(
    client: TestClient, db: Session, campaign: Campaign, coordinator: User
) -> None:
    campaigner = make_user(db, Role.campaigner)
    login(client, campaigner)
    assert client.get(f"/campaigns/{campaign.id}/replies").status_code == 403
    assert client.get(f"/campaigns/{campaign.id}/replies.csv").status_code == 403
    assert (
        client.get(
            f"/api/v1/campaigns/{campaign.id}/replies", headers=api_headers(db, campaigner)
        ).status_code
        == 403
    )
    api = client.get(
        f"/api/v1/campaigns/{campaign.id}/replies?status=replied",
        headers=api_headers(db, coordinator),
    )
    assert api.status_code == 200
    body = api.json()
    assert body["counts"]["replied"] == 1 and [r["country"] for r in body["rows"]] == ["PAK"]
    assert (
        client.get(
            "/api/v1/campaigns/999999/replies", headers=api_headers(db, coordinator)
        ).status_code
        == 404
    )


def test_dashboard_shows_overdue_and_position_changes(
    client: TestClient, db: Session, campaign: Campaign, coordinator: User
) -> None:
    login(client, coordinator)
    page = client.get("/")
    assert "Overdue replies" in page.text
    assert "Kazakhstan" in page.text and "10 days overdue" in page.text
    assert "Positions that changed" in page.text and "Opposes" in page.text


def test_an_acknowledgement_is_shown_but_is_not_an_answer(
    db: Session, campaign: Campaign, client: TestClient, coordinator: User
) -> None:
    kaz = next(r for r in tracker.build(db, campaign.id).rows if r.iso3 == "KAZ")
    ack_id = log_reply(
        db,
        received_on=TODAY - timedelta(days=35),
        letter_ids=[kaz.letter_id],
        kind="acknowledgement",
        summary="Your letter has been received and forwarded to the Ministry.",
    )
    board = tracker.build(db, campaign.id)
    row = next(r for r in board.rows if r.iso3 == "KAZ")
    assert row.category == "overdue" and row.reply_id is None
    assert row.acknowledged_on == TODAY - timedelta(days=35) and row.acknowledgement_id == ack_id
    assert board.counts["replied"] == 1
    api = client.get(
        f"/api/v1/campaigns/{campaign.id}/replies", headers=api_headers(db, coordinator)
    ).json()
    kaz_read = next(r for r in api["rows"] if r["country"] == "KAZ")
    assert kaz_read["status"] == "overdue" and kaz_read["acknowledged_on"]
    login(client, coordinator)
    page = client.get(f"/campaigns/{campaign.id}/replies").text
    assert "receipt acknowledged" in page
