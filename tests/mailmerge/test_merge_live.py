"""The render job through a real Huey consumer, and reference numbers drawn concurrently."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.db import make_engine
from app.mailmerge import references
from app.models import BatchStatus, Letter, MergeBatch, ReferenceCounter
from tests.support import databases
from tests.support.live import live_env, live_worker, log_tail, migrated_database, run_cli
from tests.support.waiting import eventually


@pytest.fixture
def live_database(tmp_path: Path) -> Iterator[str]:
    url = migrated_database(tmp_path, "merge_queue")
    yield url
    databases.drop_database(url)


@pytest.mark.live
def test_demo_merge_renders_through_a_real_worker(live_database: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = live_env(live_database, data_dir)
    run_cli(env, "demo")  # drafts the demo merge and queues its render job
    run_cli(env, "demo")  # idempotent: nothing new
    engine = make_engine(live_database)
    log = tmp_path / "worker.log"
    try:
        with live_worker(env, log):

            def rendered() -> bool:
                with Session(engine) as session:
                    batches = session.scalars(select(MergeBatch)).all()
                    assert len(batches) == 1
                    return batches[0].status == BatchStatus.done

            eventually(rendered, 240, interval=1, what=lambda: f"the merge: {log_tail(log)}")
        with Session(engine) as session:
            batch = session.scalars(select(MergeBatch)).one()
            assert batch.status == BatchStatus.done, log.read_text()[-3000:]
            assert (batch.rendered, batch.failed) == (batch.total, 0)
            letters = session.scalars(select(Letter).order_by(Letter.reference)).all()
            rahmon = next(x for x in letters if x.reference == "CMC/2010/TJK/0001")
            pdf = PdfReader(data_dir / "files" / rahmon.pdf_path)
            text = " ".join((pdf.pages[0].extract_text() or "").split())
            assert "Э.Ш. Рахмону" in text and "CMC/2010/TJK/0001" in text
            assert rahmon.context["milestone"]["city"] == "Вьентьян"
            assert "Коалиция против кассетных боеприпасов" in text  # the demo profile, in Russian
            assert (data_dir / "files" / batch.combined_pdf_path).is_file()
    finally:
        engine.dispose()


def _draw(engine: Engine, key: str, out: list[int], errors: list[BaseException]) -> None:
    try:
        for _ in range(5):
            with Session(engine) as session:
                first = references.next_numbers(session, key, 3)
                session.commit()
            out.extend(range(first, first + 3))
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


def test_reference_numbers_are_unique_under_concurrency(engine: Engine) -> None:
    """Separate connections and transactions, as two merges started at once would use."""
    key = f"TEST/{uuid.uuid4().hex[:8]}/#"
    numbers: list[int] = []
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_draw, args=(engine, key, numbers, errors)) for _ in range(4)
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert sorted(numbers) == list(range(1, 61))
    finally:
        with Session(engine) as session:
            session.execute(delete(ReferenceCounter).where(ReferenceCounter.prefix == key))
            session.commit()
