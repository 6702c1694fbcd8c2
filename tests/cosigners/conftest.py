from __future__ import annotations

import io
import shutil
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.orm import Session

from app.cosigners import service
from app.cosigners.schemas import CosignerCreate
from app.models import Cosigner
from app.settings_admin import images


@pytest.fixture(autouse=True)
def _no_uploads() -> Iterator[None]:
    """Logos are files shared by the whole run: none before a test, none after it."""
    shutil.rmtree(images.directory(), ignore_errors=True)
    yield
    shutil.rmtree(images.directory(), ignore_errors=True)


def png(size: tuple[int, int] = (200, 200), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    return out.getvalue()


HI: dict[str, Any] = {
    "name": "Handicap International",
    "signatory_name": "Marion Libertucci",
    "signatory_title": "Advocacy Manager",
    "translations": {
        "fr": {"name": "Handicap International", "signatory_title": "Responsable du plaidoyer"},
        "ru": {
            "name": "Хандикап Интернэшнл",
            "signatory_name": "Марион Либертуччи",
            "signatory_title": "Руководитель по адвокации",
        },
        "ar": {
            "name": "منظمة الإعاقة الدولية",
            "signatory_name": "ماريون ليبرتوتشي",
            "signatory_title": "مديرة المناصرة",
        },
    },
}
HRW: dict[str, Any] = {
    "name": "Human Rights Watch",
    "signatory_name": "Steve Goose",
    "signatory_title": "Director, Arms Division",
    "translations": {
        "ru": {
            "name": "Хьюман Райтс Вотч",
            "signatory_name": "Стив Гуз",
            "signatory_title": "Директор отдела вооружений",
        },
        "ar": {
            "name": "هيومن رايتس ووتش",
            "signatory_name": "ستيف غوس",
            "signatory_title": "مدير قسم الأسلحة",
        },
    },
}


def make_cosigner(db: Session, facts: Mapping[str, Any]) -> Cosigner:
    return service.create(db, data=CosignerCreate.model_validate(facts), actor=None)
