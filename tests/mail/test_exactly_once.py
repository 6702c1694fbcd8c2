"""A worker killed in the middle of a batch and restarted sends every email exactly once.

Real processes: a `demarche worker` with Huey on SQLite storage, a real SMTP server on loopback
that records every message, and a kill (os._exit) at each stage of a delivery."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from huey import SqliteHuey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine
from app.mail import service, tasks
from app.models import OutboundEmail, OutboxStatus
from app.queue import huey
from tests.support import databases
from tests.support.live import live_env, live_worker, migrated_database
from tests.support.smtp import Mailbox, smtp_server
from tests.support.waiting import eventually

pytestmark = pytest.mark.live
BATCH = 12


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[dict[str, str], sessionmaker[Session], Mailbox]]:
    url = migrated_database(tmp_path, "outbox")
    with smtp_server() as (smtp_url, box):
        (tmp_path / "data").mkdir()
        env = live_env(url, tmp_path / "data", DEMARCHE_SMTP_URL=smtp_url)
        engine = make_engine(url)
        original = huey.storage
        huey.storage = SqliteHuey(
            "demarche", filename=str(tmp_path / "data" / "queue.sqlite3"), utc=True
        ).storage
        try:
            yield env, sessionmaker(bind=engine), box
        finally:
            huey.storage = original
            engine.dispose()
    databases.drop_database(url)


def _enqueue_batch(maker: sessionmaker[Session]) -> list[int]:
    with maker() as session, session.begin():
        ids = []
        for n in range(BATCH):
            msg = service.build_message(
                to=[f"mission{n}@un.example"], subject=f"Letter {n}", text=f"Letter number {n}"
            )
            ids.append(service.enqueue(session, msg, subject_type="test", subject_id=n).id)
    for outbox_id in ids:
        tasks.deliver_email(outbox_id)
    return ids


def _statuses(maker: sessionmaker[Session]) -> Counter[str]:
    with maker() as session:
        return Counter(s.value for s in session.scalars(select(OutboundEmail.status)))


@pytest.mark.parametrize("stage", ["claimed", "sending", "sent"])
def test_killed_worker_restarted_sends_each_email_exactly_once(
    world: tuple[dict[str, str], sessionmaker[Session], Mailbox], tmp_path: Path, stage: str
) -> None:
    env, maker, box = world
    _enqueue_batch(maker)
    crashing = {**env, "DEMARCHE_TEST_CRASH_AT": f"{stage}:5"}
    with live_worker(crashing, tmp_path / "crash.log") as proc:
        proc.wait(timeout=120)
    assert proc.returncode == 137, (tmp_path / "crash.log").read_text()[-2000:]
    delivered_before_crash = len(box.messages)
    assert 0 < delivered_before_crash < BATCH

    with live_worker(env, tmp_path / "restart.log"):
        # The restarted worker recovers the interrupted email; the sweep sends what the dead
        # worker left in its queue.
        with maker() as session, session.begin():
            ids = service.due(session)
        for outbox_id in ids:
            tasks.deliver_email(outbox_id)
        eventually(lambda: _statuses(maker).get("sent", 0) == BATCH, 60, interval=0.2)

    counts = Counter(box.message_ids())
    assert len(counts) == BATCH
    assert max(counts.values()) == 1
    assert _statuses(maker) == Counter({"sent": BATCH})


def test_worker_killed_while_the_server_accepts_flags_one_uncertain_email(
    world: tuple[dict[str, str], sessionmaker[Session], Mailbox], tmp_path: Path
) -> None:
    env, maker, box = world
    _enqueue_batch(maker)
    with live_worker({**env, "DEMARCHE_TEST_CRASH_AT": "committing:3"}, tmp_path / "c.log") as p:
        p.wait(timeout=120)
    with live_worker(env, tmp_path / "restart.log"):
        with maker() as session, session.begin():
            ids = service.due(session)
        for outbox_id in ids:
            tasks.deliver_email(outbox_id)
        eventually(lambda: _statuses(maker).get("sent", 0) == BATCH - 1, 60, interval=0.2)
    assert _statuses(maker) == Counter({"sent": BATCH - 1, "uncertain": 1})
    counts = Counter(box.message_ids())
    assert max(counts.values()) == 1  # nothing sent twice
    with maker() as session, session.begin():
        uncertain = session.scalar(
            select(OutboundEmail).where(OutboundEmail.status == OutboxStatus.uncertain)
        )
        assert uncertain is not None
        # Killed before the final dot reached the server: it was not delivered; send it again.
        assert uncertain.message_id not in counts
        service.resolve_uncertain(session, outbox_id=uncertain.id, delivered=False)
        retry_id, retry_message_id = uncertain.id, uncertain.message_id
    with live_worker(env, tmp_path / "resend.log"):
        tasks.deliver_email(retry_id)
        eventually(lambda: _statuses(maker).get("sent", 0) == BATCH, 60, interval=0.2)
    assert Counter(box.message_ids())[retry_message_id] == 1
