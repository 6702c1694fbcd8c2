"""Post: a whole merge batch marked as posted; the print pack; batch sending from the web."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.correspondence import lifecycle, service
from app.letters import service as letters_service
from app.models import Channel, LetterStatus, MergeBatch, Role
from tests.correspondence.helpers import make_campaign, make_letter, person_with_email
from tests.factories import api_headers, login, make_user


def _batch(db: Session) -> MergeBatch:
    letters_service.load_builtin(db)
    template = letters_service.get_by_slug(db, "ministry-policy-request")
    assert template is not None
    batch = MergeBatch(name="First round", template_id=template.id)
    db.add(batch)
    db.flush()
    return batch


def test_api_marks_a_batch_posted(db: Session, client: TestClient) -> None:
    batch = _batch(db)
    postal = [
        make_letter(db, status=LetterStatus.approved, batch_id=batch.id, channel=Channel.post)
        for _ in range(2)
    ]
    draft = make_letter(db, batch_id=batch.id, channel=Channel.post)
    resp = client.post(
        "/api/v1/letters/mark-posted",
        json={"batch_id": batch.id, "date": "2009-01-30", "note": "Geneva post office"},
        headers=api_headers(db, make_user(db)),
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["posted"] == [x.id for x in postal]
    db.expire_all()
    assert service.get(db, postal[0].id).sent_on == date(2009, 1, 30)
    assert service.get(db, draft.id).status == LetterStatus.draft
    again = client.post(
        "/api/v1/letters/mark-posted",
        json={"batch_id": batch.id, "date": "2009-01-30"},
        headers=api_headers(db, make_user(db)),
    )
    assert again.status_code == 409


def test_print_pack_is_missing_until_rendered(db: Session, client: TestClient) -> None:
    batch = _batch(db)
    login(client, make_user(db))
    page = client.get("/correspondence")
    assert "First round" in page.text and "not rendered yet" in page.text
    assert client.get(f"/correspondence/batches/{batch.id}/print-pack.pdf").status_code == 404


def test_send_approved_from_the_web_page(db: Session, client: TestClient) -> None:
    user = make_user(db, Role.coordinator)
    campaign = make_campaign(db, user)
    letter = make_letter(db, person_with_email(db), campaign_id=campaign.id)
    lifecycle.approve(db, letter_id=letter.id, actor=user)
    token = login(client, user)
    resp = client.post(
        "/correspondence/send-approved",
        data={"csrf_token": token, "campaign_id": str(campaign.id)},
    )
    assert "1 letter(s) are being sent by email." in resp.text
    db.expire_all()
    assert service.display_status(service.get(db, letter.id)) == "sending"
    sending = client.get("/correspondence?stage=sending")
    assert letter.reference in sending.text
