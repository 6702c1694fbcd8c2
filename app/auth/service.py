"""Users, passwords, API tokens and login throttling."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache

from pwdlib import PasswordHash
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth import passwords
from app.config import Settings, get_settings
from app.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from app.models import ApiToken, LoginFailure, Role, User
from app.models.base import utcnow

_hasher = PasswordHash.recommended()
TOKEN_PREFIX = "dm_"  # noqa: S105 - a prefix, not a secret


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    """A hash of a password nobody knows, made with the same parameters as real ones: a sign-in
    for an unknown email verifies against it, so it takes as long as one for a known email."""
    return hash_password(secrets.token_urlsafe(32))


def check_new_password(password: str, *, email: str) -> None:
    """Refuse a password that breaks the rules (passwords.problem) with a 422 saying why."""
    why = passwords.problem(password, email)
    if why:
        raise InvalidInput(why, errors=[{"field": "password", "message": why}])


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
    check_new_password(password, email=email)
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


def _failures(session: Session, *conditions: object) -> tuple[int, datetime | None]:
    """How many failures match, and the latest one."""
    count, latest = session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(*conditions)  # type: ignore[arg-type]
    ).one()
    return int(count or 0), latest


def _delay(settings: Settings, failures: int, threshold: int) -> float:
    """The wait after the last failure: none below the threshold, then doubling, capped."""
    if failures < threshold:
        return 0.0
    doublings = min(failures - threshold, 30)
    return float(min(settings.login_delay_seconds * 2**doublings, settings.login_delay_max_seconds))


def throttle_wait(session: Session, *, email: str, client_ip: str) -> int:
    """Seconds this address must still wait before trying this account again (0: go ahead).

    Two counts, never one per account alone: failures for this account from this address, and
    failures from this address for any account. A stranger failing elsewhere therefore never
    delays the right password from another address, and an address guessing many accounts slows
    down on all of them.
    """
    settings = get_settings()
    now = utcnow()
    since = now - timedelta(seconds=settings.login_window_seconds)
    recent = LoginFailure.at >= since
    from_address = LoginFailure.client_ip == client_ip
    wait = 0.0
    for (count, latest), threshold in (
        (
            _failures(session, LoginFailure.email == email, from_address, recent),
            settings.login_max_failures,
        ),
        (_failures(session, from_address, recent), settings.login_ip_max_failures),
    ):
        delay = _delay(settings, count, threshold)
        if delay and latest is not None:
            wait = max(wait, delay - (now - latest).total_seconds())
    return max(0, math.ceil(wait))


class SignInThrottled(TooManyRequests):
    """Too many failed sign-ins: says how many seconds to wait (also sent as Retry-After)."""

    def __init__(self, wait: int) -> None:
        super().__init__(
            f"Too many failed sign-ins from your address. Wait {wait} seconds before trying again."
        )
        self.retry_after = wait


def check_throttle(session: Session, *, email: str, client_ip: str) -> None:
    wait = throttle_wait(session, email=normalise_email(email), client_ip=client_ip)
    if wait:
        raise SignInThrottled(wait)


def normalise_email(email: str) -> str:
    return email.strip().lower()[:320]


def _record_failure(session: Session, *, email: str, client_ip: str) -> None:
    """Count a failure; drop this account's and this address's failures older than the window
    (the table holds at most a window's worth for anyone still trying)."""
    now = utcnow()
    since = now - timedelta(seconds=get_settings().login_window_seconds)
    session.execute(
        delete(LoginFailure).where(LoginFailure.email == email, LoginFailure.at < since)
    )
    session.execute(
        delete(LoginFailure).where(LoginFailure.client_ip == client_ip, LoginFailure.at < since)
    )
    session.add(LoginFailure(email=email, client_ip=client_ip[:64], at=now))
    session.flush()


def check_password(
    session: Session, user: User | None, password: str, *, email: str, client_ip: str
) -> bool:
    """Whether this is the active user's password, after the throttle; a miss is counted.

    Exactly one hash verification whatever the account: against the dummy hash when the email
    is unknown, so an unknown email answers in the same time as a known one.
    """
    check_throttle(session, email=email, client_ip=client_ip)
    dummy = _dummy_hash()  # made before any lookup result matters: the first call costs the same
    stored = user.password_hash if user is not None else dummy
    valid = verify_password(password, stored) and user is not None and user.is_active
    if not valid:
        _record_failure(session, email=normalise_email(email), client_ip=client_ip)
    return valid


def authenticate(session: Session, *, email: str, password: str, client_ip: str) -> User | None:
    """The user for these credentials, or None (and the failure is counted)."""
    email = normalise_email(email)
    user = get_by_email(session, email=email)
    valid = check_password(session, user, password, email=email, client_ip=client_ip)
    if user is None or not valid:
        return None
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.email == user.email, LoginFailure.client_ip == client_ip
        )
    )
    audit.record(
        session,
        user=user,
        action="user.login",
        entity_type="user",
        entity_id=user.id,
        summary="Signed in",
    )
    return user


