"""The file-backed job store that contacts imports and bulk actions share: one worker claims a
job, only the lease holder writes to it, a job runs in one transaction, and the recovery sweep
settles a job whose worker died."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.platform import jobstore, leases


@pytest.fixture
def store() -> jobstore.JobStore:
    return jobstore.JobStore(
        f"jobstore-test-{secrets.token_hex(4)}",
        what="test job",
        missing="No such test job here.",
        unexpected="It broke.",
        requeued={"stage": "queued"},
    )


def _queued(store: jobstore.JobStore, **job: Any) -> str:
    token = secrets.token_hex(16)
    store.save(token, {"job": {"status": "queued", "done": 0, "total": 3, **job}})
    return token


def _held_by(store: jobstore.JobStore, token: str, lease: leases.Lease, status: str) -> None:
    record = store.load(token)
    record["job"].update(status=status, lease=lease.as_dict(), pending={"rows": 3})
    store.save(token, record)


def test_unknown_and_malformed_tokens_are_not_found(store: jobstore.JobStore) -> None:
    with pytest.raises(NotFound, match="No such test job here"):
        store.load(secrets.token_hex(16))
    with pytest.raises(NotFound, match=r"^No such test job\.$"):
        store.load("../etc/passwd")


def test_a_job_is_claimed_once_and_written_by_its_holder_only(store: jobstore.JobStore) -> None:
    token = _queued(store)
    claimed = store.claim(token)
    assert claimed is not None and claimed["job"]["status"] == "running"
    assert store.claim(token) is None  # a second worker finds it taken
    store.write(token, done=2)
    assert store.load(token)["job"]["done"] == 2
    _held_by(store, token, leases.Lease("elsewhere:1", leases.expiry(), 1), "running")
    with pytest.raises(leases.LeaseLost):
        store.write(token, done=3)


def test_run_keeps_the_result_and_releases_the_lease(store: jobstore.JobStore) -> None:
    token = _queued(store)
    assert store.run(token, lambda session, record: {"rows": 3}) == "done"
    record = store.load(token)
    assert record["result"] == {"rows": 3}
    assert record["job"]["status"] == "done" and record["job"]["done"] == 3
    assert record["job"]["lease"]["owner"] == ""
    assert store.run(token, lambda session, record: {}) == "done"  # not queued: its status


def test_run_fails_the_job_with_the_domain_error(store: jobstore.JobStore) -> None:
    def work(session: Session, record: dict[str, Any]) -> dict[str, Any]:
        raise InvalidInput("The file is empty.")

    token = _queued(store)
    assert store.run(token, work) == "failed"
    job = store.load(token)["job"]
    assert job["status"] == "failed" and job["error"] == "The file is empty."


def test_recovery_requeues_fails_or_finishes_jobs_whose_worker_died(
    store: jobstore.JobStore,
) -> None:
    dead = leases.Lease("elsewhere:1", leases.now_utc() - timedelta(seconds=1), 1)
    again = _queued(store)
    _held_by(store, again, dead, "running")
    spent = _queued(store)
    _held_by(
        store, spent, leases.Lease(dead.owner, dead.expires_at, leases.MAX_ATTEMPTS), "running"
    )
    committed = _queued(store)
    _held_by(store, committed, dead, "committing")
    live = _queued(store)
    _held_by(store, live, leases.Lease("elsewhere:2", leases.expiry(), 1), "running")
    resumed: list[str] = []

    counts, done = store.recover_stale(
        committed=lambda token, record: {"audit_id": 1} if token == committed else None,
        resume=lambda token, record: resumed.append(token),
    )

    assert counts == {"resumed": 1, "failed": 1, "done": 1} and done == [committed]
    assert resumed == [again]
    job = store.load(again)["job"]
    assert job["status"] == "queued" and job["stage"] == "queued" and "pending" not in job
    assert "stopped 3 times" in store.load(spent)["job"]["error"]
    assert store.load(committed)["result"] == {"rows": 3}  # what the worker had kept
    assert store.load(live)["job"]["status"] == "running"  # its worker is still on it


def test_a_stopping_worker_expires_only_its_own_leases(store: jobstore.JobStore) -> None:
    mine, theirs = _queued(store), _queued(store)
    store.claim(mine)
    _held_by(store, theirs, leases.Lease("elsewhere:2", leases.expiry(), 1), "running")
    assert store.abandon_held() == 1
    assert leases.Lease.from_dict(store.load(mine)["job"]["lease"]).stale()
    assert not leases.Lease.from_dict(store.load(theirs)["job"]["lease"]).stale()
