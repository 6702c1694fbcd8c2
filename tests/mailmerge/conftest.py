from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from app.letters import batch
from tests.letters.conftest import CanaryServer
from tests.support.world import merge_world


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    executor = batch.make_pool(2)
    yield executor
    executor.shutdown(wait=True)


@pytest.fixture
def world(db: Session) -> dict[str, Any]:
    """The demo directory, the CMC profile, the appeal template and a heads-of-state segment."""
    return merge_world(db, "Heads of state (test)")


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    return reader, " ".join(text.split())


@pytest.fixture
def canary_server() -> Iterator[CanaryServer]:
    """A loopback HTTP server that records every request (as in the letters tests)."""
    with CanaryServer() as server:
        yield server
