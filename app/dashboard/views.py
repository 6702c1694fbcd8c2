"""The landing page after sign-in."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from app.auth.deps import WebUser
from app.dashboard import service
from app.db import SessionDep
from app.web.routing import web_router
from app.web.templating import render

router = web_router()


@router.get("/", name="dashboard")
def dashboard(request: Request, session: SessionDep, user: WebUser) -> Response:
    return render(request, "dashboard/index.html", service.overview(session, user=user))
