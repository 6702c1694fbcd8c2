"""Factories that flush, never commit, and helpers to act as a user."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.models import Organisation, Person, Position, Role, User

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


# --- contacts ---------------------------------------------------------------------------------


def make_organisation(session: Session, name: str | None = None, **values: object) -> Organisation:
    from app.contacts import service as contacts_service
    from app.contacts.schemas import OrganisationCreate

    data = {"name": name or f"Org {uuid.uuid4().hex[:6]}", "type": "ministry", **values}
    return contacts_service.create_organisation(
        session, data=OrganisationCreate.model_validate(data), actor=None
    )


def make_person(session: Session, **values: object) -> Person:
    from app.contacts import service as contacts_service
    from app.contacts.schemas import PersonCreate

    data = {"given_name": "Test", "family_name": f"Person{uuid.uuid4().hex[:6]}", **values}
    return contacts_service.create_person(
        session, data=PersonCreate.model_validate(data), actor=None
    )


def make_position(
    session: Session, person: Person, organisation: Organisation, **values: object
) -> Position:
    from app.contacts import service as contacts_service
    from app.contacts.schemas import PositionCreate

    data = {"person_id": person.id, "organisation_id": organisation.id, "title": "Officer"}
    data.update(values)
    return contacts_service.create_position(
        session, data=PositionCreate.model_validate(data), actor=None
    )
