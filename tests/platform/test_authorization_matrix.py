"""Every role × every route: each route's required role is read off its dependencies, then every
lower role is refused (403) and the CSRF check refuses every state-changing web form without a
token. New routes are covered as soon as they are registered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Role
from tests.factories import api_headers, login, make_user

ORDER = [Role.campaigner, Role.coordinator, Role.admin]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Signing in and out carry their own protection (login throttling; logout is harmless).
NO_CSRF = {"/login"}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, APIRoute]]:
        for route in routes:
            original = getattr(route, "original_router", None)
            if original is not None:
                yield from walk(original.routes, prefix + route.include_context.prefix)
            elif isinstance(route, APIRoute):
                yield prefix + route.path, route

    yield from walk(app.routes, "")


def _required_role(dependant: Dependant) -> Role | None:
    found: list[Role] = []

    def visit(dep: Dependant) -> None:
        role = getattr(dep.call, "required_role", None)
        if role is not None:
            found.append(role)
        for sub in dep.dependencies:
            visit(sub)

    visit(dependant)
    return max(found, key=ORDER.index) if found else None


def _guarded(app: FastAPI) -> list[tuple[str, str, Role]]:
    rows: list[tuple[str, str, Role]] = []
    for path, route in _routes(app):
        role = _required_role(route.dependant)
        if role is None or role == Role.campaigner:
            continue
        assert route.methods is not None, path
        for method in sorted(route.methods - {"HEAD"}):
            rows.append((method, path, role))
    return rows


def test_the_matrix_finds_guarded_routes(web_app: FastAPI) -> None:
    guarded = _guarded(web_app)
    paths = {path for _, path, _ in guarded}
    assert "/settings" in paths and "/api/v1/users" in paths
    assert any(role == Role.coordinator for _, _, role in guarded)


def test_lower_roles_are_refused_on_every_guarded_api_route(
    web_app: FastAPI, client: TestClient, db: Session
) -> None:
    users = {role: make_user(db, role) for role in ORDER}
    headers = {role: api_headers(db, user) for role, user in users.items()}
    checked = 0
    for method, path, needed in _guarded(web_app):
        if not path.startswith("/api/"):
            continue
        for role in ORDER[: ORDER.index(needed)]:
            resp = client.request(method, concrete(path), headers=headers[role])
            assert resp.status_code == 403, (role, method, path, resp.status_code, resp.text)
            assert resp.headers["content-type"] == "application/problem+json"
            assert needed.value in resp.json()["detail"]
            checked += 1
    assert checked >= 3


def test_lower_roles_are_refused_on_every_guarded_page(
    web_app: FastAPI, client: TestClient, db: Session
) -> None:
    checked = 0
    guarded = [row for row in _guarded(web_app) if not row[1].startswith("/api/")]
    for role in ORDER[:-1]:
        token = login(client, make_user(db, role))
        for method, path, needed in guarded:
            if ORDER.index(role) >= ORDER.index(needed):
                continue
            data = {"csrf_token": token} if method in UNSAFE else None
            resp = client.request(method, concrete(path), data=data, follow_redirects=False)
            assert resp.status_code == 403, (role, method, path, resp.status_code)
            checked += 1
        client.cookies.clear()
    assert checked >= 3


def test_every_state_changing_form_refuses_a_missing_or_wrong_csrf_token(
    web_app: FastAPI, client: TestClient, db: Session
) -> None:
    login(client, make_user(db, Role.admin))
    checked = 0
    for path, route in _routes(web_app):
        if path.startswith(("/api/", "/static")) or path in NO_CSRF:
            continue
        assert route.methods is not None, path
        for method in sorted(route.methods & UNSAFE):
            for data in ({}, {"csrf_token": "forged"}):
                resp = client.request(method, concrete(path), data=data, follow_redirects=False)
                assert resp.status_code == 403, (method, path, data, resp.status_code)
                assert "CSRF" in resp.text
                checked += 1
    assert checked >= 10
