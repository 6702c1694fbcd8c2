"""Daily reminders: notify each campaign owner N days before a milestone (and email them)."""

from __future__ import annotations

import logging
import smtplib
from datetime import UTC, date, datetime, timedelta

from huey import crontab
from sqlalchemy.orm import Session

from app.campaigns import service
from app.config import get_settings
from app.db import transaction
from app.notifications import service as notifications
from app.queue import huey
from app.settings_admin import service as profile_service

log = logging.getLogger(__name__)


def send_reminders(session: Session, *, today: date | None = None) -> int:
    """Create the due reminders, idempotently (one per milestone, date and owner); how many."""
    today = today or date.today()
    settings = get_settings()
    sender = profile_service.get_profile(session).email or "demarche@localhost"
    created = 0
    for campaign in service.active_campaigns(session):
        horizon = today + timedelta(days=campaign.reminder_days)
        for m in service.milestones(session, campaign, today=today):
            if not today <= m.due_date <= horizon:
                continue
            note = notifications.create(
                session,
                user=campaign.owner,
                key=f"reminder:{campaign.id}:{m.key}:{m.due_date.isoformat()}",
                title=f"{m.title}: {m.countdown(today)}",
                body=f"{campaign.name} — {m.title} on {m.due_date.isoformat()}. {m.description}",
                link=f"/campaigns/{campaign.id}",
            )
            if note is None:
                continue
            created += 1
            if settings.smtp_url:
                try:
                    notifications.send_email(
                        settings.smtp_url,
                        sender=sender,
                        to=campaign.owner.email,
                        subject=f"[Demarche] {note.title}",
                        body=f"{note.body}\n\n{settings.base_url.rstrip('/')}{note.link}\n",
                    )
                    note.emailed_at = datetime.now(UTC)
                except (OSError, smtplib.SMTPException) as exc:
                    # The in-app notification stands; the email is retried by no one, so log it.
                    log.warning("reminder email to %s failed: %s", campaign.owner.email, exc)
    session.flush()
    return created


@huey.periodic_task(crontab(hour="6", minute="0"))
def daily_reminders() -> int:
    with transaction() as session:
        return send_reminders(session)
