"""Merges pick the right person on the letter's date and the language asked for, and show the
fields that would print empty (which then block approval)."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.correspondence import lifecycle as correspondence_lifecycle
from app.errors import InvalidInput
from app.letters import service as letters_service
from app.letters.schemas import TemplateCreate
from app.mailmerge import drafting, rendering, service
from app.mailmerge.schemas import MergeCreate
from app.models import BatchStatus, Letter, Organisation, Role
from tests.factories import (
    api_headers,
    login,
    make_organisation,
    make_person,
    make_position,
    make_user,
)

OLD_DATE = date(2010, 5, 1)


def _pakistan_mfa(db: Session) -> Organisation:
    return db.scalars(
        select(Organisation).where(Organisation.name == "Ministry of Foreign Affairs of Pakistan")
    ).one()


def _data(template_id: int, **extra: Any) -> MergeCreate:
    return MergeCreate.model_validate({"template_id": template_id, **extra})


def test_an_office_is_addressed_to_its_holder_on_the_letter_date(
    db: Session, world: dict[str, Any]
) -> None:
    mfa = _pakistan_mfa(db)
    source = {"kind": "contacts", "organisation_ids": [mfa.id]}
    today = drafting.preview_merge(db, data=_data(world["template"].id, source=source))
    then = drafting.preview_merge(
        db, data=_data(world["template"].id, source=source, letter_date=OLD_DATE)
    )
    # The minister in office since 2024 receives today's letter, not the one dated 2010.
    holder_now = today.letters[0].name
    assert holder_now != then.letters[0].name
    assert then.letters[0].name == mfa.office_title or "Minister" in then.letters[0].name

    earlier = make_person(db, given_name="Shah Mahmood", family_name="Qureshi", gender="masculine")
    make_position(
        db,
        person=earlier,
        organisation=mfa,
        title="Minister of Foreign Affairs",
        is_office_holder=True,
        start_date=date(2008, 3, 31),
        end_date=date(2011, 2, 11),
    )
    then = drafting.preview_merge(
        db, data=_data(world["template"].id, source=source, letter_date=OLD_DATE)
    )
    assert "Qureshi" in then.letters[0].name


def test_one_language_for_every_letter_with_the_fallback_shown(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    source = {"kind": "segment", "segment_id": world["segment"].id}
    preview = drafting.preview_merge(
        db, data=_data(world["template"].id, source=source, language="fr", treaty="CCM")
    )
    assert preview.letters and all(r.language == "fr" for r in preview.letters)
    assert not any(r.language_note for r in preview.letters)

    only_en = letters_service.create(
        db,
        data=TemplateCreate(
            slug="english-only",
            name="English only",
            language="en",
            subject="Hello",
            body="<p>{{ recipient.salutation }}</p>",
        ),
        actor=None,
    )
    preview = drafting.preview_merge(
        db, data=_data(only_en.id, source=source, language="ru", letter_date=OLD_DATE)
    )
    notes = {r.language_note for r in preview.letters}
    assert notes == {
        "no Russian text in this template: written in English, the template's default language"
    }
    batch = service.create_merge(
        db,
        data=_data(only_en.id, source=source, language="ru", letter_date=OLD_DATE),
        actor=None,
    )
    assert batch.source["language"] == "ru"
    languages = set(db.scalars(select(Letter.language).where(Letter.batch_id == batch.id)))
    assert languages == {"en"}

    with pytest.raises(ValueError, match="recipient"):
        _data(only_en.id, source=source, language="xx")


def test_empty_fields_are_listed_marked_and_block_approval(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    template = letters_service.create(
        db,
        data=TemplateCreate(
            slug="with-gaps",
            name="With gaps",
            language="en",
            subject="On the {{ treaty.name }}",
            body=(
                "<p>Ahead of the {{ milestone.name }} ({{ milestone.date }}).</p>"
                "<p>{{ treaty.signature_date | default('not yet signed', true) }}</p>"
                "{% if campaign.goal %}<p>{{ campaign.goal }}</p>{% endif %}"
            ),
        ),
        actor=None,
    )
    office = make_organisation(db, "Office of the President of Testland", country="TJK")
    source = {"kind": "contacts", "organisation_ids": [office.id]}
    # No treaty: treaty and milestone fields are empty; the optional and guarded ones are not.
    preview = drafting.preview_merge(db, data=_data(template.id, source=source))
    assert preview.letters[0].empty_fields == ["treaty.name", "milestone.name", "milestone.date"]

    batch = service.create_merge(db, data=_data(template.id, source=source), actor=None)
    assert service.run_batch(batch.id, pool=pool) == BatchStatus.done
    db.expire_all()
    letter = db.scalars(select(Letter).where(Letter.batch_id == batch.id)).one()
    assert "«milestone.name»" in letter.body_html and "not yet signed" in letter.body_html
    assert letter.subject == "On the «treaty.name»"
    coordinator = make_user(db, Role.coordinator)
    with pytest.raises(InvalidInput, match="milestone.name"):
        correspondence_lifecycle.approve(db, letter_id=letter.id, actor=coordinator)

    filled = letter.body_html.replace("«milestone.name»", "First Meeting of States Parties")
    filled = filled.replace("«milestone.date»", "9 November 2010")
    correspondence_lifecycle.edit_text(
        db,
        letter_id=letter.id,
        subject="On the Convention on Cluster Munitions",
        body_html=filled,
        actor=coordinator,
    )
    # Merged again from the template, the gaps come back marked and hold the letter again.
    rendering.remerge(db, letter=letter, actor=coordinator)
    assert "«milestone.name»" in letter.body_html
    with pytest.raises(InvalidInput, match="milestone.name"):
        correspondence_lifecycle.approve(db, letter_id=letter.id, actor=coordinator)
    correspondence_lifecycle.edit_text(
        db,
        letter_id=letter.id,
        subject="On the Convention on Cluster Munitions",
        body_html=filled,
        actor=coordinator,
    )
    approved = correspondence_lifecycle.approve(db, letter_id=letter.id, actor=coordinator)
    assert approved.status.value == "approved"


def test_a_campaigner_drafts_a_merge_in_one_language_on_the_web_and_the_api(
    db: Session, world: dict[str, Any], client: TestClient
) -> None:
    campaigner = make_user(db, Role.campaigner)
    token = login(client, campaigner)
    form = client.get("/merges/new")
    assert form.status_code == 200 and 'name="language"' in form.text
    fields = {
        "csrf_token": token,
        "template_id": str(world["template"].id),
        "source_kind": "segment",
        "segment_id": str(world["segment"].id),
        "treaty": "CCM",
        "letter_date": "2010-05-01",
        "language": "es",
    }
    preview = client.post("/merges/preview", data=fields)
    assert preview.status_code == 200 and "<td>es" in preview.text
    created = client.post("/merges", data=fields, follow_redirects=False)
    assert created.status_code == 303, created.text
    bad = client.post("/merges", data={**fields, "language": "klingon"})
    assert bad.status_code == 422 and "recipient" in bad.text

    resp = client.post(
        "/api/v1/merges",
        headers=api_headers(db, campaigner),
        json={
            "template_id": world["template"].id,
            "source": {"kind": "segment", "segment_id": world["segment"].id},
            "treaty": "CCM",
            "letter_date": "2010-05-01",
            "language": "zh",
        },
    )
    assert resp.status_code == 201, resp.text
    batch_id = resp.json()["id"]
    assert resp.json()["total"] > 0
    languages = set(db.scalars(select(Letter.language).where(Letter.batch_id == batch_id)))
    assert len(languages) == 1


def test_an_address_that_cannot_fit_the_window_is_flagged_at_drafting(
    db: Session, world: dict[str, Any]
) -> None:
    from app.contacts import service as contacts_service
    from app.contacts.schemas import ContactPointCreate

    office = make_organisation(db, "Office of the President of Testland", country="TJK")
    contacts_service.create_contact_point(
        db,
        data=ContactPointCreate(
            kind="postal",
            organisation_id=office.id,
            # one word too long for the window at the smallest size: it cannot be broken
            street_address="Building-of-the-Executive-Office-Rudaki-Avenue-"
            + "and-the-long-embankment-of-the-river-Varzob-entrance-by-the-eastern-gate" * 2,
            city="Dushanbe",
            country_code="TJ",
        ),
        actor=None,
    )
    data = _data(
        world["template"].id,
        source={"kind": "contacts", "organisation_ids": [office.id]},
        letter_date=OLD_DATE,
    )
    preview = drafting.preview_merge(db, data=data)
    assert "does not fit the envelope window" in preview.letters[0].reason
    assert preview.flagged and preview.flagged[0].key == preview.letters[0].key
    by_email = drafting.preview_merge(db, data=data.model_copy(update={"channel": "email"}))
    assert "envelope window" not in by_email.letters[0].reason


def test_a_merge_signed_by_someone_else(db: Session, world: dict[str, Any]) -> None:
    data = _data(
        world["template"].id,
        source={"kind": "segment", "segment_id": world["segment"].id},
        treaty="CCM",
        letter_date=OLD_DATE,
        language="ru",
        signatory_name="Стив Гуз",
        signatory_title="Председатель",
    )
    batch = service.create_merge(db, data=data, actor=None)
    letter = db.scalars(select(Letter).where(Letter.batch_id == batch.id)).first()
    assert letter is not None
    assert letter.context["signatory"] == {"name": "Стив Гуз", "title": "Председатель"}
    preview = drafting.preview_merge(db, data=data)
    assert not any("signatory" in f for r in preview.letters for f in r.empty_fields)


def test_a_manual_salutation_for_the_language_wins_in_the_letter(
    db: Session, world: dict[str, Any]
) -> None:
    person = make_person(
        db,
        given_name="Ivana",
        family_name="Horvat",
        gender="feminine",
        salutation_overrides={"ru": "Дорогая Ивана!", "fr": "Chère Ivana,"},
    )
    ministry = make_organisation(db, "Ministry of Foreign Affairs of Testland", country="KAZ")
    make_position(db, person=person, organisation=ministry, title="Minister for Foreign Affairs")
    source = {"kind": "contacts", "person_ids": [person.id]}
    for language, expected in (("ru", "Дорогая Ивана!"), ("fr", "Chère Ivana,")):
        batch = service.create_merge(
            db,
            data=_data(
                world["template"].id, source=source, letter_date=OLD_DATE, language=language
            ),
            actor=None,
        )
        letter = db.scalars(select(Letter).where(Letter.batch_id == batch.id)).one()
        assert letter.context["recipient"]["salutation"] == expected


def test_a_name_held_only_in_latin_letters_is_flagged_in_a_russian_letter(
    db: Session, world: dict[str, Any]
) -> None:
    from app.models import Person

    def person(given: str) -> int:
        return db.scalars(select(Person.id).where(Person.given_name == given)).one()

    source = {"kind": "contacts", "person_ids": [person("Nadia"), person("Emomali")]}
    for lang, flagged in (("ru", True), ("en", False)):
        preview = drafting.preview_merge(
            db, data=_data(world["template"].id, source=source, language=lang)
        )
        reasons = {r.name: r.reason for r in preview.letters}
        baig = next(reason for name, reason in reasons.items() if "Baig" in name)
        assert ("Latin letters" in baig) is flagged, reasons
        if flagged:
            assert "add it in Cyrillic on the contact" in baig
            assert [r.name for r in preview.flagged] == [n for n in reasons if "Baig" in n]
        rahmon = next(reason for name, reason in reasons.items() if "Rahmon" in name)
        assert "Latin letters" not in rahmon  # the directory holds Эмомали Рахмон


def test_a_joint_letter_flags_an_addressee_the_directory_names_only_in_english(
    db: Session, world: dict[str, Any]
) -> None:
    plain = make_organisation(db, "Ministry of Defence of Testland", country="TJK")
    named = make_organisation(db, "Ministry of Justice of Testland", country="TJK")
    named.name_forms = {"fr": "Ministère de la Justice du Testland"}
    db.flush()
    source = {"kind": "contacts", "organisation_ids": [plain.id, named.id]}
    for lang, flagged in (("fr", {"Ministry of Defence of Testland"}), ("en", set())):
        preview = drafting.preview_merge(
            db, data=_data(world["template"].id, source=source, language=lang, mode="one_letter")
        )
        noted = {r.name for r in preview.flagged if "no name in French" in r.reason}
        assert noted == flagged, [r.reason for r in preview.letters]
        assert all("add its French name" in r.reason for r in preview.flagged if r.name in noted)
