"""Sessions end on the server: sign-out, a password change and deactivation end every copy of a
session cookie; a session also ends after idling and after its absolute lifetime."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth import deps
from app.config import get_settings
from app.models import Role, User
from tests.factories import PASSWORD, api_headers, csrf_from, login, make_user

COOKIE = "demarche_session"
NEW_PASSWORD = "violet-otter-harbour-42"


def _signed_in(client: TestClient, path: str = "/") -> bool:
    resp = client.get(path, follow_redirects=False)
    if resp.status_code == 200:
        return True
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login"), resp.text
    return False


def _copy_of(web_app: FastAPI, client: TestClient) -> TestClient:
    """Another browser holding a copy of this client's session cookie."""
    other = TestClient(web_app, base_url="http://testserver")
    other.cookies.set(COOKIE, client.cookies[COOKIE])
    return other


class Clock:
    def __init__(self) -> None:
        self.now = int(time.time())

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(deps, "_now", clock)
    return clock


def test_a_cookie_copied_before_sign_out_is_refused_after_it(
    web_app: FastAPI, client: TestClient, db: Session
) -> None:
    user = make_user(db)
    token = login(client, user)
    copy = _copy_of(web_app, client)
    assert _signed_in(copy)  # the copy works while the session lives
    resp = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert resp.status_code == 303
    assert not _signed_in(copy)
    assert not _signed_in(client)


def test_sign_out_ends_every_session_of_the_user(
    web_app: FastAPI, client: TestClient, db: Session
) -> None:
    user = make_user(db)
    laptop = TestClient(web_app, base_url="http://testserver")
    login(laptop, user)
    token = login(client, user)
    client.post("/logout", data={"csrf_token": token})
    assert not _signed_in(laptop)


def test_sign_out_leaves_other_users_signed_in(
    web_app: FastAPI, client: TestClient, db: Session
) -> None:
    colleague = TestClient(web_app, base_url="http://testserver")
    login(colleague, make_user(db))
    token = login(client, make_user(db))
    client.post("/logout", data={"csrf_token": token})
    assert _signed_in(colleague)


def test_password_change_ends_the_other_sessions_and_keeps_this_one(
    web_app: FastAPI, client: TestClient, db: Session
) -> None:
    user = make_user(db)
    other = TestClient(web_app, base_url="http://testserver")
    login(other, user)
    token = login(client, user)
    resp = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    assert _signed_in(client, "/account")
    assert not _signed_in(other)
    client.cookies.clear()
    login(client, user, NEW_PASSWORD)  # the new password signs in


def test_password_change_needs_the_current_password(client: TestClient, db: Session) -> None:
    user = make_user(db)
    token = login(client, user)
    resp = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "not-my-password-at-all",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert resp.status_code == 422
    assert "not your current password" in resp.text
    db.refresh(user)
    from app.auth import service

    assert service.verify_password(PASSWORD, user.password_hash)


def test_a_session_ends_after_the_idle_timeout(
    client: TestClient, db: Session, clock: Clock
) -> None:
    idle = get_settings().session_idle_timeout
    login(client, make_user(db))
    clock.now += idle - 60
    assert _signed_in(client)  # used in time: last seen moves on
    clock.now += idle - 60
    assert _signed_in(client)
    clock.now += idle + 1
    assert not _signed_in(client)
    page = client.get("/login")
    assert "Your session has ended" in page.text


def test_last_seen_is_rewritten_at_most_once_a_minute(
    client: TestClient, db: Session, clock: Clock
) -> None:
    login(client, make_user(db))
    before = client.cookies[COOKIE]
    clock.now += 30
    client.get("/")
    # The cookie is re-signed on each response, but its contents (the last-seen time) only
    # change once SEEN_PRECISION has passed: decode and compare them.
    assert _seen(client.cookies[COOKIE]) == _seen(before)
    clock.now += deps.SEEN_PRECISION
    client.get("/")
    assert _seen(client.cookies[COOKIE]) == clock.now


def _seen(cookie: str) -> int:
    import base64
    import json

    payload = cookie.split(".")[0]
    payload += "=" * (-len(payload) % 4)
    return int(json.loads(base64.b64decode(payload))[deps.SESSION_SEEN_KEY])


def test_a_session_ends_after_its_absolute_lifetime_however_busy(
    client: TestClient, db: Session, clock: Clock
) -> None:
    settings = get_settings()
    login(client, make_user(db))
    step = settings.session_idle_timeout // 2
    elapsed = 0
    while elapsed + step <= settings.session_max_age:
        clock.now += step
        elapsed += step
        assert _signed_in(client)
    clock.now += settings.session_max_age - elapsed + 1
    assert not _signed_in(client)


def test_deactivation_stops_the_users_sessions_and_tokens_at_once(
    web_app: FastAPI, client: TestClient, db: Session
) -> None:
    victim = make_user(db, Role.coordinator)
    headers = api_headers(db, victim)
    browser = TestClient(web_app, base_url="http://testserver")
    login(browser, victim)
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    admin = make_user(db, Role.admin)
    token = login(client, admin)
    resp = client.post(
        f"/settings/users/{victim.id}/deactivate",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert resp.status_code == 303

    assert not _signed_in(browser)
    api = client.get("/api/v1/me", headers=headers)
    assert api.status_code == 401
    assert api.headers["content-type"] == "application/problem+json"
    # Signing in again is refused too, with the same message as a wrong password.
    browser.cookies.clear()
    page = browser.get("/login")
    refused = browser.post(
        "/login",
        data={"email": victim.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert refused.status_code == 401

    # Activated again: the password signs in, the old token stays revoked.
    resp = client.post(f"/settings/users/{victim.id}/activate", data={"csrf_token": token})
    assert resp.status_code == 200
    login(browser, victim)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_deactivation_through_the_api(client: TestClient, db: Session) -> None:
    admin_headers = api_headers(db, make_user(db, Role.admin))
    victim = make_user(db)
    headers = api_headers(db, victim)
    resp = client.post(f"/api/v1/users/{victim.id}/deactivate", headers=admin_headers)
    assert resp.status_code == 200 and resp.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    resp = client.post(f"/api/v1/users/{victim.id}/activate", headers=admin_headers)
    assert resp.status_code == 200 and resp.json()["is_active"] is True
    missing = client.post("/api/v1/users/99999999/deactivate", headers=admin_headers)
    assert missing.status_code == 404


def test_an_admin_cannot_deactivate_themselves(client: TestClient, db: Session) -> None:
    admin = make_user(db, Role.admin)
    resp = client.post(f"/api/v1/users/{admin.id}/deactivate", headers=api_headers(db, admin))
    assert resp.status_code == 409
    token = login(client, admin)
    page = client.post(f"/settings/users/{admin.id}/deactivate", data={"csrf_token": token})
    assert page.status_code == 422
    assert "cannot deactivate your own account" in page.text
    db.refresh(admin)
    assert admin.is_active


def test_the_settings_page_offers_deactivate_and_activate(client: TestClient, db: Session) -> None:
    admin = make_user(db, Role.admin)
    active = make_user(db)
    inactive: User = make_user(db)
    inactive.is_active = False
    db.flush()
    login(client, admin)
    page = client.get("/settings").text
    assert f"/settings/users/{active.id}/deactivate" in page
    assert f"/settings/users/{inactive.id}/activate" in page
    assert f"/settings/users/{admin.id}/deactivate" not in page
