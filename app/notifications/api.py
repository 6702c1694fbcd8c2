"""Notifications JSON API (the caller's own)."""

from __future__ import annotations

from typing import Any

from app.auth.deps import ApiUser
from app.db import SessionDep
from app.notifications import service
from app.web.pagination import Paging
from app.web.routing import api_router

router = api_router(prefix="/notifications", tags=["notifications"])


def _read(n: Any) -> dict[str, Any]:
    return {
        "id": n.id,
        "title": n.title,
        "body": n.body,
        "link": n.link,
        "created_at": n.created_at,
        "read_at": n.read_at,
        "emailed_at": n.emailed_at,
    }


@router.get("", summary="My notifications")
def list_notifications(
    session: SessionDep, user: ApiUser, paging: Paging, unread: bool = False
) -> dict[str, Any]:
    rows, total = service.list_for_user(
        session, user_id=user.id, unread_only=unread, limit=paging.per_page, offset=paging.offset
    )
    return {
        "total": total,
        "unread": service.unread_count(session, user_id=user.id),
        "items": [_read(n) for n in rows],
    }


@router.post("/{notification_id:int}/read", summary="Mark one as read")
def mark_read(notification_id: int, session: SessionDep, user: ApiUser) -> dict[str, Any]:
    return _read(service.mark_read(session, user_id=user.id, notification_id=notification_id))
