"""Sign in and sign out (web UI)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.auth import service
from app.auth.deps import SESSION_CSRF_KEY, SESSION_USER_KEY, client_ip, csrf_protect
from app.db import SessionDep
from app.errors import TooManyRequests
from app.web.routing import web_router
from app.web.templating import redirect, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
signed_in_router = web_router()


def _safe_next(target: str | None) -> str:
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", name="login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    if request.session.get(SESSION_USER_KEY):
        return redirect(request, _safe_next(next))
    return render(request, "auth/login.html", {"next": _safe_next(next), "email": ""})


@router.post("/login", name="login_submit", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    ctx = {"next": _safe_next(next), "email": email}
    try:
        user = service.authenticate(
            session, email=email, password=password, client_ip=client_ip(request)
        )
    except TooManyRequests as exc:
        return render(request, "auth/login.html", {**ctx, "error": exc.detail}, status_code=429)
    if user is None:
        return render(
            request,
            "auth/login.html",
            {**ctx, "error": "That email and password do not match an active account."},
            status_code=401,
        )
    request.session.clear()
    request.session[SESSION_USER_KEY] = user.id
    request.session.pop(SESSION_CSRF_KEY, None)  # a fresh CSRF token for the new session
    return redirect(request, _safe_next(next))


@signed_in_router.post("/logout", name="logout", response_class=HTMLResponse)
def logout(request: Request) -> Response:
    request.session.clear()
    return redirect(request, "/login", message="You are signed out.")
