"""API tokens: listed and revoked through the API (own; admins any) and the account page."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ApiToken, Role, User
from tests.factories import api_headers, login, make_user


def _token_ids(db: Session, user: User) -> list[int]:
    return list(db.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id)))


def test_a_user_lists_only_their_own_tokens(client: TestClient, db: Session) -> None:
    alice, bob = make_user(db), make_user(db)
    headers = api_headers(db, alice)
    api_headers(db, alice)
    api_headers(db, bob)
    resp = client.get("/api/v1/tokens", headers=headers)
    assert resp.status_code == 200
    body = resp.json()
    assert sorted(t["id"] for t in body) == sorted(_token_ids(db, alice))
    assert {t["user_email"] for t in body} == {alice.email}
    assert all("token" not in t and "token_hash" not in t for t in body)
    assert body[0]["revoked"] is False and body[0]["name"] == "test"


def test_only_an_admin_lists_another_users_tokens(client: TestClient, db: Session) -> None:
    alice, bob = make_user(db), make_user(db)
    api_headers(db, bob)
    alice_headers = api_headers(db, alice)
    refused = client.get("/api/v1/tokens", params={"user": bob.id}, headers=alice_headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    own = client.get("/api/v1/tokens", params={"user": alice.id}, headers=alice_headers)
    assert own.status_code == 200

    admin_headers = api_headers(db, make_user(db, Role.admin))
    everyone = client.get("/api/v1/tokens", headers=admin_headers).json()
    assert {alice.email, bob.email} <= {t["user_email"] for t in everyone}
    only_bob = client.get("/api/v1/tokens", params={"user": bob.id}, headers=admin_headers)
    assert [t["id"] for t in only_bob.json()] == _token_ids(db, bob)


def test_revoking_a_token_stops_it_at_once(client: TestClient, db: Session) -> None:
    user = make_user(db)
    keep = api_headers(db, user)
    doomed = api_headers(db, user)
    doomed_id = max(_token_ids(db, user))
    assert client.get("/api/v1/me", headers=doomed).status_code == 200
    resp = client.delete(f"/api/v1/tokens/{doomed_id}", headers=keep)
    assert resp.status_code == 204
    assert client.get("/api/v1/me", headers=doomed).status_code == 401
    listed = {t["id"]: t["revoked"] for t in client.get("/api/v1/tokens", headers=keep).json()}
    assert listed[doomed_id] is True
    # Twice changes nothing; a token may revoke itself.
    assert client.delete(f"/api/v1/tokens/{doomed_id}", headers=keep).status_code == 204
    own_id = min(_token_ids(db, user))
    assert client.delete(f"/api/v1/tokens/{own_id}", headers=keep).status_code == 204
    assert client.get("/api/v1/me", headers=keep).status_code == 401


def test_someone_elses_token_is_not_found_unless_admin(client: TestClient, db: Session) -> None:
    alice, bob = make_user(db), make_user(db)
    bob_headers = api_headers(db, bob)
    bob_token = _token_ids(db, bob)[0]
    resp = client.delete(f"/api/v1/tokens/{bob_token}", headers=api_headers(db, alice))
    assert resp.status_code == 404
    assert client.get("/api/v1/me", headers=bob_headers).status_code == 200
    admin = api_headers(db, make_user(db, Role.admin))
    assert client.delete(f"/api/v1/tokens/{bob_token}", headers=admin).status_code == 204
    assert client.get("/api/v1/me", headers=bob_headers).status_code == 401
    assert client.delete("/api/v1/tokens/99999999", headers=admin).status_code == 404


def test_the_account_page_lists_and_revokes_own_tokens(client: TestClient, db: Session) -> None:
    user = make_user(db)
    headers = api_headers(db, user)
    token_id = _token_ids(db, user)[0]
    other = make_user(db)
    api_headers(db, other)
    csrf = login(client, user)
    page = client.get("/account")
    assert page.status_code == 200
    assert f"/account/tokens/{token_id}/revoke" in page.text
    assert "data-confirm" in page.text
    assert f"/account/tokens/{_token_ids(db, other)[0]}/revoke" not in page.text
    resp = client.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert resp.status_code == 303
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert "revoked" in client.get("/account").text


def test_the_account_page_revokes_no_one_elses_token_even_for_an_admin(
    client: TestClient, db: Session
) -> None:
    victim = make_user(db)
    headers = api_headers(db, victim)
    csrf = login(client, make_user(db, Role.admin))
    resp = client.post(
        f"/account/tokens/{_token_ids(db, victim)[0]}/revoke", data={"csrf_token": csrf}
    )
    assert resp.status_code == 404
    assert client.get("/api/v1/me", headers=headers).status_code == 200
