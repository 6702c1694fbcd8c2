"""What the import contracts (pyproject.toml, `lint-imports`) cannot see: a job queued after a
commit is queued once on commit and never on rollback, the worker's list of task modules holds
every task, and the domain errors load no web framework."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from huey.storage import MemoryStorage
from sqlalchemy.orm import Session

import app.db
from app.config import PROJECT_ROOT
from app.platform import tasks
from app.platform.queueing import enqueue_after_commit
from app.queue import huey


def test_a_job_is_queued_once_when_the_transaction_commits(db: Session) -> None:
    queued: list[int] = []
    enqueue_after_commit(db, queued.append, 1)
    db.flush()
    assert queued == []
    db.commit()
    assert queued == [1]
    db.commit()
    assert queued == [1]


def test_a_job_is_never_queued_when_the_transaction_rolls_back(db: Session) -> None:
    queued: list[int] = []
    enqueue_after_commit(db, queued.append, 1)
    db.rollback()
    db.commit()
    assert queued == []


def test_a_rolled_back_savepoint_drops_only_its_own_jobs(db: Session) -> None:
    queued: list[str] = []
    db.connection()
    enqueue_after_commit(db, queued.append, "before")
    dropped = db.begin_nested()
    enqueue_after_commit(db, queued.append, "in the rolled-back savepoint")
    dropped.rollback()
    kept = db.begin_nested()
    enqueue_after_commit(db, queued.append, "in the released savepoint")
    kept.commit()
    assert queued == []
    db.commit()
    assert queued == ["before", "in the released savepoint"]


def test_a_session_closed_without_committing_forgets_its_jobs(connection: object) -> None:
    queued: list[int] = []
    session = app.db.session_factory()()
    session.connection()
    enqueue_after_commit(session, queued.append, 1)
    session.close()
    session.commit()  # the session used again: a new transaction
    session.close()
    assert queued == []


def test_a_queue_failure_after_the_commit_is_logged_and_the_rest_still_queued(
    db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    queued: list[int] = []

    def broken(_: int) -> None:
        raise ConnectionError("queue unreachable")

    enqueue_after_commit(db, broken, 1)
    enqueue_after_commit(db, queued.append, 2)
    with caplog.at_level(logging.ERROR, "app.platform.queueing"):
        db.commit()
    assert queued == [2]
    assert "could not be queued" in caplog.text


def test_a_real_task_reaches_the_queue_only_after_the_commit(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(huey, "storage", MemoryStorage("layers-test"))
    enqueue_after_commit(db, tasks.heartbeat, "after commit")
    assert huey.pending_count() == 0
    db.commit()
    assert [t.args for t in huey.pending()] == [("after commit",)]


def _run(code: str) -> object:
    """``code`` in a fresh interpreter (nothing imported yet); what it prints, as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_worker_list_of_task_modules_loads_every_task() -> None:
    found = _run(
        """
import importlib, json, pkgutil
import app
from app.queue import huey
import app.jobs
listed = sorted(huey._registry._registry)
for module in pkgutil.walk_packages(app.__path__, "app."):
    importlib.import_module(module.name)
print(json.dumps([listed, sorted(huey._registry._registry)]))
"""
    )
    assert isinstance(found, list) and len(found) == 2
    listed, everything = found
    assert isinstance(listed, list) and listed, "app.jobs registers no task"
    assert listed == everything, "task modules missing from app.jobs"


def test_the_domain_errors_load_no_web_framework() -> None:
    loaded = _run("import json, sys; import app.errors; print(json.dumps(sorted(sys.modules)))")
    assert isinstance(loaded, list) and "app.errors" in loaded
    assert [m for m in loaded if m.split(".")[0] in {"fastapi", "starlette", "jinja2"}] == []
