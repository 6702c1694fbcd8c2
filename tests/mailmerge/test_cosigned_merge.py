"""A merge co-signed with other organisations: each letter carries their names and signatories
in its language, and the preview lists a co-signer the language lacks."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.letters import service as letters_service
from app.letters.schemas import TemplateCreate, VariantSave
from app.mailmerge import drafting, rendering, service
from app.mailmerge.schemas import MergeCreate
from app.models import BatchStatus, Letter, Role
from tests.cosigners.conftest import HI, HRW, make_cosigner
from tests.factories import api_headers, make_user
from tests.mailmerge.conftest import pdf_text


def _template(db: Session) -> int:
    appeal = letters_service.get_by_slug(db, "appeal-head-of-state")
    assert appeal is not None
    current = letters_service.current_versions(appeal)
    template = letters_service.create(
        db,
        data=TemplateCreate(
            slug="joint-appeal-cosigned",
            name="Co-signed appeal",
            layout="co-signed",
            language="en",
            subject=current["en"].subject,
            body=current["en"].body,
        ),
        actor=None,
    )
    for lang in ("ru", "fr"):
        letters_service.save_variant(
            db,
            template_id=template.id,
            language=lang,
            data=VariantSave(subject=current[lang].subject, body=current[lang].body),
            actor=None,
        )
    return template.id


def test_co_signed_letters_in_each_language(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    hi, hrw = make_cosigner(db, HI), make_cosigner(db, HRW)
    data = MergeCreate.model_validate(
        {
            "template_id": _template(db),
            "source": {"kind": "segment", "segment_id": world["segment"].id},
            "treaty": "CCM",
            "letter_date": "2010-05-01",
            "language": "ru",
            "cosigner_ids": [hi.id, hrw.id],
        }
    )
    preview = drafting.preview_merge(db, data=data)
    assert all(not any(f.startswith("cosigners") for f in r.empty_fields) for r in preview.letters)
    batch = service.create_merge(db, data=data, actor=None)
    assert batch.source["cosigner_ids"] == [hi.id, hrw.id]
    assert service.run_batch(batch.id, pool=pool) == BatchStatus.done
    db.expire_all()
    letter = db.scalars(select(Letter).where(Letter.batch_id == batch.id)).first()
    assert letter is not None
    names = [c["name"] for c in letter.context["cosigners"]]
    assert names == ["Хандикап Интернэшнл", "Хьюман Райтс Вотч"]
    _, text = pdf_text((rendering.files_root() / letter.pdf_path).read_bytes())
    assert "Марион Либертуччи" in text and "Стив Гуз" in text

    # In French, Human Rights Watch has no name of its own: the preview says so.
    french = drafting.preview_merge(db, data=data.model_copy(update={"language": "fr"}))
    gaps = french.letters[0].empty_fields
    assert any(g.startswith("cosigners") and "Human Rights Watch" in g for g in gaps)


def test_unknown_co_signers_are_refused(
    db: Session, world: dict[str, Any], client: TestClient
) -> None:
    data = MergeCreate.model_validate(
        {
            "template_id": world["template"].id,
            "source": {"kind": "segment", "segment_id": world["segment"].id},
            "cosigner_ids": [2_000_000_000],
        }
    )
    with pytest.raises(InvalidInput):
        service.create_merge(db, data=data, actor=None)
    resp = client.post(
        "/api/v1/merges",
        headers=api_headers(db, make_user(db, Role.campaigner)),
        json={
            "template_id": world["template"].id,
            "source": {"kind": "segment", "segment_id": world["segment"].id},
            "cosigner_ids": [2_000_000_000],
        },
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
