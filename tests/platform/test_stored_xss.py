"""Stored XSS: script payloads saved through the API in every kind of record's text fields come
back escaped on every page that can show them. The pages are found by walking the app's routes,
so a new page is checked as soon as it exists."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Role
from app.web.route_index import iter_routes
from tests.factories import api_headers, login, make_user

PAYLOAD = '"><script>alert("xss")</script><img src=x onerror=alert(2)>'
RAW_MARKERS = ['<script>alert("xss")', "<img src=x onerror"]
ESCAPED = "&lt;script&gt;alert("


def _create(client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    resp = client.post(path, json=body, headers=headers)
    assert resp.status_code == 201, (path, resp.status_code, resp.text)
    return resp.json()


def _records(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    """Records whose every free-text field holds the payload; returns path parameter values."""
    org = _create(
        client,
        headers,
        "/api/v1/organisations",
        {"name": f"Ministry {PAYLOAD}", "type": "ministry", "notes": PAYLOAD},
    )
    person = _create(
        client,
        headers,
        "/api/v1/people",
        {
            "honorific": "H.E.",
            "given_name": f"Ann {PAYLOAD}",
            "family_name": f"Lee {PAYLOAD}",
            "native_name": PAYLOAD,
            "notes": PAYLOAD,
        },
    )
    _create(
        client,
        headers,
        "/api/v1/positions",
        {"person_id": person["id"], "organisation_id": org["id"], "title": f"Minister {PAYLOAD}"},
    )
    segment = _create(
        client,
        headers,
        "/api/v1/segments",
        {"name": f"Segment {PAYLOAD}", "description": PAYLOAD, "filters": {"q": "Lee"}},
    )
    campaign = _create(
        client,
        headers,
        "/api/v1/campaigns",
        {"name": f"Campaign {PAYLOAD}", "goal": PAYLOAD, "treaty": "CCM"},
    )
    template = _create(
        client,
        headers,
        "/api/v1/templates",
        {
            "slug": "xss-check",
            "name": f"Template {PAYLOAD}",
            "description": PAYLOAD,
            "language": "en",
            "subject": "A plain subject",
            "body": "<p>{{ recipient.name }}</p>",
        },
    )
    return {
        "person_id": str(person["id"]),
        "organisation_id": str(org["id"]),
        "segment_id": str(segment["id"]),
        "campaign_id": str(campaign["id"]),
        "template_id": str(template["id"]),
        "code": "TJK",
        "short_name": "CCM",
        "lang": "en",
    }


def _pages(app: FastAPI, values: dict[str, str]) -> list[str]:
    pages = []
    for method, path, _ in iter_routes(app):
        if method != "GET" or path.startswith(("/api/", "/static", "/calendar")):
            continue
        names = re.findall(r"\{([^}:]+)", path)
        if any(name not in values for name in names):
            continue
        pages.append(re.sub(r"\{([^}:]+)(:[^}]*)?\}", lambda m: values[m.group(1)], path))
    return pages


def test_payloads_in_every_text_field_render_escaped_on_every_page(
    web_app: FastAPI, client: TestClient, db: Session
) -> None:
    coordinator = make_user(db, Role.admin)
    values = _records(client, api_headers(db, coordinator))
    login(client, coordinator)
    pages = _pages(web_app, values)
    assert len(pages) >= 15
    shown = 0
    for url in pages:
        for query in ("", "?q=Lee"):
            resp = client.get(url + query)
            assert resp.status_code < 500, (url, resp.status_code)
            if not resp.headers.get("content-type", "").startswith("text/html"):
                continue
            for marker in RAW_MARKERS:
                assert marker not in resp.text, (url + query, marker)
            shown += ESCAPED in resp.text
    # The payload really reached the pages (escaped), so the check above saw it.
    assert shown >= 5
