"""Sign in and sign out, and each user's account page: password and API tokens (web UI)."""

from __future__ import annotations

import unicodedata
from typing import Annotated
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.auth import passwords, service
from app.auth.deps import (
    WebUser,
    client_ip,
    session_user,
    start_session,
)
from app.config import get_settings
from app.db import SessionDep
from app.models import User
from app.web.routing import web_router
from app.web.session import csrf_protect
from app.web.templating import redirect, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
signed_in_router = web_router()

MAX_NEXT_LENGTH = 2000


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, else the dashboard.

    Browsers treat a backslash as a slash and drop tabs and newlines, so ``/\\evil.example``,
    ``/%5Cevil.example`` and ``/\\t/evil.example`` all lead off-site; any backslash, control
    character, scheme or authority, raw or percent-encoded, sends the user to "/" instead.
    """
    if not target or len(target) > MAX_NEXT_LENGTH:
        return "/"
    decoded = target
    for _ in range(3):  # a doubly encoded %255C is a backslash once a proxy decodes it again
        decoded = unquote(decoded)
    for form in (target, decoded):
        if not form.startswith("/") or form.startswith("//") or "\\" in form:
            return "/"
        if any(_is_control(char) for char in form):
            return "/"
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return "/"
    return target


@router.get("/login", name="login", response_class=HTMLResponse)
def login_page(request: Request, session: SessionDep, next: str | None = None) -> Response:
    if session_user(request, session) is not None:
        return redirect(request, safe_next(next))
    return render(request, "auth/login.html", {"next": safe_next(next), "email": ""})


@router.post("/login", name="login_submit", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=MAX_NEXT_LENGTH)] = "/",
) -> Response:
    ctx = {"next": safe_next(next), "email": email}
    try:
        user = service.authenticate(
            session, email=email, password=password, client_ip=client_ip(request)
        )
    except service.SignInThrottled as exc:
        return render(
            request,
            "auth/login.html",
            {**ctx, "error": exc.detail},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if user is None:
        return render(
            request,
            "auth/login.html",
            {**ctx, "error": "That email and password do not match an active account."},
            status_code=401,
        )
    start_session(request, user)
    return redirect(request, safe_next(next))


@signed_in_router.post("/logout", name="logout", response_class=HTMLResponse)
def logout(request: Request, session: SessionDep, user: WebUser) -> Response:
    """Sign out everywhere: the session version moves on, so every copy of every session of this
    user (another browser, a copied cookie) ends with this one."""
    service.end_sessions(session, user, actor=user, reason="signed out")
    request.session.clear()
    return redirect(request, "/login", message="You are signed out (on every device).")


# --- the account page -------------------------------------------------------------------------


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _account_page(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    password_errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "auth/account.html",
        {
            "account": user,
            "tokens": service.list_tokens(session, user_id=user.id),
            "password_errors": password_errors or {},
            "password_rules": passwords.RULES,
            "idle_hours": _duration(get_settings().session_idle_timeout),
        },
        status_code=status,
    )


@signed_in_router.get("/account", name="account")
def account(request: Request, session: SessionDep, user: WebUser) -> Response:
    return _account_page(request, session, user)


@signed_in_router.post("/account/password", name="account_password")
def account_password(
    request: Request,
    session: SessionDep,
    user: WebUser,
    current_password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    new_password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    confirm_password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
) -> Response:
    """Change one's own password: the current one first (counted by the sign-in throttle, so a
    borrowed session cannot guess it), then every other session ends and this one goes on."""
    errors: dict[str, str] = {}
    try:
        if not service.check_password(
            session, user, current_password, email=user.email, client_ip=client_ip(request)
        ):
            errors["current_password"] = "That is not your current password."  # noqa: S105
    except service.SignInThrottled as exc:
        errors["current_password"] = exc.detail
    if not errors:
        why = passwords.problem(new_password, user.email)
        if why:
            errors["new_password"] = why
        elif new_password != confirm_password:
            errors["confirm_password"] = "The two new passwords differ."  # noqa: S105
    if errors:
        return _account_page(request, session, user, password_errors=errors, status=422)
    service.change_password(session, user, password=new_password, actor=user)
    start_session(request, user)
    return redirect(
        request, "/account", message="Password changed; your other sessions have ended."
    )


@signed_in_router.post("/account/tokens/{token_id}/revoke", name="account_token_revoke")
def account_token_revoke(
    request: Request, session: SessionDep, user: WebUser, token_id: int
) -> Response:
    token = service.revoke_token(session, token_id, actor=user, own_only=True)
    return redirect(request, "/account", message=f"API token {token.name or token.id} revoked.")
