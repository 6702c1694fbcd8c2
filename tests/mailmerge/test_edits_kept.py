"""A letter's own text is the letter: after a hand edit, every path that renders it (PDF on the
letter page and through the API, the HTML preview, a re-run of its merge, the email and its
attachment) prints the edit; only an explicit re-merge goes back to the template."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.correspondence import lifecycle as correspondence_lifecycle
from app.correspondence.message import build_email, rendered_body, rendered_subject
from app.errors import Conflict
from app.letters import render, stored
from app.letters import service as letters_service
from app.letters.schemas import TemplateCreate
from app.mailmerge import rendering, service
from app.mailmerge.schemas import MergeCreate
from app.models import AuditEntry, BatchStatus, Letter, Role
from tests.factories import (
    api_headers,
    login,
    make_organisation,
    make_person,
    make_position,
    make_user,
)
from tests.mailmerge.conftest import pdf_text
from tests.support.smtp import payload

EDIT = "Hand-edited paragraph for the Pakistan letter only."


def _merged(db: Session, world: dict[str, Any], pool: ProcessPoolExecutor) -> list[Letter]:
    data = MergeCreate.model_validate(
        {
            "template_id": world["template"].id,
            "source": {"kind": "segment", "segment_id": world["segment"].id},
            "treaty": "CCM",
            "letter_date": date(2010, 3, 25),
        }
    )
    batch = service.create_merge(db, data=data, actor=None)
    assert service.run_batch(batch.id, pool=pool) == BatchStatus.done
    db.expire_all()
    return list(db.scalars(select(Letter).where(Letter.batch_id == batch.id)))


def _edit(db: Session, letter: Letter) -> Letter:
    user = make_user(db, Role.campaigner)
    body = letter.body_html.replace("</p>", f"</p><p>{EDIT}</p>", 1)
    return correspondence_lifecycle.edit_text(
        db, letter_id=letter.id, subject="Edited subject", body_html=body, actor=user
    )


def test_every_render_path_prints_the_hand_edit(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    pakistan = next(x for x in _merged(db, world, pool) if "PAK" in x.reference)
    _edit(db, pakistan)
    letter = service.get_letter(db, pakistan.id)

    _, text = pdf_text(rendering.letter_pdf(db, letter).read_bytes())
    assert EDIT in text and "Edited subject" in text
    assert letter.subject == "Edited subject" and EDIT in letter.body_html  # not written over
    assert EDIT in rendering.letter_html(db, letter)

    # Opening the PDF again, and re-running the merge, keep the edit.
    _, again = pdf_text(rendering.letter_pdf(db, letter).read_bytes())
    assert EDIT in again
    letter.pdf_path = ""
    db.flush()
    service.rerun(db, batch_id=letter.batch_id or 0, actor=None)
    assert service.run_batch(letter.batch_id or 0, pool=pool) == BatchStatus.done
    db.expire_all()
    letter = service.get_letter(db, pakistan.id)
    assert EDIT in letter.body_html
    _, rerun_text = pdf_text((rendering.files_root() / letter.pdf_path).read_bytes())
    assert EDIT in rerun_text

    # The email carries the edit in its text and in the PDF attached.
    message = build_email(db, letter)
    assert message["Subject"] == "Edited subject"
    parts = list(message.walk())
    plain = next(p for p in parts if p.get_content_type() == "text/plain")
    assert EDIT in plain.get_content()
    attached = next(p for p in parts if p.get_content_type() == "application/pdf")
    _, attached_text = pdf_text(payload(attached))
    assert EDIT in attached_text


def test_braces_from_the_directory_print_as_typed_after_a_render(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    office = make_organisation(db, "Office {{ 7*7 }}", country="TJK")
    person = make_person(db, given_name="Ann", family_name="Lee {% if 1 %}x{% endif %}")
    make_position(db, person=person, organisation=office, title="Adviser")
    data = MergeCreate.model_validate(
        {
            "template_id": world["template"].id,
            "source": {"kind": "contacts", "person_ids": [person.id]},
            "letter_date": date(2010, 3, 25),
        }
    )
    batch = service.create_merge(db, data=data, actor=None)
    assert service.run_batch(batch.id, pool=pool) == BatchStatus.done
    db.expire_all()
    letter = db.scalars(select(Letter).where(Letter.batch_id == batch.id)).one()
    letter.pdf_path = ""  # rendered again from the stored text
    db.flush()
    _, text = pdf_text(rendering.letter_pdf(db, letter).read_bytes())
    assert "Lee {% if 1 %}x{% endif %}" in text
    assert "49" not in rendered_body(letter)


def test_braces_from_the_directory_in_a_subject_print_as_typed(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    template = letters_service.create(
        db,
        data=TemplateCreate(
            slug="subject-with-organisation",
            name="Subject with the organisation",
            language="en",
            subject="For {{ recipient.organisation }}",
            body="<p>{{ recipient.salutation }}</p>",
        ),
        actor=None,
    )
    office = make_organisation(db, "Office {{ 7*7 }}", country="TJK")
    data = MergeCreate.model_validate(
        {
            "template_id": template.id,
            "source": {"kind": "contacts", "organisation_ids": [office.id]},
            "letter_date": date(2010, 3, 25),
        }
    )
    batch = service.create_merge(db, data=data, actor=None)
    assert service.run_batch(batch.id, pool=pool) == BatchStatus.done
    db.expire_all()
    letter = db.scalars(select(Letter).where(Letter.batch_id == batch.id)).one()
    assert rendered_subject(letter) == "For Office {{ 7*7 }}"
    assert "&#" not in letter.subject  # a subject is plain text, not HTML
    assert stored.letter_job(db, letter).subject == letter.subject
    _, text = pdf_text(render.render_pdf(stored.letter_job(db, letter)).pdf)
    assert "For Office {{ 7*7 }}" in text


def test_remerge_replaces_a_draft_text_and_keeps_the_old_one_in_the_audit(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    pakistan = next(x for x in _merged(db, world, pool) if "PAK" in x.reference)
    _edit(db, pakistan)
    letter = service.get_letter(db, pakistan.id)
    subject, body = rendering.remerge_preview(db, letter)
    assert EDIT not in body and subject != "Edited subject"
    rendering.remerge(db, letter=letter, actor=None)
    assert EDIT not in letter.body_html and letter.subject == subject
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "letter.remerge")).one()
    assert EDIT in entry.details["replaced"]["body_html"]
    _, text = pdf_text(rendering.letter_pdf(db, letter).read_bytes())
    assert EDIT not in text

    approver = make_user(db, Role.coordinator)
    correspondence_lifecycle.approve(db, letter_id=letter.id, actor=approver)
    with pytest.raises(Conflict):
        rendering.remerge(db, letter=letter, actor=None)


def test_remerge_in_the_web_ui_and_the_api(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor, client: TestClient
) -> None:
    pakistan = next(x for x in _merged(db, world, pool) if "PAK" in x.reference)
    letter = _edit(db, pakistan)
    campaigner = make_user(db, Role.campaigner)
    token = login(client, campaigner)
    page = client.get(f"/letters/{letter.id}")
    assert "Merge again from the template" in page.text
    confirm = client.get(f"/letters/{letter.id}/remerge")
    assert confirm.status_code == 200
    assert EDIT in confirm.text and "Replace the letter" in confirm.text
    stale = client.post(
        f"/letters/{letter.id}/remerge",
        data={"csrf_token": token, "version": str(letter.version - 1)},
    )
    assert stale.status_code == 409
    db.expire_all()
    assert EDIT in service.get_letter(db, letter.id).body_html
    done = client.post(
        f"/letters/{letter.id}/remerge",
        data={"csrf_token": token, "version": str(letter.version)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    db.expire_all()
    assert EDIT not in service.get_letter(db, letter.id).body_html

    again = _edit(db, service.get_letter(db, letter.id))
    resp = client.post(f"/api/v1/letters/{again.id}/remerge", headers=api_headers(db, campaigner))
    assert resp.status_code == 200, resp.text
    db.expire_all()
    assert EDIT not in service.get_letter(db, again.id).body_html
