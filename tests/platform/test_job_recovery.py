"""Jobs survive their worker: a worker killed mid-merge or mid-import is replaced by one that
finishes the job (each letter rendered once, each row imported once), no process of the dead
worker is left, cancel and rerun work after a crash, and stopping `serve` stops its renderer.

Real processes: `demarche worker` and `demarche serve` on a database of their own, Huey on
SQLite storage, stopped at a chosen point of the job (DEMARCHE_TEST_HANG_AT, see
app.platform.faults) and then killed from here with SIGKILL to the worker process alone.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from huey import SqliteHuey
from pypdf import PdfReader
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

import app.db
from app.contacts import demo as contacts_demo
from app.contacts.imports import csvfile, uploads
from app.contacts.imports import tasks as import_tasks
from app.db import make_engine
from app.exports import jobs as export_jobs
from app.exports import service as exports_service
from app.mailmerge import service as merge_service
from app.mailmerge.schemas import MergeCreate
from app.models import (
    BatchStatus,
    ExportJob,
    ExportStatus,
    Letter,
    LetterTemplate,
    MergeBatch,
    Person,
    Role,
)
from app.platform import leases, recovery
from app.queue import huey
from tests.factories import login, make_user
from tests.support import databases
from tests.support.live import (
    free_port,
    live_env,
    live_worker,
    log_tail,
    migrated_database,
    process,
    run_cli,
    serve_args,
    wait_until_up,
)
from tests.support.waiting import eventually
from tests.support.world import HEADS_OF_STATE, merge_world

pytestmark = pytest.mark.database  # its own databases, made in the test

LETTERS = HEADS_OF_STATE
IMPORT_ROWS = 3_000


# ----------------------------------------------------------------------------- processes


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    start: int  # clock ticks after boot: tells a process from a later one with its pid
    state: str


def _processes() -> dict[int, Proc]:
    found: dict[int, Proc] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry)] = Proc(
            int(entry), int(fields[1]), int(fields[2]), int(fields[19]), fields[0]
        )
    return found


def _family(root: int) -> set[tuple[int, int]]:
    """Every descendant of ``root`` now, as (pid, start time)."""
    procs = _processes()
    family: set[tuple[int, int]] = set()
    parents = {root}
    while parents:
        children = {p for p in procs.values() if p.ppid in parents}
        family |= {(p.pid, p.start) for p in children}
        parents = {p.pid for p in children} - {pid for pid, _ in family if pid in parents}
    return family


def _left_over(root: int, family: set[tuple[int, int]]) -> list[Proc]:
    """Live processes that were ``root``'s descendants, are its children, or share its group."""
    return [
        p
        for p in _processes().values()
        if p.state not in ("Z", "X")
        and p.pid != root
        and ((p.pid, p.start) in family or p.ppid == root or p.pgid == root)
    ]


def _assert_all_gone(root: int, family: set[tuple[int, int]], timeout: float = 15) -> None:
    eventually(
        lambda: not _left_over(root, family),
        timeout,
        what=lambda: f"the processes of {root} to end: {_left_over(root, family)} are left",
    )


def _worker(env: dict[str, str], log: Path) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """`demarche worker` leading a process group of its own, so its group can be searched."""
    return live_worker(env, log, own_group=True)


def _wait_for(predicate: Callable[[], Any], what: str, log: Path, timeout: float = 180) -> None:
    eventually(predicate, timeout, what=lambda: f"{what}:\n{log_tail(log)}")


