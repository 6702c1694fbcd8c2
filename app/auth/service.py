"""Users, passwords, API tokens and login throttling."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta

from pwdlib import PasswordHash
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.config import get_settings
from app.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from app.models import ApiToken, LoginFailure, Role, User
from app.models.base import utcnow

_hasher = PasswordHash.recommended()
TOKEN_PREFIX = "dm_"  # noqa: S105 - a prefix, not a secret
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # noqa: BLE001 - a malformed stored hash is a failed login, not a crash
        return False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_by_email(session: Session, *, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.email)).all()


def create_user(
    session: Session,
    *,
    email: str,
    role: Role,
    password: str,
    full_name: str = "",
    actor: User | None = None,
) -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput(f"'{email}' is not an email address.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if get_by_email(session, email=email):
        raise Conflict(f"A user with the email {email} already exists.")
    user = User(email=email, role=role, password_hash=hash_password(password), full_name=full_name)
    session.add(user)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        summary=f"Created user {email} ({role.value})",
    )
    return user


def create_token(session: Session, *, email: str, name: str = "") -> str:
    user = get_by_email(session, email=email)
    if user is None:
        raise NotFound(f"No user has the email {email}.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=hash_token(token)))
    session.flush()
    audit.record(
        session,
        user=user,
        action="token.create",
        entity_type="user",
        entity_id=user.id,
        summary=f"Created API token {name!r}".strip(),
    )
    return token


TOKEN_USE_PRECISION = timedelta(minutes=1)


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False)
        )
    )
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    now = utcnow()
    # Recorded to the minute: writing it on every call made each API read a write transaction
    # (a commit to wait for, a row lock shared by every request with the same token).
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_PRECISION:
        row.last_used_at = now
    return user


def check_throttle(session: Session, *, email: str, client_ip: str) -> None:
    settings = get_settings()
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    email = email.strip().lower()
    by_email = (
        session.scalar(
            select(func.count()).where(LoginFailure.email == email, LoginFailure.at >= since)
        )
        or 0
    )
    by_ip = (
        session.scalar(
            select(func.count()).where(
                LoginFailure.client_ip == client_ip, LoginFailure.at >= since
            )
        )
        or 0
    )
    if by_email >= settings.login_max_failures or by_ip >= settings.login_max_failures * 4:
        minutes = settings.login_window_seconds // 60
        raise TooManyRequests(
            f"Too many failed sign-ins. Wait {minutes} minutes before trying again."
        )


def authenticate(session: Session, *, email: str, password: str, client_ip: str) -> User | None:
    """The user for these credentials, or None (and the failure is counted)."""
    check_throttle(session, email=email, client_ip=client_ip)
    user = get_by_email(session, email=email)
    if user and user.is_active and verify_password(password, user.password_hash):
        session.execute(delete(LoginFailure).where(LoginFailure.email == user.email))
        audit.record(
            session,
            user=user,
            action="user.login",
            entity_type="user",
            entity_id=user.id,
            summary="Signed in",
        )
        return user
    session.add(LoginFailure(email=email.strip().lower()[:320], client_ip=client_ip, at=utcnow()))
    session.flush()
    return None


def ensure_calendar_token(user: User) -> str:
    if not user.calendar_token:
        user.calendar_token = secrets.token_urlsafe(24)
    return user.calendar_token
