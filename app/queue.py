"""The task queue: Huey on SQLite by default, on Redis when DEMARCHE_REDIS_URL is set.

Only the instance: the domains declare their tasks on it, and the worker learns them all from
app.jobs. Work is queued after a commit with app.platform.queueing.enqueue_after_commit."""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from app.config import Settings, get_settings

QUEUE_NAME = "demarche"


def make_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey(QUEUE_NAME, url=settings.redis_url, utc=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(settings.queue_path), utc=True)


huey: Huey = make_huey(get_settings())


def storage_kind() -> str:
    return "redis" if isinstance(huey, RedisHuey) else "sqlite"


# An idle consumer polls its queue less and less often, by default up to every 10 s: a merge
# or an email queued on a quiet afternoon waited that long before anything happened. Polling
# the SQLite queue at most a second apart costs next to nothing (a Redis queue blocks on its
# list instead of polling).
IDLE_POLL_SECONDS = 1.0


def make_consumer(*, workers: int, worker_type: str) -> Consumer:
    """The consumer `demarche worker` runs: periodic tasks on, dead workers replaced."""
    return huey.create_consumer(
        workers=workers,
        worker_type=worker_type,
        periodic=True,
        check_worker_health=True,
        max_delay=IDLE_POLL_SECONDS,
    )
