"""A merge's print options: fold and punch marks on every letter, and a combined PDF whose
letters each start on a right-hand page for duplex printing."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.mailmerge import rendering, service
from app.mailmerge.schemas import MergeCreate
from app.models import BatchStatus, Letter
from tests.mailmerge.conftest import pdf_text


def _merge(db: Session, world: dict[str, Any], **options: bool) -> Any:
    data = MergeCreate.model_validate(
        {
            "template_id": world["template"].id,
            "source": {"kind": "segment", "segment_id": world["segment"].id},
            "treaty": "CCM",
            "letter_date": "2010-05-01",
            **options,
        }
    )
    return service.create_merge(db, data=data, actor=None)


def test_fold_marks_and_recto_pages(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    plain = _merge(db, world)
    marked = _merge(db, world, fold_marks=True, recto=True)
    for batch in (plain, marked):
        assert service.run_batch(batch.id, pool=pool) == BatchStatus.done
    db.expire_all()
    letter = db.scalars(select(Letter).where(Letter.batch_id == marked.id)).first()
    other = db.scalars(select(Letter).where(Letter.batch_id == plain.id)).first()
    assert letter is not None and other is not None
    assert 'class="fold-mark"' in rendering.letter_html(db, letter)
    assert 'class="fold-mark"' not in rendering.letter_html(db, other)

    reader, _ = pdf_text(
        rendering.download_path(service.get_batch(db, plain.id), "pdf").read_bytes()
    )
    duplex, _ = pdf_text(
        rendering.download_path(service.get_batch(db, marked.id), "pdf").read_bytes()
    )
    assert len(reader.pages) == 6  # six one-page letters
    assert len(duplex.pages) == 12  # each followed by a blank back
    assert not (duplex.pages[1].extract_text() or "").strip()
