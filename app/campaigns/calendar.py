"""iCalendar feeds (RFC 5545) of campaign milestones: all-day events, stable UIDs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from app import __version__
from app.campaigns.service import MilestoneView
from app.config import get_settings
from app.models import Campaign

PRODID = f"-//Demarche//Campaign milestones {__version__}//EN"


def _event(campaign: Campaign, milestone: MilestoneView, stamp: datetime) -> Event:
    event = Event()
    # The UID stays the same across downloads so calendar apps update rather than duplicate.
    event.add("uid", f"campaign-{campaign.id}-{milestone.key.replace(':', '-')}@demarche")
    event.add("dtstamp", stamp)
    event.add("dtstart", milestone.due_date)
    event.add("dtend", milestone.due_date + timedelta(days=1))
    event.add("summary", milestone.title)
    base = get_settings().base_url.rstrip("/")
    details = [
        f"Campaign: {campaign.name}",
        milestone.description,
        f"{base}/campaigns/{campaign.id}",
    ]
    event.add("description", "\n".join(part for part in details if part))
    event.add("categories", [milestone.kind])
    event.add("transp", "TRANSPARENT")
    return event


def feed(name: str, items: Iterable[tuple[Campaign, MilestoneView]]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    stamp = datetime.now(UTC).replace(microsecond=0)
    for campaign, milestone in items:
        calendar.add_component(_event(campaign, milestone, stamp))
    return bytes(calendar.to_ical())