def _kill(proc: subprocess.Popen[bytes]) -> set[tuple[int, int]]:
    """SIGKILL to the worker process alone; returns the descendants it had."""
    family = _family(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    return family


def _dead_owner() -> str:
    """The identity of a process of this machine that has ended."""
    probe = subprocess.Popen(["true"])
    probe.wait()
    return f"{socket.gethostname()}:{probe.pid}"


# ----------------------------------------------------------------------------- live world


@dataclass
class Live:
    env: dict[str, str]
    data: Path
    tmp: Path
    maker: sessionmaker[Session]

    def session(self) -> Session:
        return self.maker()


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """A migrated database and data directory of their own, the queue on SQLite storage; this
    process's transactions and enqueued jobs go there too."""
    url = migrated_database(tmp_path, "recovery")
    data = tmp_path / "data"
    data.mkdir()
    env = live_env(url, data)
    engine = make_engine(url)
    maker = sessionmaker(bind=engine, expire_on_commit=False)
    monkeypatch.setattr(app.db, "session_factory", lambda: maker)
    monkeypatch.setattr(uploads.STORE, "directory", lambda: _mkdir(data / "files" / "imports"))
    storage = SqliteHuey("demarche", filename=str(data / "queue.sqlite3"), utc=True).storage
    monkeypatch.setattr(huey, "storage", storage)
    try:
        yield Live(env, data, tmp_path, maker)
    finally:
        engine.dispose()
        databases.drop_database(url)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _create_merge(live: Live) -> int:
    """The demo directory's six heads of state in Central Asia, one letter each."""
    with live.session() as session, session.begin():
        world = merge_world(session, "Heads of state (recovery)")
        data = {
            "template_id": world["template"].id,
            "source": {"kind": "segment", "segment_id": world["segment"].id},
            "treaty": "CCM",
            "letter_date": date(2010, 3, 25),
        }
        batch = merge_service.create_merge(
            session, data=MergeCreate.model_validate(data), actor=None
        )
        assert batch.total == LETTERS
        return batch.id  # the render job is queued when this commits


def _batch(live: Live, batch_id: int) -> MergeBatch:
    with live.session() as session:
        batch = session.get(MergeBatch, batch_id)
        assert batch is not None
        return batch


def _letters(live: Live, batch_id: int) -> list[Letter]:
    with live.session() as session:
        return list(
            session.scalars(select(Letter).where(Letter.batch_id == batch_id).order_by(Letter.id))
        )


def _recorded(live: Live, batch_id: int) -> int:
    return sum(1 for x in _letters(live, batch_id) if x.pdf_path)


def _files(live: Live, letters: list[Letter]) -> dict[int, tuple[int, int]]:
    """Each rendered letter's file, as (inode, modification time): a render writes it anew."""
    out = {}
    for letter in letters:
        stat = (live.data / "files" / letter.pdf_path).stat()
        out[letter.id] = (stat.st_ino, stat.st_mtime_ns)
    return out


def _crash_mid_merge(live: Live, log: Path, how: signal.Signals) -> tuple[int, list[Letter]]:
    """A merge whose worker stops after two letters: killed (SIGKILL) or stopped (SIGTERM);
    no process of that worker outlives it. Returns the batch and the letters it recorded."""
    batch_id = _create_merge(live)
    with _worker({**live.env, "DEMARCHE_TEST_HANG_AT": "merge.letter:2"}, log) as proc:
        _wait_for(lambda: _recorded(live, batch_id) >= 2, "two letters", log)
        family = _family(proc.pid)
        assert family, "the worker had started its renderer processes"
        if how == signal.SIGKILL:
            _kill(proc)
        else:
            os.kill(proc.pid, how)
            assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
        _assert_all_gone(proc.pid, family)
    batch = _batch(live, batch_id)
    assert batch.status == BatchStatus.running  # as the stopped worker left it
    assert batch.lease_owner.endswith(f":{proc.pid}") and batch.attempts == 1
    done = [x for x in _letters(live, batch_id) if x.pdf_path]
    assert len(done) == 2
    return batch_id, done


# ----------------------------------------------------------------------------- live tests


@pytest.mark.live
def test_a_merge_whose_worker_is_killed_is_finished_by_the_next_one_each_letter_once(
    live: Live,
) -> None:
    batch_id, before = _crash_mid_merge(live, live.tmp / "killed.log", signal.SIGKILL)
    kept = _files(live, before)
    log = live.tmp / "second.log"
    with _worker(live.env, log) as proc:
        # the worker's start-up sweep finds the dead worker's merge and resumes it
        _wait_for(lambda: _batch(live, batch_id).status == BatchStatus.done, "the merge", log)
        family = _family(proc.pid)
        os.kill(proc.pid, signal.SIGINT)  # a graceful stop
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
        _assert_all_gone(proc.pid, family)

    batch = _batch(live, batch_id)
    letters = _letters(live, batch_id)
    assert (batch.rendered, batch.failed, batch.total) == (LETTERS, 0, LETTERS)
    assert batch.attempts == 2 and batch.lease_owner == "" and batch.lease_expires_at is None
    # the second worker rendered only the four letters the first had not recorded
    assert batch.report["resumes"] == [{"attempt": 2, "done": 2}]
    assert _files(live, before) == kept  # the first two were not rendered again
    assert all(x.pdf_path and x.pages >= 1 for x in letters)
    assert len({x.pdf_path for x in letters}) == LETTERS
    root = live.data / "files"
    assert len(list((root / before[0].pdf_path).parent.iterdir())) == LETTERS
    combined = PdfReader(root / batch.combined_pdf_path)
    assert len(combined.pages) == sum(x.pages for x in letters)
    with zipfile.ZipFile(root / batch.zip_path) as archive:
        assert len(archive.namelist()) == LETTERS


@pytest.mark.live
def test_cancel_and_rerun_work_after_the_worker_stopped_mid_merge(live: Live) -> None:
    batch_id, before = _crash_mid_merge(live, live.tmp / "stopped.log", signal.SIGTERM)
    # SIGTERM: the worker gave its lease back on the way out
    lease = _batch(live, batch_id).lease_expires_at
    assert lease is not None and lease <= datetime.now(UTC)
    with live.session() as session, session.begin():
        batch = merge_service.request_cancel(session, batch_id=batch_id, actor=None)
        assert batch.status == BatchStatus.cancelled  # at once: no worker is rendering it
        assert batch.rendered == 2
    with live.session() as session, session.begin():
        batch = merge_service.rerun(session, batch_id=batch_id, actor=None)
        assert batch.status == BatchStatus.queued and batch.attempts == 0
    log = live.tmp / "rerun.log"
    with _worker(live.env, log):
        _wait_for(lambda: _batch(live, batch_id).status == BatchStatus.done, "the rerun", log)
    batch = _batch(live, batch_id)
    assert (batch.rendered, batch.failed) == (LETTERS, 0)
    assert "resumes" not in batch.report and batch.attempts == 1
    assert all(x.pdf_path for x in _letters(live, batch_id))


def _import_file(live: Live) -> tuple[str, int]:
    """A stored upload of IMPORT_ROWS people, queued as a background import."""
    with live.session() as session, session.begin():
        user_id = make_user(session, Role.coordinator).id
    rows = [[f"Given{n}", f"Family{n}", f"person{n}@recovery.example"] for n in range(IMPORT_ROWS)]
    data = csvfile.write_csv(["First name", "Last name", "Email"], rows).encode()
    token = os.urandom(16).hex()
    uploads.save_data(token, data)
    job = {
        "status": "queued",
        "stage": "queued",
        "done": 0,
        "total": IMPORT_ROWS,
        "options": {"tags": ["Recovery import"]},
    }
    meta = {"user_id": user_id, "filename": "people.csv", "total_rows": IMPORT_ROWS, "job": job}
    uploads.save_meta(token, meta)
    import_tasks.import_contacts(token, user_id)
    return token, user_id


def _people(live: Live) -> list[str]:
    with live.session() as session:
        return list(session.scalars(select(Person.family_name)))


@pytest.mark.live
def test_an_import_whose_worker_is_killed_is_finished_by_the_next_one_each_row_once(
    live: Live,
) -> None:
    token, _ = _import_file(live)
    log = live.tmp / "killed.log"
    with _worker({**live.env, "DEMARCHE_TEST_HANG_AT": "import.progress:2"}, log) as proc:
        # the second progress report: rows checked, or all of them and about to write
        _wait_for(lambda: uploads.load_meta(token)["job"].get("done"), "rows checked", log)
        family = _kill(proc)
        _assert_all_gone(proc.pid, family)
    job = uploads.load_meta(token)["job"]
    assert job["status"] == "running" and job["done"] > 0
    assert _people(live) == []  # one transaction: nothing of it was written
    log = live.tmp / "second.log"
    with _worker(live.env, log):
        _wait_for(lambda: "result" in uploads.load_meta(token), "the import", log)
    meta = uploads.load_meta(token)
    assert meta["job"]["status"] == "done" and meta["job"]["lease"]["attempts"] == 2
    assert meta["result"]["imported"] and meta["result"]["created"]["people"] == IMPORT_ROWS
    names = _people(live)
    assert len(names) == len(set(names)) == IMPORT_ROWS


@pytest.mark.live
def test_an_export_whose_worker_is_killed_is_written_whole_by_the_next_one(live: Live) -> None:
    from app.exports import tasks as export_tasks
    from app.exports.schemas import ExportRequest

    with live.session() as session, session.begin():
        contacts_demo.load(session)
        user = make_user(session, Role.coordinator)
        req = ExportRequest.model_validate(
            {"source": "search", "format": "csv", "background": True}
        )
        job = exports_service.create_job(session, req=req, user=user)
        job_id = job.id
    export_tasks.run_export(job_id)
    log = live.tmp / "killed.log"
    with _worker({**live.env, "DEMARCHE_TEST_HANG_AT": "export.started:1"}, log) as proc:

        def started() -> bool:
            with live.session() as session:
                return session.get_one(ExportJob, job_id).status == ExportStatus.running

        _wait_for(started, "the export", log)
        family = _kill(proc)
        _assert_all_gone(proc.pid, family)
    log = live.tmp / "second.log"
    with _worker(live.env, log):

        def done() -> bool:
            with live.session() as session:
                return session.get_one(ExportJob, job_id).status == ExportStatus.done

        _wait_for(done, "the export", log)
    with live.session() as session:
        job = session.get_one(ExportJob, job_id)
        assert job.attempts == 2 and job.exported > 0
        path = live.data / "files" / "exports" / job.file_path
    text = path.read_text(encoding="utf-8-sig")
    assert len(text.strip().splitlines()) == job.exported + 1  # the header and every contact
    assert not list(path.parent.glob("*.part"))


@pytest.mark.live
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_serve_stopped_gracefully_leaves_no_renderer(live: Live, how: signal.Signals) -> None:
    run_cli(live.env, "user", "add", "coord@example.org", "--role", "coordinator",
            "--password", "a-long-password-123")  # fmt: skip
    token = run_cli(live.env, "token", "create", "coord@example.org").stdout.split()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    log = live.tmp / "serve.log"
    with process(serve_args(port), live.env, log, own_group=True) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, log, proc)
        templates = httpx.get(base + "/api/v1/templates", headers=headers, timeout=30)
        template_id = templates.json()["items"][0]["id"]
        preview = httpx.post(
            f"{base}/api/v1/templates/{template_id}/preview",
            headers=headers,
            json={"language": "en", "format": "pdf"},
            timeout=120,
        )
        assert preview.status_code == 200, preview.text
        assert preview.content.startswith(b"%PDF")
        family = _family(proc.pid)
        assert family, "the server started its renderer process"
        os.kill(proc.pid, how)
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
        _assert_all_gone(proc.pid, family)


