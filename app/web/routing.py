"""Routers for the two faces of the app; every route added to them requires a signed-in user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from app.auth.deps import api_user, csrf_protect, web_user

API_PREFIX = "/api/v1"


def web_router(**kwargs: Any) -> APIRouter:
    """HTML routes: signed-in user (else redirect to /login) and CSRF on unsafe methods."""
    return APIRouter(
        dependencies=[Depends(web_user), Depends(csrf_protect)],
        include_in_schema=False,
        default_response_class=HTMLResponse,
        **kwargs,
    )


def api_router(*, prefix: str = "", **kwargs: Any) -> APIRouter:
    """JSON routes under /api/v1: bearer token required."""
    return APIRouter(prefix=API_PREFIX + prefix, dependencies=[Depends(api_user)], **kwargs)
