"""One letter for all recipients: a joint letter or memo names every addressee in the letter's
language, is drafted once, and its PDF lists them."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.letters import service as letters_service
from app.letters.context import SAMPLE_TRANSLATIONS
from app.mailmerge import drafting, rendering, service
from app.mailmerge.schemas import MergeCreate
from app.models import BatchStatus, Letter, Role
from app.settings_admin import service as profile_service
from tests.factories import api_headers, login, make_user
from tests.mailmerge.conftest import pdf_text


def _joint(db: Session) -> int:
    template = letters_service.get_by_slug(db, "joint-open-letter")
    assert template is not None
    return template.id


def _data(db: Session, world: dict[str, Any], **extra: Any) -> MergeCreate:
    return MergeCreate.model_validate(
        {
            "template_id": _joint(db),
            "source": {"kind": "segment", "segment_id": world["segment"].id},
            "treaty": "CCM",
            "letter_date": "2010-05-01",
            "mode": "one_letter",
            **extra,
        }
    )


def test_one_letter_names_every_recipient_in_its_language(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    preview = drafting.preview_merge(db, data=_data(db, world, language="ru"))
    assert preview.one_letter and len(preview.letters) == 6
    # The profile has no Russian names yet: the letter and its signature would have gaps.
    assert preview.letters[0].empty_fields == ["sender.name", "signatory.name", "signatory.title"]
    profile_service.get_profile(db).translations = {
        lang: dict(forms) for lang, forms in SAMPLE_TRANSLATIONS.items()
    }
    db.flush()
    preview = drafting.preview_merge(db, data=_data(db, world, language="ru"))
    assert not any(r.empty_fields for r in preview.letters)

    batch = service.create_merge(db, data=_data(db, world, language="ru"), actor=None)
    assert batch.total == 1 and batch.source["mode"] == "one_letter"
    letter = db.scalars(select(Letter).where(Letter.batch_id == batch.id)).one()
    assert letter.language == "ru" and letter.recipient_key == "all"
    names = [o["name"] for o in letter.context["organisations"]]
    assert len(names) == 6
    assert "Исполнительный аппарат Президента Республики Таджикистан" in names  # held in Russian
    countries = {o["country"] for o in letter.context["organisations"]}
    assert "Таджикистан" in countries and "Казахстан" in countries
    assert letter.context["recipient"]["salutation"] == "Ваши Превосходительства, дамы и господа!"

    assert service.run_batch(batch.id, pool=pool) == BatchStatus.done
    db.expire_all()
    letter = db.scalars(select(Letter).where(Letter.batch_id == batch.id)).one()
    _, text = pdf_text((rendering.files_root() / letter.pdf_path).read_bytes())
    assert "Адресаты:" in text and "Администрация Президента Республики Казахстан" in text

    # Running the merge again adds no second letter.
    service.rerun(db, batch_id=batch.id, actor=None)
    assert db.scalars(select(Letter).where(Letter.batch_id == batch.id)).all() == [letter]


def test_one_letter_in_the_web_form_and_the_api(
    db: Session, world: dict[str, Any], client: TestClient
) -> None:
    campaigner = make_user(db, Role.campaigner)
    token = login(client, campaigner)
    form = client.get(f"/merges/new?template_id={_joint(db)}")
    assert '<option value="one_letter" selected' in form.text  # the joint letter's mode
    fields = {
        "csrf_token": token,
        "template_id": str(_joint(db)),
        "source_kind": "segment",
        "segment_id": str(world["segment"].id),
        "treaty": "CCM",
        "letter_date": "2010-05-01",
        "mode": "one_letter",
        "language": "en",
    }
    preview = client.post("/merges/preview", data=fields)
    assert "One letter" in preview.text and "addressees" in preview.text
    resp = client.post(
        "/api/v1/merges",
        headers=api_headers(db, campaigner),
        json={
            "template_id": _joint(db),
            "source": {"kind": "segment", "segment_id": world["segment"].id},
            "treaty": "CCM",
            "mode": "one_letter",
            "language": "fr",
        },
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["total"] == 1
    bad = client.post(
        "/api/v1/merges",
        headers=api_headers(db, campaigner),
        json={
            "template_id": _joint(db),
            "source": {"kind": "segment", "segment_id": world["segment"].id},
            "mode": "everyone",
        },
    )
    assert bad.status_code == 422


def test_a_note_verbale_is_addressed_to_the_institution(db: Session, world: dict[str, Any]) -> None:
    note = letters_service.get_by_slug(db, "note-verbale-position")
    assert note is not None and note.layout == "note-verbale"
    data = MergeCreate.model_validate(
        {
            "template_id": note.id,
            "source": {"kind": "segment", "segment_id": world["segment"].id},
            "treaty": "CCM",
            "letter_date": "2010-05-01",
            "language": "ru",
        }
    )
    batch = service.create_merge(db, data=data, actor=None)
    letters = db.scalars(select(Letter).where(Letter.batch_id == batch.id)).all()
    rahmon = next(x for x in letters if "TJK" in x.reference)
    block = rahmon.context["recipient"]["address_block"]
    assert block[0] == "Исполнительный аппарат Президента Республики Таджикистан"
    assert not any("Рахмону" in line for line in block)
