"""In-app notifications: the list, marking read, and the unread count shown in the nav."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from app.auth.deps import WebUser
from app.db import SessionDep
from app.notifications import service
from app.web.pagination import Page
from app.web.routing import web_router
from app.web.templating import redirect, render

router = web_router(prefix="/notifications")
PER_PAGE = 30


@router.get("", name="notifications")
def notifications_page(
    request: Request, session: SessionDep, user: WebUser, page: int = 1, unread: int = 0
) -> Response:
    page = max(1, min(page, 100_000))
    rows, total = service.list_for_user(
        session,
        user_id=user.id,
        unread_only=bool(unread),
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
    )
    ctx = {
        "notifications": rows,
        "page": Page(page=page, per_page=PER_PAGE, total=total),
        "page_query": f"unread={1 if unread else 0}",
        "unread": bool(unread),
        "unread_total": service.unread_count(session, user_id=user.id),
    }
    return render(request, "notifications/index.html", ctx)


@router.get("/count", name="notifications_count")
def notifications_count(request: Request, session: SessionDep, user: WebUser) -> Response:
    count = service.unread_count(session, user_id=user.id)
    return render(request, "notifications/_count.html", {"count": count})


@router.post("/{notification_id:int}/read", name="notification_read")
def notification_read(
    request: Request, session: SessionDep, user: WebUser, notification_id: int
) -> Response:
    note = service.mark_read(session, user_id=user.id, notification_id=notification_id)
    return redirect(request, note.link or "/notifications")


@router.post("/read-all", name="notifications_read_all")
def notifications_read_all(request: Request, session: SessionDep, user: WebUser) -> Response:
    n = service.mark_all_read(session, user_id=user.id)
    return redirect(request, "/notifications", message=f"Marked {n} as read.")