# ----------------------------------------------------------------------------- in-process


def test_a_lease_is_stale_when_expired_or_its_process_is_gone() -> None:
    now = datetime.now(UTC)
    later = now + timedelta(minutes=1)
    mine = leases.identity()
    assert not leases.is_stale(mine, later, now)
    assert leases.is_stale(mine, now - timedelta(seconds=1), now)  # expired
    assert leases.is_stale(_dead_owner(), later, now)  # its process ended
    assert not leases.is_stale("elsewhere.example:1", later, now)  # another machine: trusted
    assert leases.is_stale("elsewhere.example:1", now, now)
    assert leases.is_stale("", later, now) and leases.is_stale(mine, None, now)
    lease = leases.Lease(_dead_owner(), later, 2)
    assert leases.Lease.from_dict(lease.as_dict()) == lease
    assert lease.claimed().mine() and lease.claimed().attempts == 3
    assert lease.claimed().exhausted() and not lease.exhausted()


def test_a_row_lease_is_renewed_by_its_holder_only(db: Session) -> None:
    job = _export_job(db, status=ExportStatus.queued)
    lease = leases.RowLease(ExportJob, job.id)
    assert lease.claim(ExportJob.status == ExportStatus.queued, status=ExportStatus.running)
    assert not lease.claim(ExportJob.status == ExportStatus.queued)  # claimed once
    db.refresh(job)
    assert (job.lease_owner, job.attempts) == (leases.identity(), 1)
    assert lease.renew(processed=10)
    heartbeat = lease.heartbeat(every=0)
    heartbeat.beat()
    # another worker takes the job over: this one's renewals fail, its heartbeat stops the job
    db.execute(update(ExportJob).where(ExportJob.id == job.id).values(lease_owner="x:1"))
    assert not lease.renew(processed=20)
    with pytest.raises(leases.LeaseLost):
        heartbeat.beat()
    db.refresh(job)
    assert job.processed == 10


