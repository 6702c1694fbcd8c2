"""Every SQLAlchemy hook that applies to all sessions, installed in one place when a process starts.

``install()`` is called by each entry point before it opens a session: ``create_app()`` (the web
server), the ``demarche`` command (every command, the worker included), the test fixtures and the
benchmarks. Nothing registers a session hook when its module is imported, so what runs on a flush
or a commit is the list below, and a module is imported only for what it does.

Elsewhere: each engine gets its connection hooks (SQLite pragmas, ``BEGIN IMMEDIATE``) where it is
made, in ``app.db.make_engine``; a session that queues a job after its commit gets that hook
itself, from ``app.platform.queueing.enqueue_after_commit``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.correspondence import lifecycle as correspondence
from app.treaties import service as treaties

SESSION_HOOKS: tuple[tuple[str, Callable[..., Any]], ...] = (
    # Editing an approved letter's text withdraws the approval, whichever module edits it.
    ("before_flush", correspondence.edits_withdraw_approval),
    # A session's cached treaty pictures are forgotten when it writes or its transaction ends.
    ("before_flush", treaties.forget_on_flush),
    ("do_orm_execute", treaties.forget_on_write),
    ("after_transaction_end", treaties.forget_on_end),
)


def install() -> None:
    """Listen with every hook on every session; calling it again changes nothing."""
    for name, hook in SESSION_HOOKS:
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