# --- sessions, passwords, activation ---------------------------------------------------------


def end_sessions(session: Session, user: User, *, actor: User | None, reason: str) -> None:
    """End every session the user has, wherever its cookie was copied (the version it carries
    no longer matches)."""
    user.session_version = (user.session_version or 0) + 1
    session.flush()
    audit.record(
        session,
        user=actor,
        action="user.sessions_end",
        entity_type="user",
        entity_id=user.id,
        summary=f"Ended every session of {user.email} ({reason})",
    )


def change_password(session: Session, user: User, *, password: str, actor: User | None) -> None:
    """Set a new password (checked against the rules); every session of the user ends."""
    check_new_password(password, email=user.email)
    user.password_hash = hash_password(password)
    audit.record(
        session,
        user=actor,
        action="user.password",
        entity_type="user",
        entity_id=user.id,
        summary=f"Changed the password of {user.email}",
    )
    end_sessions(session, user, actor=actor, reason="password changed")


def set_active(session: Session, user: User, *, active: bool, actor: User | None) -> None:
    """Deactivate (sessions end, tokens are revoked, sign-in refused) or activate a user.

    Reactivating brings no token back: a token that leaked while the account was closed stays
    dead, and the user creates a new one.
    """
    if actor is not None and actor.id == user.id and not active:
        raise Conflict("You cannot deactivate your own account; ask another admin.")
    if user.is_active == active:
        return
    user.is_active = active
    audit.record(
        session,
        user=actor,
        action="user.activate" if active else "user.deactivate",
        entity_type="user",
        entity_id=user.id,
        summary=f"{'Activated' if active else 'Deactivated'} {user.email}",
    )
    if not active:
        for token in session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
        ):
            token.revoked = True
        end_sessions(session, user, actor=actor, reason="deactivated")
    session.flush()


def require_user(session: Session, *, email: str) -> User:
    user = get_by_email(session, email=email)
    if user is None:
        raise NotFound(f"No user has the email {email}.")
    return user


# --- API tokens ---------------------------------------------------------------------------------


def list_tokens(session: Session, *, user_id: int | None = None) -> Sequence[ApiToken]:
    """Tokens, newest first, with their users loaded (all users' when user_id is None)."""
    from sqlalchemy.orm import selectinload

    query = select(ApiToken).options(selectinload(ApiToken.user)).order_by(ApiToken.id.desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return session.scalars(query).all()


def revoke_token(
    session: Session, token_id: int, *, actor: User | None, own_only: bool = False
) -> ApiToken:
    """Revoke a token: the actor's own, or any when the actor is an admin (or the command line,
    actor None) unless own_only. Someone else's token is 'not found' to whoever may not revoke
    it, as if it did not exist."""
    token = session.get(ApiToken, token_id)
    if token is None or actor is None:
        may = token is not None
    elif own_only or not actor.role.at_least(Role.admin):
        may = token.user_id == actor.id
    else:
        may = True
    if token is None or not may:
        whose = "There is no" if actor is None else "You have no"
        raise NotFound(f"{whose} API token {token_id}.")
    if not token.revoked:
        token.revoked = True
        owner = session.get(User, token.user_id)
        audit.record(
            session,
            user=actor,
            action="token.revoke",
            entity_type="user",
            entity_id=token.user_id,
            summary=f"Revoked API token {token.id} {token.name!r} of "
            f"{owner.email if owner else token.user_id}",
        )
        session.flush()
    return token


def ensure_calendar_token(user: User) -> str:
    if not user.calendar_token:
        user.calendar_token = secrets.token_urlsafe(24)
    return user.calendar_token
