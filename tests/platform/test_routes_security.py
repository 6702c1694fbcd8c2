"""Every route refuses anonymous callers (except the public few); roles are enforced."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute

from app.models import Role
from app.web.route_index import iter_routes
from tests.factories import api_headers, login, make_user

PUBLIC = {
    "/login",
    "/healthz",
    "/openapi.json",
    "/docs",
    # Calendar feeds for Outlook/Google/Thunderbird, which cannot sign in: the unguessable token
    # in the path is the credential; a wrong token is a 404 (tests/campaigns/test_feeds_*).
    "/calendar/campaigns/{token}.ics",
    "/calendar/users/{token}.ics",
}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_route_walk_finds_routes(web_app: FastAPI) -> None:
    paths = {path for _, path, _ in iter_routes(web_app)}
    assert {"/", "/login", "/api/v1/me", "/healthz"} <= paths


def test_every_route_refuses_anonymous(web_app: FastAPI, client: TestClient) -> None:
    checked = 0
    for method, path, _ in iter_routes(web_app):
        if path in PUBLIC or path.startswith("/static"):
            continue
        resp = client.request(method, concrete(path), follow_redirects=False)
        # Security headers ride on every answer, refusals included.
        assert resp.headers["x-content-type-options"] == "nosniff", (method, path)
        assert "frame-ancestors 'none'" in resp.headers["content-security-policy"], (method, path)
        if path.startswith("/api/"):
            assert resp.status_code == 401, (method, path, resp.status_code)
            assert resp.headers["content-type"] == "application/problem+json"
        else:
            assert resp.status_code in {303, 401}, (method, path, resp.status_code)
            if resp.status_code == 303:
                assert resp.headers["location"].startswith("/login")
        checked += 1
    assert checked >= 5


def test_public_routes_answer_anonymous(client: TestClient) -> None:
    for path in ["/login", "/healthz", "/openapi.json", "/docs", "/static/css/app.css"]:
        assert client.get(path).status_code in {200, 503}, path


def test_campaigner_cannot_reach_admin_routes(client: TestClient, db: Session) -> None:
    campaigner = make_user(db, Role.campaigner)
    token = login(client, campaigner)
    assert client.get("/settings").status_code == 403
    resp = client.post("/settings/users", data={"csrf_token": token, "email": "x@example.org"})
    assert resp.status_code == 403
    headers = api_headers(db, campaigner)
    resp = client.get("/api/v1/users", headers=headers)
    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/problem+json"
    assert "admin" in resp.json()["detail"]


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/me", "/nowhere"])
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    resp = client.get(path)
    assert resp.headers["x-content-type-options"] == "nosniff"
    csp = resp.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


def test_pages_have_no_inline_scripts(client: TestClient, db: Session) -> None:
    login(client, make_user(db, Role.admin))
    for path in ["/", "/settings", "/login", "/docs"]:
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path


def test_unknown_api_path_is_problem_json(client: TestClient) -> None:
    resp = client.get("/api/v1/does-not-exist", headers={"Authorization": "Bearer x"})
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"


def test_oversized_body_is_refused_with_413(client: TestClient) -> None:
    from app.config import get_settings

    size = get_settings().max_request_bytes + 1
    resp = client.post("/login", content=b"x" * size, headers={"content-type": "text/plain"})
    assert resp.status_code == 413
    assert "limit" in resp.json()["detail"]


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/api/v1/me?q=a%00b", {}),
        ("/api/v1/organisation", {"json": {"name": "a\u0000b"}}),
        ("/login", {"data": {"email": "a\u0000@example.org", "password": "x"}}),
    ],
)
def test_nul_characters_are_refused_at_the_edge(
    client: TestClient, path: str, kwargs: dict[str, Any]
) -> None:
    method = "GET" if not kwargs else ("PUT" if "json" in kwargs else "POST")
    resp = client.request(method, path, **kwargs)
    assert resp.status_code == 422
    assert "NUL" in resp.json()["detail"]


def test_no_two_routes_claim_the_same_method_and_path(web_app: FastAPI) -> None:
    seen: dict[tuple[str, str], int] = {}
    for method, path, _ in iter_routes(web_app):
        key = (method, re.sub(r":[a-z]+\}", "}", path))
        seen[key] = seen.get(key, 0) + 1
    assert [key for key, n in seen.items() if n > 1] == []


def test_route_names_are_unique(web_app: FastAPI) -> None:
    """url_for() takes the first route of a name: a second one would silently get the wrong URL."""
    from collections import Counter

    names: Counter[str] = Counter()

    def walk(routes: Sequence[BaseRoute]) -> None:
        for route in routes:
            original = getattr(route, "original_router", None)
            if original is not None:
                walk(original.routes)
            elif name := getattr(route, "name", None):
                names[name] += 1

    walk(web_app.routes)
    assert [name for name, n in names.items() if n > 1] == []
