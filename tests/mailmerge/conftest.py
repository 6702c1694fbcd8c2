from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from app.contacts import demo as contacts_demo
from app.letters import batch
from app.letters import service as letters_service
from app.models import LetterTemplate, Segment
from app.settings_admin import service as profile_service
from app.settings_admin.schemas import ProfileUpdate
from tests.letters.conftest import CanaryServer


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    executor = batch.make_pool(2)
    yield executor
    executor.shutdown(wait=True)


@pytest.fixture
def world(db: Session) -> dict[str, Any]:
    """The demo directory, the CMC profile, the appeal template and a heads-of-state segment."""
    profile_service.update_profile(
        db,
        data=ProfileUpdate(
            name="Cluster Munition Coalition",
            short_name="CMC",
            address="Maison de la Paix\n1202 Geneva\nSwitzerland",
            country_code="CH",
            email="info@cmc.example",
            signatory_name="Thomas Nash",
            signatory_title="Coordinator",
            reference_prefix="CMC",
        ),
        actor=None,
    )
    contacts_demo.load(db)
    segment = Segment(
        name="Heads of state (test)",
        filters={
            "kind": "organisation",
            "organisation_type": "head_of_state_office",
            "tag": "Central Asia initiative",
        },
    )
    db.add(segment)
    db.flush()
    template = letters_service.get_by_slug(db, "appeal-head-of-state")
    assert isinstance(template, LetterTemplate)
    return {"segment": segment, "template": template}


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    return reader, " ".join(text.split())


@pytest.fixture
def canary_server() -> Iterator[CanaryServer]:
    """A loopback HTTP server that records every request (as in the letters tests)."""
    with CanaryServer() as server:
        yield server
