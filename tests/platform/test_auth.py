from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import get_settings
from app.models import Role
from tests.factories import PASSWORD, api_headers, csrf_from, login, make_user


def test_login_reaches_dashboard_and_sets_safe_cookie(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.coordinator)
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    cookie = resp.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    dash = client.get("/")
    assert dash.status_code == 200
    assert "Dashboard" in dash.text


def test_wrong_password_shows_inline_message(client: TestClient, db: Session) -> None:
    user = make_user(db)
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={
            "email": user.email,
            "password": "nope-nope-nope",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert resp.status_code == 401
    assert "do not match" in resp.text


def test_login_is_throttled_after_repeated_failures(client: TestClient, db: Session) -> None:
    user = make_user(db)
    token = csrf_from(client.get("/login").text)
    for _ in range(get_settings().login_max_failures):
        client.post(
            "/login", data={"email": user.email, "password": "bad-password", "csrf_token": token}
        )
    resp = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert resp.status_code == 429
    assert "Too many failed sign-ins" in resp.text


def test_login_form_without_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    user = make_user(db)
    client.get("/login")
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 403
    assert "CSRF" in resp.text


def test_state_changing_form_with_wrong_csrf_token_is_refused(
    client: TestClient, db: Session
) -> None:
    admin = make_user(db, Role.admin)
    login(client, admin)
    resp = client.post("/settings/profile", data={"name": "Hijacked", "csrf_token": "forged"})
    assert resp.status_code == 403


def test_logout_ends_the_session(client: TestClient, db: Session) -> None:
    user = make_user(db)
    token = login(client, user)
    resp = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert resp.status_code == 303
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_api_token_is_accepted_and_stored_hashed(client: TestClient, db: Session) -> None:
    from sqlalchemy import select

    from app.models import ApiToken

    user = make_user(db)
    headers = api_headers(db, user)
    token = headers["Authorization"].split()[1]
    resp = client.get("/api/v1/me", headers=headers)
    assert resp.status_code == 200
    assert resp.json()["email"] == user.email
    stored = db.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored


def test_anonymous_api_request_is_problem_json_401(client: TestClient) -> None:
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == 401 and "Bearer" in body["detail"]
    assert resp.headers["www-authenticate"] == "Bearer"


def test_bad_token_is_refused(client: TestClient) -> None:
    resp = client.get("/api/v1/me", headers={"Authorization": "Bearer dm_nonsense"})
    assert resp.status_code == 401
    assert "unknown" in resp.json()["detail"]


def test_open_redirect_after_login_is_prevented(client: TestClient, db: Session) -> None:
    user = make_user(db)
    token = csrf_from(client.get("/login").text)
    resp = client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert resp.headers["location"] == "/"


def test_token_use_is_recorded_to_the_minute(client: TestClient, db: Session) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from app.models import ApiToken
    from app.models.base import utcnow

    headers = api_headers(db, make_user(db))
    token = db.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
    assert token is not None and token.last_used_at is None
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    db.refresh(token)
    first = token.last_used_at
    assert first is not None
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    db.refresh(token)
    assert token.last_used_at == first  # a read within the minute writes nothing
    token.last_used_at = utcnow() - timedelta(minutes=2)
    db.flush()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    db.refresh(token)
    assert token.last_used_at > first
