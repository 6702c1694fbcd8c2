"""A worker killed in the middle of a batch of letters and restarted sends each letter exactly
once and skips none: a real worker process, a real SMTP server on loopback counting messages,
a kill (os._exit) at each step of a letter's journey."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from huey import SqliteHuey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.correspondence import lifecycle, sending, service, tasks
from app.db import make_engine
from app.models import Letter, Role
from app.queue import huey
from tests.correspondence.helpers import make_campaign, make_letter, person_with_email
from tests.factories import make_user
from tests.support import databases
from tests.support.live import live_env, live_worker, migrated_database
from tests.support.smtp import Mailbox, smtp_server
from tests.support.waiting import eventually

pytestmark = pytest.mark.live
BATCH = 8


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[dict[str, str], sessionmaker[Session], Mailbox]]:
    url = migrated_database(tmp_path, "letters_once")
    with smtp_server() as (smtp_url, box):
        (tmp_path / "data").mkdir()
        env = live_env(url, tmp_path / "data", DEMARCHE_SMTP_URL=smtp_url)
        engine = make_engine(url)
        original = huey.storage
        huey.storage = SqliteHuey(
            "demarche", filename=str(tmp_path / "data" / "queue.sqlite3"), utc=True
        ).storage
        try:
            yield env, sessionmaker(bind=engine, expire_on_commit=False), box
        finally:
            huey.storage = original
            engine.dispose()
    databases.drop_database(url)


def _queue_batch(maker: sessionmaker[Session]) -> list[int]:
    """A campaign's approved letters, sent as one action (as the API does)."""
    with maker() as session, session.begin():
        user = make_user(session, Role.coordinator)
        campaign = make_campaign(session, user)
        for n in range(BATCH):
            person = person_with_email(session, email=f"mission{n}@un.example")
            letter = make_letter(session, person, campaign_id=campaign.id)
            letter.reference = f"CMC/2010/BAT/{n:04d}"
            session.flush()
            lifecycle.approve(session, letter_id=letter.id, actor=user)
        outcome = sending.send_approved(session, actor=user, campaign_id=campaign.id)
    assert len(outcome.queued) == BATCH
    tasks.send_letters(outcome.queued)
    return outcome.queued


def _statuses(maker: sessionmaker[Session]) -> Counter[str]:
    with maker() as session:
        return Counter(service.display_status(x) for x in session.scalars(select(Letter)))


def _references(box: Mailbox) -> Counter[str]:
    with box.lock:
        return Counter(str(m["X-Demarche-Reference"]) for m in box.messages)


@pytest.mark.parametrize("stage", ["letter_queued", "claimed", "sending", "sent"])
def test_worker_killed_mid_batch_sends_each_letter_exactly_once(
    world: tuple[dict[str, str], sessionmaker[Session], Mailbox], tmp_path: Path, stage: str
) -> None:
    env, maker, box = world
    _queue_batch(maker)
    crashing = {**env, "DEMARCHE_TEST_CRASH_AT": f"{stage}:4"}
    with live_worker(crashing, tmp_path / "crash.log") as proc:
        proc.wait(timeout=180)
    assert proc.returncode == 137, (tmp_path / "crash.log").read_text()[-2000:]
    assert 0 < len(box.messages) < BATCH

    # The restarted worker sweeps on start: it finishes what the dead one left at any step.
    with live_worker(env, tmp_path / "restart.log"):
        eventually(lambda: _statuses(maker).get("sent", 0) == BATCH, 120, interval=0.3)

    counts = _references(box)
    assert sorted(counts) == [f"CMC/2010/BAT/{n:04d}" for n in range(BATCH)]  # none skipped
    assert max(counts.values()) == 1  # none twice
    with maker() as session:
        message_ids = {x.email_message_id for x in session.scalars(select(Letter))}
    assert message_ids == set(box.message_ids())
