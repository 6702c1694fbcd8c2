"""Address labels for a mail merge's letters by post: the print pack's companion, from the
correspondence page (web) and from POST /api/v1/exports with ``source: batch`` (API)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.exports import service
from app.exports.schemas import ExportRequest
from app.letters import service as letters_service
from app.models import Channel, Letter, LetterStatus, MergeBatch, Role, User
from tests.exports.conftest import pdf_text, postal
from tests.factories import api_headers, csrf_from, login, make_organisation, make_person, make_user


@dataclass
class PostBatch:
    batch: MergeBatch
    other: MergeBatch


def _letter(db: Session, batch: MergeBatch, key: str, channel: Channel, **ids: int) -> None:
    db.add(
        Letter(
            reference=f"B{batch.id}/{key}",
            batch_id=batch.id,
            recipient_key=key,
            recipient_name=key,
            channel=channel,
            status=LetterStatus.approved,
            **ids,
        )
    )


@pytest.fixture
def post_batch(db: Session) -> PostBatch:
    letters_service.load_builtin(db)
    template = letters_service.get_by_slug(db, "appeal-head-of-state")
    assert template is not None
    batch = MergeBatch(name="Appeal by post", template_id=template.id)
    other = MergeBatch(name="Another round", template_id=template.id)
    db.add_all([batch, other])
    db.flush()
    office = make_organisation(
        db, "Executive Office of the President", type="head_of_state_office", country="TJK"
    )
    postal(db, org=office, street="80 Rudaki Avenue", city="Dushanbe", code="TJ", postcode="734023")
    minister = make_person(db, given_name="Хамрохон", family_name="Зарифи")
    postal(db, person=minister, street="33 Sheroz Street", city="Dushanbe", code="TJ")
    by_email = make_person(db, given_name="Emailonly", family_name="Recipient")
    postal(db, person=by_email, street="1 Email Road", city="Almaty", code="KZ")
    elsewhere = make_person(db, given_name="Otherbatch", family_name="Recipient")
    postal(db, person=elsewhere, street="2 Other Road", city="Almaty", code="KZ")
    _letter(db, batch, f"organisation:{office.id}", Channel.post, organisation_id=office.id)
    # a letter to a person at an organisation is addressed to the person
    _letter(
        db,
        batch,
        f"person:{minister.id}",
        Channel.post,
        person_id=minister.id,
        organisation_id=office.id,
    )
    _letter(db, batch, f"person:{by_email.id}", Channel.email, person_id=by_email.id)
    _letter(db, other, f"person:{elsewhere.id}", Channel.post, person_id=elsewhere.id)
    db.flush()
    return PostBatch(batch, other)


def test_api_labels_for_the_batch_letters_by_post(
    client: TestClient, db: Session, post_batch: PostBatch
) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    resp = client.post(
        "/api/v1/exports",
        json={"source": "batch", "batch_id": post_batch.batch.id, "format": "labels"},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/pdf"
    assert resp.headers["content-disposition"].startswith("attachment;")
    pages, text = pdf_text(resp.content)
    assert pages == 1
    assert "80 Rudaki Avenue" in text and "Executive Office of the President" in text
    assert "Хамрохон Зарифи" in text and "33 Sheroz Street" in text
    assert "Emailonly" not in text  # goes by email
    assert "Otherbatch" not in text  # another batch


def test_preview_counts_the_batch_recipients(db: Session, post_batch: PostBatch) -> None:
    req = ExportRequest(source="batch", batch_id=post_batch.batch.id, format="labels")
    preview = service.preview(db, req=req)
    assert preview.candidates == 2 and preview.exported == 2
    assert preview.source == "letters for the post in Appeal by post"


def test_batch_source_needs_an_existing_batch(
    client: TestClient, db: Session, post_batch: PostBatch
) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    missing = client.post(
        "/api/v1/exports", json={"source": "batch", "format": "labels"}, headers=headers
    )
    assert missing.status_code == 422
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "choose a mail merge batch" in missing.text
    unknown = client.post(
        "/api/v1/exports",
        json={"source": "batch", "batch_id": 999_999, "format": "labels"},
        headers=headers,
    )
    assert unknown.status_code == 404
    assert "999999" in unknown.json()["detail"]


def test_web_correspondence_links_to_the_batch_labels(
    client: TestClient, db: Session, post_batch: PostBatch
) -> None:
    user: User = make_user(db, Role.coordinator)
    login(client, user)
    page = client.get("/correspondence")
    link = f"/exports?source=batch&amp;batch_id={post_batch.batch.id}&amp;format=labels"
    assert link in page.text
    form = client.get(link.replace("&amp;", "&"))
    assert form.status_code == 200
    assert 'value="batch" checked' in form.text
    assert f'<option value="{post_batch.batch.id}" selected' in form.text
    resp = client.post(
        "/exports/download",
        data={
            "csrf_token": csrf_from(form.text),
            "source": "batch",
            "batch_id": str(post_batch.batch.id),
            "format": "labels",
            "label_preset": "L7160",
        },
    )
    assert resp.status_code == 200, resp.text[:500]
    assert resp.headers["content-type"] == "application/pdf"
    _, text = pdf_text(resp.content)
    assert "Rudaki" in text and "Otherbatch" not in text


def test_web_batch_source_without_a_batch_says_so(
    client: TestClient, db: Session, post_batch: PostBatch
) -> None:
    token = login(client, make_user(db, Role.coordinator))
    resp = client.post(
        "/exports/preview",
        data={"csrf_token": token, "source": "batch", "batch_id": "", "format": "labels"},
    )
    assert resp.status_code == 422
    assert "choose a mail merge batch" in resp.text


def test_campaigner_sees_no_labels_link(
    client: TestClient, db: Session, post_batch: PostBatch
) -> None:
    login(client, make_user(db, Role.campaigner))
    page = client.get("/correspondence")
    assert "Appeal by post" in page.text
    assert "source=batch" not in page.text
    assert "a coordinator prints them" in page.text
