"""Routers for the two faces of the app; every route added to them requires a signed-in user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from app.auth.deps import api_user, web_user
from app.web.errors import PROBLEM_JSON
from app.web.session import csrf_protect

API_PREFIX = "/api/v1"


def web_router(**kwargs: Any) -> APIRouter:
    """HTML routes: signed-in user (else redirect to /login) and CSRF on unsafe methods."""
    return APIRouter(
        dependencies=[Depends(web_user), Depends(csrf_protect)],
        include_in_schema=False,
        default_response_class=HTMLResponse,
        **kwargs,
    )


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": Problem.model_json_schema()}},
    }


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


API_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("Bad request"),
    401: _problem("No valid API token"),
    403: _problem("The token's user lacks the role this needs"),
    404: _problem("No such record"),
    409: _problem("Conflict with the current state (e.g. a stale version)"),
    413: _problem("Request body too large"),
    422: _problem("Invalid input; `errors` lists each field"),
    429: _problem("Too many requests"),
}


def api_router(*, prefix: str = "", **kwargs: Any) -> APIRouter:
    """JSON routes under /api/v1: bearer token required; errors documented as problem+json."""
    responses = {**API_ERROR_RESPONSES, **kwargs.pop("responses", {})}
    return APIRouter(
        prefix=API_PREFIX + prefix,
        dependencies=[Depends(api_user)],
        responses=responses,
        **kwargs,
    )
