"""Factories that flush, never commit, and helpers to act as a user."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.models import Role, User

PASSWORD = "correct-horse-battery"


def make_user(session: Session, role: Role = Role.campaigner, email: str | None = None) -> User:
    return auth_service.create_user(
        session,
        email=email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.org",
        role=role,
        password=PASSWORD,
        full_name=f"Test {role.value.title()}",
    )


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: TestClient, user: User, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token for later posts."""
    page = client.get("/login")
    token = csrf_from(page.text)
    resp = client.post(
        "/login",
        data={"email": user.email, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return csrf_from(client.get("/").text)


def api_headers(session: Session, user: User) -> dict[str, str]:
    token = auth_service.create_token(session, email=user.email, name="test")
    return {"Authorization": f"Bearer {token}"}