def _export_job(db: Session, **values: Any) -> ExportJob:
    user = make_user(db, Role.coordinator)
    job = ExportJob(owner_id=user.id, format="csv", request={"format": "csv"}, **values)
    db.add(job)
    db.flush()
    return job


def test_the_sweep_resumes_an_export_then_fails_it_with_the_reason(
    db: Session, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[int] = []
    monkeypatch.setattr("app.exports.tasks.run_export", lambda job_id: queued.append(job_id))
    dead = _dead_owner()
    far = datetime.now(UTC) + timedelta(minutes=5)
    resumable = _export_job(
        db, status=ExportStatus.running, lease_owner=dead, lease_expires_at=far, attempts=1
    )
    exhausted = _export_job(
        db, status=ExportStatus.running, lease_owner=dead, lease_expires_at=far, attempts=3
    )
    alive = _export_job(
        db,
        status=ExportStatus.running,
        lease_owner=leases.identity(),
        lease_expires_at=far,
        attempts=1,
    )
    partial = export_jobs.exports_dir() / f"{exhausted.id}-0123456789abcdef.csv.part"
    partial.write_bytes(b"half a file")
    counts = export_jobs.recover_stale(db)
    assert counts == {"resumed": 1, "failed": 1}
    assert export_jobs.recover_stale(db) == {"resumed": 0, "failed": 0}  # settled once
    for job in (resumable, exhausted, alive):
        db.refresh(job)
    assert resumable.status == ExportStatus.queued and resumable.lease_owner == ""
    assert exhausted.status == ExportStatus.failed and "stopped 3 times" in exhausted.error
    assert alive.status == ExportStatus.running  # its worker (this process) is alive
    assert not partial.exists()
    db.commit()  # the resumed job is queued once its new state is committed
    assert queued == [resumable.id]


def test_a_merge_whose_worker_died_is_cancelled_at_once_or_failed_after_three_tries(
    db: Session, client: Any
) -> None:
    template_id = db.scalar(select(func.min(LetterTemplate.id)))
    dead = _dead_owner()
    far = datetime.now(UTC) + timedelta(minutes=5)

    def running(attempts: int) -> MergeBatch:
        batch = MergeBatch(
            name="Appeal",
            template_id=template_id,
            status=BatchStatus.running,
            lease_owner=dead,
            lease_expires_at=far,
            attempts=attempts,
        )
        db.add(batch)
        db.flush()
        return batch

    to_cancel = running(1)
    merge_service.request_cancel(db, batch_id=to_cancel.id, actor=None)
    assert to_cancel.status == BatchStatus.cancelled and to_cancel.lease_owner == ""
    exhausted = running(3)
    exhausted.report = {"resumes": [{"attempt": 2, "done": 4}, {"attempt": 3, "done": 5}]}
    db.flush()
    assert merge_service.recover_stale(db) == {"resumed": 0, "failed": 1, "cancelled": 0}
    db.refresh(exhausted)
    assert exhausted.status == BatchStatus.failed
    login(client, make_user(db, Role.coordinator))
    page = client.get(f"/merges/{exhausted.id}/progress")
    assert page.status_code == 200
    assert "The merge stopped: the worker running this merge stopped 3 times" in page.text
    assert "A worker stopped after 5 letters; another took the merge over" in page.text


def test_the_recovery_sweep_covers_every_kind_of_job(live: Live) -> None:
    assert recovery.sweep() == {
        "merges": {"resumed": 0, "failed": 0, "cancelled": 0},
        "exports": {"resumed": 0, "failed": 0},
        "imports": {"resumed": 0, "failed": 0, "done": 0},
        "bulk": {"resumed": 0, "failed": 0, "done": 0},
    }
    token, user_id = _import_file(live)
    meta = uploads.load_meta(token)
    meta["job"].update(
        status="running",
        lease=leases.Lease(_dead_owner(), datetime.now(UTC) + timedelta(minutes=5), 3).as_dict(),
    )
    uploads.save_meta(token, meta)
    counts = recovery.sweep()
    assert counts["imports"] == {"resumed": 0, "failed": 1, "done": 0}
    job = uploads.load_meta(token)["job"]
    assert job["status"] == "failed" and "stopped 3 times" in job["error"]
    assert _people(live) == [] and user_id
