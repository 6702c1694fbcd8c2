"""Who is asking: session cookie for the web UI, bearer token for the API; role checks."""

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import service
from app.db import SessionDep
from app.errors import DomainError, Forbidden, NotAuthenticated
from app.models import Role, User

SESSION_USER_KEY = "uid"
SESSION_CSRF_KEY = "csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

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


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF_KEY] = token
    return str(token)


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing web request without the session's CSRF token."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = request.session.get(SESSION_CSRF_KEY)
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise Forbidden(
            "This form has expired or did not come from Demarche (missing or wrong CSRF token). "
            "Reload the page and try again.",
            title="CSRF check failed",
        )


def web_user(request: Request, session: SessionDep) -> User:
    user_id = request.session.get(SESSION_USER_KEY)
    user = service.get(session, int(user_id)) if user_id else None
    if user is None or not user.is_active:
        request.session.pop(SESSION_USER_KEY, None)
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
