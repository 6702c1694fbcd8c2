"""New passwords: 12+ characters, not the email, not predictable, not a common password; refused
with a message that says why (inline on the web, 422 in the API and the service)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth import passwords, service
from app.config import get_settings
from app.errors import InvalidInput
from app.models import Role
from tests.factories import PASSWORD, api_headers, login, make_user

EMAIL = "maria.lopez@example.org"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("1234567890", "at least 12 characters"),
        ("short-pass", "at least 12 characters"),
        (EMAIL, "email address"),
        ("MARIA.LOPEZ@EXAMPLE.ORG", "email address"),
        ("maria.lopez2024!", "email address"),
        ("123456789012", "predictable"),
        ("qwertyuiopas", "predictable"),
        ("aaaaaaaaaaaaaaaa", "predictable"),
        ("abababababab", "predictable"),
        ("1q2w3e4r", "12 characters"),
        ("superman1234", "common"),
        ("password1234", "common"),
        ("Password2024!", "common"),
        ("!!Sunshine!!2024", "common"),
        ("basketball12", "common"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, why: str) -> None:
    problem = passwords.problem(password, EMAIL)
    assert problem is not None and why in problem, (password, problem)


@pytest.mark.parametrize(
    "password", ["demarche-demo", PASSWORD, "violet-otter-harbour-42", "maria-lopez-is-here"]
)
def test_reasonable_passwords_pass(password: str) -> None:
    assert passwords.problem(password, EMAIL) is None


def test_the_shipped_list_holds_ten_thousand_passwords() -> None:
    common = passwords.common_passwords()
    assert len(common) == 10_000
    assert {"password", "123456", "qwerty", "iloveyou"} <= common


def test_the_demo_password_is_acceptable() -> None:
    assert passwords.problem(get_settings().demo_password, "admin@demarche.example") is None


def test_the_service_refuses_a_weak_password(db: Session) -> None:
    with pytest.raises(InvalidInput, match="common"):
        service.create_user(
            db, email="x@example.org", role=Role.campaigner, password="password1234"
        )
    user = make_user(db)
    with pytest.raises(InvalidInput, match="email address"):
        service.change_password(db, user, password=user.email, actor=None)


def test_the_api_answers_422_for_a_weak_password(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db, Role.admin))
    for password, why in [("1234567890", "12"), ("ops-person@example.org", "email")]:
        resp = client.post(
            "/api/v1/users",
            headers=headers,
            json={"email": "ops-person@example.org", "role": "campaigner", "password": password},
        )
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        body = resp.json()
        assert why in body["detail"]
        assert any(e["field"].endswith("password") for e in body["errors"])
    ok = client.post(
        "/api/v1/users",
        headers=headers,
        json={"email": "ops-person@example.org", "role": "campaigner", "password": PASSWORD},
    )
    assert ok.status_code == 201


def test_the_settings_form_shows_the_reason_inline(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.admin))
    resp = client.post(
        "/settings/users",
        data={
            "csrf_token": token,
            "email": "new.person@example.org",
            "role": "campaigner",
            "password": "iloveyou1234",
        },
    )
    assert resp.status_code == 422
    assert "most common passwords" in resp.text
    assert 'class="error" role="alert"' in resp.text
    assert service.get_by_email(db, email="new.person@example.org") is None


def test_the_account_page_shows_the_reason_inline(client: TestClient, db: Session) -> None:
    user = make_user(db)
    token = login(client, user)
    resp = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": user.email,
            "confirm_password": user.email,
        },
    )
    assert resp.status_code == 422
    assert "must not be your email address" in resp.text
    mismatch = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "violet-otter-harbour-42",
            "confirm_password": "violet-otter-harbour-43",
        },
    )
    assert mismatch.status_code == 422
    assert "differ" in mismatch.text
