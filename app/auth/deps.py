"""Who is asking: session cookie for the web UI, bearer token for the API; role checks."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.auth import service
from app.config import get_settings
from app.db import SessionDep
from app.errors import DomainError, Forbidden, NotAuthenticated
from app.models import Role, User
from app.web.session import (
    SESSION_SEEN_KEY,
    SESSION_SINCE_KEY,
    SESSION_USER_KEY,
    SESSION_VERSION_KEY,
)
from app.web.templating import flash

# The last-seen time is rewritten at most this often (seconds): idle expiry needs no finer grain.
SEEN_PRECISION = 60

_bearer = HTTPBearer(auto_error=False, description="An API token from `demarche token create`.")


@dataclass(frozen=True)
class UserView:
    """Plain data about the signed-in user for templates (safe after a rollback)."""

    id: int
    email: str
    full_name: str
    role: Role

    @classmethod
    def of(cls, user: User) -> "UserView":
        return cls(id=user.id, email=user.email, full_name=user.full_name, role=user.role)


class LoginRequired(DomainError):
    """A web page asked for by someone not signed in: answered with a redirect to /login."""

    status = 401
    title = "Sign-in required"


def _now() -> int:
    return int(time.time())


def start_session(request: Request, user: User) -> None:
    """A fresh session for this user (a new CSRF token with it): after sign-in, and to keep the
    current session alive when a password change ends all the others."""
    now = _now()
    request.session.clear()
    request.session.update(
        {
            SESSION_USER_KEY: user.id,
            SESSION_VERSION_KEY: user.session_version,
            SESSION_SINCE_KEY: now,
            SESSION_SEEN_KEY: now,
        }
    )


def session_user(request: Request, session: Session) -> User | None:
    """The user this session belongs to while it is valid: the user exists and is active, the
    cookie's session version is theirs (sign-out, a password change or deactivation bumps it),
    it is younger than session_max_age and was used within session_idle_timeout."""
    data = request.session
    user_id, since, seen = (
        data.get(SESSION_USER_KEY),
        data.get(SESSION_SINCE_KEY),
        data.get(SESSION_SEEN_KEY),
    )
    if not (isinstance(user_id, int) and isinstance(since, int) and isinstance(seen, int)):
        return None
    settings = get_settings()
    now = _now()
    if now - since > settings.session_max_age or now - seen > settings.session_idle_timeout:
        return None
    user = service.get(session, user_id)
    if user is None or not user.is_active or data.get(SESSION_VERSION_KEY) != user.session_version:
        return None
    if now - seen >= SEEN_PRECISION:
        data[SESSION_SEEN_KEY] = now
    return user


def web_user(request: Request, session: SessionDep) -> User:
    user = session_user(request, session)
    if user is None:
        ended = SESSION_USER_KEY in request.session
        request.session.clear()
        if ended:
            flash(request, "Your session has ended; sign in again.", "warning")
        raise LoginRequired("Sign in to continue.")
    request.state.user = UserView.of(user)
    return user


def api_user(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated(
            "This endpoint needs an API token: send 'Authorization: Bearer <token>'. "
            "Create one with 'demarche token create EMAIL'."
        )
    user = service.user_for_token(session, credentials.credentials)
    if user is None:
        raise NotAuthenticated("The API token is unknown, revoked or belongs to an inactive user.")
    request.state.user = UserView.of(user)
    return user


def _require(role: Role, source: Callable[..., User]) -> Callable[..., User]:
    def dependency(user: Annotated[User, Depends(source)]) -> User:
        if not user.role.at_least(role):
            raise Forbidden(f"This needs the {role.value} role; you are a {user.role.value}.")
        return user

    dependency.required_role = role  # type: ignore[attr-defined]  # read by route audits
    return dependency


WebUser = Annotated[User, Depends(web_user)]
WebCoordinator = Annotated[User, Depends(_require(Role.coordinator, web_user))]
WebAdmin = Annotated[User, Depends(_require(Role.admin, web_user))]
ApiUser = Annotated[User, Depends(api_user)]
ApiCoordinator = Annotated[User, Depends(_require(Role.coordinator, api_user))]
ApiAdmin = Annotated[User, Depends(_require(Role.admin, api_user))]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
