"""The state machine: who approves, what each state allows, versions, audit entries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.config import get_settings
from app.correspondence import lifecycle, sending, service
from app.correspondence.addressing import reference_from_address, reply_address
from app.errors import Conflict, Forbidden, InvalidInput
from app.models import AuditEntry, Channel, LetterStatus, Role
from tests.correspondence.helpers import make_campaign, make_letter, person_with_email
from tests.factories import api_headers, make_user


def test_coordinator_approves_and_it_is_audited(db: Session) -> None:
    coordinator = make_user(db, Role.coordinator)
    letter = make_letter(db, person_with_email(db))
    lifecycle.approve(db, letter_id=letter.id, actor=coordinator)
    assert letter.status == LetterStatus.approved
    assert letter.approved_by_id == coordinator.id
    entries, _ = audit.list_entries(db, entity_type="letter", entity_id=letter.id)
    assert [e.action for e in entries] == ["letter.approve"]


def test_campaigner_cannot_approve(db: Session) -> None:
    letter = make_letter(db)
    with pytest.raises(Forbidden):
        lifecycle.approve(db, letter_id=letter.id, actor=make_user(db, Role.campaigner))


def test_second_approval_needs_another_coordinator(db: Session) -> None:
    first, second = make_user(db, Role.coordinator), make_user(db, Role.coordinator)
    campaign = make_campaign(db, first, second_approval=True)
    letter = make_letter(db, campaign_id=campaign.id)
    lifecycle.approve(db, letter_id=letter.id, actor=first)
    assert service.display_status(letter) == "awaiting second approval"
    with pytest.raises(Conflict, match="another coordinator"):
        lifecycle.approve(db, letter_id=letter.id, actor=first)
    lifecycle.approve(db, letter_id=letter.id, actor=second)
    assert letter.status == LetterStatus.approved
    assert letter.second_approved_by_id == second.id


def test_global_setting_asks_for_second_approval(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "letter_second_approval", True)
    letter = make_letter(db)
    lifecycle.approve(db, letter_id=letter.id, actor=make_user(db, Role.coordinator))
    assert letter.status == LetterStatus.draft


def test_editing_an_approved_letter_withdraws_the_approval(db: Session) -> None:
    coordinator = make_user(db, Role.coordinator)
    letter = make_letter(db)
    lifecycle.approve(db, letter_id=letter.id, actor=coordinator)
    lifecycle.edit_text(
        db, letter_id=letter.id, subject="New subject", body_html="<p>New</p>", actor=coordinator
    )
    assert letter.status == LetterStatus.draft and letter.approved_by_id is None
    actions = {
        e.action
        for e in db.scalars(select(AuditEntry).where(AuditEntry.entity_id == str(letter.id)))
    }
    assert {"letter.withdraw_approval", "letter.edit"} <= actions


def test_campaigners_edit_drafts_but_not_approved_letters(db: Session) -> None:
    from app.errors import Forbidden

    campaigner = make_user(db, Role.campaigner)
    letter = make_letter(db)
    # a draft, whoever made it
    lifecycle.edit_text(
        db, letter_id=letter.id, subject="Draft subject", body_html="<p>Draft</p>", actor=campaigner
    )
    assert letter.subject == "Draft subject"
    lifecycle.approve(db, letter_id=letter.id, actor=make_user(db, Role.coordinator))
    with pytest.raises(Forbidden, match="only a coordinator"):
        lifecycle.edit_text(
            db, letter_id=letter.id, subject="Sneaked", body_html="<p>Sneaked</p>", actor=campaigner
        )
    assert letter.status == LetterStatus.approved and letter.subject == "Draft subject"


def test_editing_anywhere_withdraws_the_approval(db: Session) -> None:
    letter = make_letter(db)
    lifecycle.approve(db, letter_id=letter.id, actor=make_user(db, Role.coordinator))
    letter.body_html = "<p>changed behind the service's back</p>"
    db.flush()
    assert letter.status == LetterStatus.draft


def test_stale_version_is_a_conflict(db: Session) -> None:
    letter = make_letter(db)
    with pytest.raises(Conflict, match="changed by someone else"):
        lifecycle.approve(
            db, letter_id=letter.id, actor=make_user(db, Role.coordinator), version=99
        )


def test_a_draft_cannot_be_sent_nor_a_sent_letter_approved(db: Session) -> None:
    user = make_user(db, Role.coordinator)
    draft = make_letter(db)
    with pytest.raises(Conflict, match="cannot be sent: it is draft"):
        sending.send(db, letter_id=draft.id, channel=Channel.post, on=date.today(), actor=user)
    sent = make_letter(db, status=LetterStatus.sent)
    with pytest.raises(Conflict, match="cannot be approved"):
        lifecycle.approve(db, letter_id=sent.id, actor=user)


def test_posted_letter_gets_its_reply_date_from_the_campaign(db: Session) -> None:
    user = make_user(db, Role.coordinator)
    campaign = make_campaign(db, user, reply_days=21)
    letter = make_letter(db, campaign_id=campaign.id)
    lifecycle.approve(db, letter_id=letter.id, actor=user)
    sending.send(
        db, letter_id=letter.id, channel=Channel.post, on=date(2009, 1, 30), note="DHL", actor=user
    )
    assert letter.status == LetterStatus.sent and letter.sent_on == date(2009, 1, 30)
    assert letter.reply_due_on == date(2009, 2, 20)


def test_hand_delivery_needs_a_date_not_in_the_future(db: Session) -> None:
    user = make_user(db, Role.coordinator)
    letter = make_letter(db, status=LetterStatus.approved)
    with pytest.raises(InvalidInput, match="date"):
        sending.send(db, letter_id=letter.id, channel=Channel.hand, actor=user)
    with pytest.raises(InvalidInput, match="future"):
        sending.send(
            db,
            letter_id=letter.id,
            channel=Channel.diplomatic_bag,
            on=date.today() + timedelta(days=1),
            actor=user,
        )


def test_no_email_flag_is_refused_clearly(db: Session) -> None:
    user = make_user(db, Role.coordinator)
    person = person_with_email(db, no_email=True)
    letter = make_letter(db, person, status=LetterStatus.approved)
    with pytest.raises(InvalidInput, match="asked not to be contacted by email"):
        sending.send(db, letter_id=letter.id, channel=Channel.email, actor=user)


def test_reference_travels_in_the_reply_address() -> None:
    address = reply_address("CMC/2010/TJK/0001")
    assert address == "replies+CMC-2010-TJK-0001@demarche.example"
    assert reference_from_address(f"Replies <{address}>") == "CMC-2010-TJK-0001"
    assert reference_from_address("someone@example.org") is None


def test_letter_found_by_its_address_token(db: Session) -> None:
    letter = make_letter(db, reference="CMC/2010/TJK/0042")
    assert service.get_by_address_token(db, "CMC-2010-TJK-0042") is letter


# ---------------------------------------------------------------------------- API


def test_api_approve_then_invalid_transition_is_problem_json(
    db: Session, client: TestClient
) -> None:
    coordinator = make_user(db, Role.coordinator)
    letter = make_letter(db)
    headers = api_headers(db, coordinator)
    resp = client.post(f"/api/v1/letters/{letter.id}/approve", headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "approved"
    again = client.post(f"/api/v1/letters/{letter.id}/approve", headers=headers)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert "cannot be approved: it is approved" in again.json()["detail"]


def test_api_campaigner_gets_403_on_approve(db: Session, client: TestClient) -> None:
    letter = make_letter(db)
    resp = client.post(
        f"/api/v1/letters/{letter.id}/approve",
        headers=api_headers(db, make_user(db, Role.campaigner)),
    )
    assert resp.status_code == 403


def test_api_stale_version_409(db: Session, client: TestClient) -> None:
    letter = make_letter(db)
    resp = client.post(
        f"/api/v1/letters/{letter.id}/approve",
        json={"version": letter.version + 5},
        headers=api_headers(db, make_user(db, Role.coordinator)),
    )
    assert resp.status_code == 409


def test_api_record_post_and_close(db: Session, client: TestClient) -> None:
    user = make_user(db, Role.coordinator)
    letter = make_letter(db, status=LetterStatus.approved)
    headers = api_headers(db, user)
    resp = client.post(
        f"/api/v1/letters/{letter.id}/send",
        json={"channel": "post", "date": "2009-01-30", "note": "registered"},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "sent" and resp.json()["reply_due_on"] == "2009-03-01"
    closed = client.post(f"/api/v1/letters/{letter.id}/close", json={}, headers=headers)
    assert closed.json()["status"] == "closed"


def test_api_missing_date_for_fax_is_422(db: Session, client: TestClient) -> None:
    letter = make_letter(db, status=LetterStatus.approved)
    resp = client.post(
        f"/api/v1/letters/{letter.id}/send",
        json={"channel": "fax"},
        headers=api_headers(db, make_user(db, Role.coordinator)),
    )
    assert resp.status_code == 422
    assert "date" in resp.json()["detail"]


def test_campaign_sets_reply_days_and_second_approval_through_the_api(
    db: Session, client: TestClient
) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    resp = client.post(
        "/api/v1/campaigns",
        json={"name": "Replies in three weeks", "reply_days": 21, "second_approval": True},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["reply_days"] == 21 and resp.json()["second_approval"] is True
    bad = client.post("/api/v1/campaigns", json={"name": "x", "reply_days": 0}, headers=headers)
    assert bad.status_code == 422


def test_email_refused_when_no_smtp_server_is_configured(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "smtp_url", None)
    letter = make_letter(db, person_with_email(db), status=LetterStatus.approved)
    with pytest.raises(Conflict, match="No SMTP server is configured"):
        sending.send(
            db, letter_id=letter.id, channel=Channel.email, actor=make_user(db, Role.coordinator)
        )
