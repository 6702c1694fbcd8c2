"""In-app notifications, and the same message by email when SMTP is configured."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import Notification, User


def create(
    session: Session, *, user: User, key: str, title: str, body: str = "", link: str = ""
) -> Notification | None:
    """A new notification, or None when this user already has one with this key."""
    found = session.scalar(
        select(Notification.id).where(Notification.user_id == user.id, Notification.key == key)
    )
    if found is not None:
        return None
    note = Notification(user_id=user.id, key=key[:200], title=title[:200], body=body, link=link)
    session.add(note)
    session.flush()
    return note


def list_for_user(
    session: Session, *, user_id: int, unread_only: bool = False, limit: int = 50, offset: int = 0
) -> tuple[Sequence[Notification], int]:
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def unread_count(session: Session, *, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(session: Session, *, user_id: int, notification_id: int) -> Notification:
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != user_id:
        raise NotFound(f"You have no notification {notification_id}.")
    if note.read_at is None:
        note.read_at = datetime.now(UTC)
        session.flush()
    return note


def mark_all_read(session: Session, *, user_id: int) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=datetime.now(UTC))
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def send_email(smtp_url: str, *, sender: str, to: str, subject: str, body: str) -> None:
    """Send through ``smtp://user:pass@host:port`` (``smtps://`` for TLS from the start)."""
    parts = urlsplit(smtp_url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError(
            f"DEMARCHE_SMTP_URL must look like smtp://user:pass@host:port, not {parts.scheme}://…"
        )
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    cls = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with cls(
        parts.hostname, parts.port or (465 if parts.scheme == "smtps" else 25), timeout=30
    ) as smtp:
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
