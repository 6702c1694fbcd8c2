"""The task queue: Huey on SQLite by default, on Redis when DEMARCHE_REDIS_URL is set.

Only the instance: the domains declare their tasks on it, and the worker learns them all from
app.jobs. Work is queued after a commit with app.platform.queueing.enqueue_after_commit."""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey

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
