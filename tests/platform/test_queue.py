"""A real job through a real consumer process, on SQLite storage and on Redis storage."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from huey import RedisHuey, SqliteHuey
from sqlalchemy import select

from app.db import make_engine
from app.models import AuditEntry
from app.platform import tasks
from app.queue import huey, make_consumer
from tests.support import databases
from tests.support.live import live_env, live_worker, migrated_database

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def live_database(tmp_path: Path) -> Iterator[str]:
    url = migrated_database(tmp_path, "queue")
    yield url
    databases.drop_database(url)


def _run_heartbeat_through_worker(
    url: str, data_dir: Path, storage: SqliteHuey | RedisHuey, log: Path, **env_extra: str
) -> None:
    env = live_env(url, data_dir, **env_extra)
    original_storage = huey.storage
    huey.storage = storage.storage
    note = uuid.uuid4().hex
    try:
        with live_worker(env, log):
            result = tasks.heartbeat(note)
            entry_id = result.get(blocking=True, timeout=60)
    finally:
        huey.storage = original_storage
    assert entry_id, log.read_text()
    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.execute(select(AuditEntry).where(AuditEntry.id == entry_id)).one()
    engine.dispose()
    assert row.action == "queue.heartbeat"
    assert row.details["note"] == note


@pytest.mark.live
def test_job_runs_on_sqlite_storage(live_database: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    storage = SqliteHuey("demarche", filename=str(data_dir / "queue.sqlite3"), utc=True)
    _run_heartbeat_through_worker(live_database, data_dir, storage, tmp_path / "worker.log")


@pytest.mark.live
def test_job_runs_on_redis_storage(live_database: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # Redis is part of the test environment: fail loudly when it is missing.
    client.flushdb()
    storage = RedisHuey("demarche", url=REDIS_URL, utc=True)
    _run_heartbeat_through_worker(
        live_database, tmp_path, storage, tmp_path / "worker.log", DEMARCHE_REDIS_URL=REDIS_URL
    )
    client.flushdb()


def test_an_idle_worker_looks_at_its_queue_at_least_every_second() -> None:
    """Huey's consumer backs off to a poll every 10 s when idle: the first job after a quiet spell
    would wait that long."""
    consumer = make_consumer(workers=2, worker_type="thread")
    schedulers = [worker for worker, _ in consumer.worker_threads]
    assert schedulers and all(worker.max_delay <= 1.0 for worker in schedulers)
