"""Calendar feeds behind tokens, and reminders (in-app and by email to a real SMTP server)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.message import Message as EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy.orm import Session

from app.campaigns import service
from app.campaigns.schemas import CampaignCreate, MilestoneCreate
from app.campaigns.tasks import send_reminders
from app.config import get_settings
from app.errors import NotFound
from app.models import Campaign, CampaignStatus, Role, User
from app.notifications import service as notifications
from tests.factories import login, make_user


def _campaign(db: Session, owner: User, days: int = 5, reminder_days: int = 14) -> Campaign:
    data = CampaignCreate(
        name="Reminders", treaty=None, status=CampaignStatus.active, reminder_days=reminder_days
    )
    campaign = service.create(db, data=data, owner=owner, actor=owner)
    service.add_milestone(
        db,
        campaign_id=campaign.id,
        actor=owner,
        data=MilestoneCreate(title="Letters out", due_date=date.today() + timedelta(days=days)),
    )
    return service.get(db, campaign.id)


def test_campaign_feed_is_valid_icalendar(client: TestClient, db: Session) -> None:
    campaign = _campaign(db, make_user(db, Role.coordinator))
    resp = client.get(f"/calendar/campaigns/{campaign.calendar_token}.ics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(resp.content)
    assert cal["VERSION"] == "2.0" and "Demarche" in str(cal["PRODID"])
    (event,) = cal.events
    assert str(event["SUMMARY"]) == "Letters out"
    assert event.start == date.today() + timedelta(days=5)
    assert event["DTSTART"].params["VALUE"] == "DATE"
    assert {"UID", "DTSTAMP", "DESCRIPTION"} <= set(event)


def test_wrong_token_is_404_and_rotation_kills_the_old_address(
    client: TestClient, db: Session
) -> None:
    owner = make_user(db, Role.coordinator)
    campaign = _campaign(db, owner)
    assert client.get("/calendar/campaigns/not-the-token.ics").status_code == 404
    assert client.get("/calendar/users/not-the-token.ics").status_code == 404
    old = campaign.calendar_token
    service.rotate_campaign_token(db, campaign_id=campaign.id, actor=owner)
    assert client.get(f"/calendar/campaigns/{old}.ics").status_code == 404


def test_user_feed_lists_owned_campaigns(client: TestClient, db: Session) -> None:
    owner = make_user(db, Role.coordinator)
    _campaign(db, owner)
    token = login(client, owner)
    assert (
        client.post(
            "/campaigns/calendar", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    db.refresh(owner)
    assert owner.calendar_token and owner.calendar_token in client.get("/campaigns/calendar").text
    client.cookies.clear()
    cal = Calendar.from_ical(client.get(f"/calendar/users/{owner.calendar_token}.ics").content)
    assert [str(e["SUMMARY"]) for e in cal.walk("VEVENT")] == ["Letters out"]


def test_reminders_are_created_once_and_only_inside_the_window(db: Session) -> None:
    owner = make_user(db, Role.coordinator)
    _campaign(db, owner, days=5, reminder_days=3)
    assert send_reminders(db) == 0  # 5 days away, window of 3
    assert send_reminders(db, today=date.today() + timedelta(days=2)) == 1
    assert send_reminders(db, today=date.today() + timedelta(days=3)) == 0
    rows, total = notifications.list_for_user(db, user_id=owner.id)
    assert total == 1 and rows[0].title == "Letters out: in 3 days"


def test_notifications_page_count_and_read(client: TestClient, db: Session) -> None:
    owner = make_user(db, Role.coordinator)
    _campaign(db, owner)
    send_reminders(db)
    token = login(client, owner)
    assert ">1<" in client.get("/notifications/count").text
    page = client.get("/notifications")
    assert "Letters out" in page.text
    (note,), _ = notifications.list_for_user(db, user_id=owner.id)
    resp = client.post(
        f"/notifications/{note.id}/read", data={"csrf_token": token}, follow_redirects=False
    )
    assert resp.status_code == 303 and resp.headers["location"].startswith("/campaigns/")
    assert notifications.unread_count(db, user_id=owner.id) == 0
    other = make_user(db)
    with pytest.raises(NotFound, match="no notification"):
        notifications.mark_read(db, user_id=other.id, notification_id=note.id)


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[EmailMessage]]]:
    received: list[EmailMessage] = []

    class Collect(Message):
        def handle_message(self, message: EmailMessage) -> None:
            received.append(message)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


def test_reminder_emailed_when_smtp_is_configured(
    db: Session,
    smtp_server: tuple[int, list[EmailMessage]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, received = smtp_server
    monkeypatch.setattr(get_settings(), "smtp_url", f"smtp://127.0.0.1:{port}")
    owner = make_user(db, Role.coordinator)
    _campaign(db, owner)
    assert send_reminders(db) == 1
    assert len(received) == 1
    assert received[0]["To"] == owner.email
    assert "Letters out" in received[0]["Subject"]
    (note,), _ = notifications.list_for_user(db, user_id=owner.id)
    assert note.emailed_at is not None
    send_reminders(db)
    assert len(received) == 1


def test_notifications_api(client: TestClient, db: Session) -> None:
    from tests.factories import api_headers

    owner = make_user(db, Role.coordinator)
    _campaign(db, owner)
    send_reminders(db)
    headers = api_headers(db, owner)
    body = client.get("/api/v1/notifications?unread=true", headers=headers).json()
    assert body["unread"] == 1 and body["items"][0]["title"].startswith("Letters out")
    nid = body["items"][0]["id"]
    assert client.post(f"/api/v1/notifications/{nid}/read", headers=headers).json()["read_at"]
    other = api_headers(db, make_user(db))
    resp = client.post(f"/api/v1/notifications/{nid}/read", headers=other)
    assert resp.status_code == 404


def test_daily_job_is_a_periodic_task_that_sends_reminders(db: Session) -> None:
    from app.campaigns.tasks import daily_reminders
    from app.queue import huey

    due = {type(t) for t in huey.read_periodic(datetime(2026, 1, 1, 6, 0))}
    assert daily_reminders.task_class in due
    assert daily_reminders.task_class not in {
        type(t) for t in huey.read_periodic(datetime(2026, 1, 1, 7, 0))
    }
    owner = make_user(db, Role.coordinator)
    _campaign(db, owner)
    assert daily_reminders.call_local() == 1
    assert notifications.unread_count(db, user_id=owner.id) == 1


def test_unreachable_smtp_keeps_the_in_app_notification(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.setattr(get_settings(), "smtp_url", f"smtp://127.0.0.1:{closed_port}")
    owner = make_user(db, Role.coordinator)
    _campaign(db, owner)
    assert send_reminders(db) == 1
    (note,), _ = notifications.list_for_user(db, user_id=owner.id)
    assert note.emailed_at is None
