"""Each campaign's reply tracker (a page and a CSV) and the replies panel of the dashboard."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.auth.deps import WebCoordinator
from app.dashboard.service import register_panel
from app.db import SessionDep
from app.models import Role, User
from app.replies import listing, positions, tracker
from app.replies.schemas import STANCE_LABELS
from app.web.routing import web_router
from app.web.templating import render

tracker_router = web_router(prefix="/campaigns")


def _board(
    session: SessionDep,
    campaign_id: int,
    q: str,
    status: str,
    position: str,
    sort: str = "state",
    descending: bool = False,
) -> tuple[tracker.Tracker, list[tracker.TrackerRow]]:
    """The campaign's tracker and its rows as the page's filters (taken as given) choose them."""
    board = tracker.build(session, campaign_id)
    rows = tracker.filter_rows(
        board.rows,
        q=q[:200],
        category=status if status in tracker.CATEGORIES else "",
        position=position[:20],
        sort=sort if sort in tracker.SORTS else "state",
        descending=descending,
    )
    return board, rows


@tracker_router.get("/{campaign_id:int}/replies", name="campaign_replies")
def campaign_replies(
    request: Request,
    session: SessionDep,
    user: WebCoordinator,
    campaign_id: int,
    q: str = "",
    status: str = "",
    position: str = "",
    sort: str = "state",
    dir: str = "asc",
    map: str = "status",
) -> Response:
    board, rows = _board(session, campaign_id, q, status, position, sort, dir == "desc")
    mode = map if map in tracker.MAP_MODES else "status"
    if mode == "treaty" and board.campaign.treaty is None:
        mode = "status"
    ctx = {
        "campaign": board.campaign,
        "rows": rows,
        "counts": board.counts,
        "q": q,
        "status": status,
        "position": position,
        "sort": sort,
        "dir": dir,
        "mode": mode,
        "modes": tracker.MAP_MODES,
        "world": tracker.tracker_map(session, board, mode),
        "chart": tracker.chart_svg(tracker.replies_by_month(session, campaign_id)),
        "status_options": [("", "Any status")]
        + [(k, label) for k, (label, _) in tracker.CATEGORIES.items()],
        "position_options": [("", "Any position"), ("none", "Not known")]
        + [(s.value, label) for s, label in STANCE_LABELS.items()],
    }
    return render(request, "replies/tracker.html", ctx, block="results")


@tracker_router.get("/{campaign_id:int}/replies.csv", name="campaign_replies_csv")
def campaign_replies_csv(
    session: SessionDep,
    user: WebCoordinator,
    campaign_id: int,
    q: str = "",
    status: str = "",
    position: str = "",
) -> Response:
    _, rows = _board(session, campaign_id, q, status, position)
    return Response(
        tracker.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="replies-campaign-{campaign_id}.csv"'
        },
    )


# --- dashboard ------------------------------------------------------------------------------


@register_panel
def overdue_panel(session: Any, user: User) -> dict[str, Any] | None:
    if not user.role.at_least(Role.coordinator):
        return None
    today = date.today()
    rows = listing.overdue_letters(session, today=today)
    changes = positions.recent_changes(session)
    triage = listing.triage_count(session)
    if not rows and not changes and not triage:
        return None
    return {
        "title": "Replies",
        "template": "replies/_panel.html",
        "overdue": [(letter, name, (today - letter.reply_due_on).days) for letter, name in rows],
        "changes": changes,
        "stance_labels": STANCE_LABELS,
        "triage": triage,
    }
