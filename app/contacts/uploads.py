"""Uploaded CSV files between the steps of an import, and imports run as background jobs.

A file and a small JSON record (owner, file name, chosen options, progress, result) are kept
under ``<data dir>/files/imports/`` by a random token; the web process and the worker share it."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any

from app.config import get_settings
from app.contacts import importing
from app.db import transaction
from app.errors import DomainError, NotFound
from app.models import User

log = logging.getLogger(__name__)
TOKEN = re.compile(r"^[0-9a-f]{32}$")
KEEP_SECONDS = 24 * 3600
# Files with more rows than this are imported by the worker, with progress shown.
BACKGROUND_ROWS = 5_000


def directory() -> Path:
    path = get_settings().files_dir / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_meta(token: str) -> dict[str, Any]:
    if not TOKEN.match(token):
        raise NotFound("No such import.")
    path = directory() / f"{token}.json"
    if not path.exists():
        raise NotFound("No such import (uploads that are not imported are kept for a day).")
    meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return meta


def save_meta(token: str, meta: dict[str, Any]) -> None:
    path = directory() / f"{token}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    tmp.replace(path)  # readers never see half a file


def save_data(token: str, data: bytes) -> None:
    (directory() / f"{token}.csv").write_bytes(data)


def data(token: str) -> bytes:
    path = directory() / f"{token}.csv"
    if not path.exists():
        raise NotFound("This upload has been imported or has expired; upload the file again.")
    return path.read_bytes()


def forget(token: str) -> None:
    (directory() / f"{token}.csv").unlink(missing_ok=True)


def forget_old(max_age: float = KEEP_SECONDS) -> None:
    """Uploads that were never imported are kept for a day."""
    cutoff = time.time() - max_age
    for path in directory().iterdir():
        if path.suffix in (".csv", ".json", ".tmp") and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def run_stored(token: str, user_id: int) -> str:
    """Import a stored upload with the options saved in its record (the worker's job)."""
    meta = load_meta(token)
    options = importing.ImportOptions.model_validate(meta["job"]["options"])
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5 and stage == "checking":
            return
        last[0] = now
        meta["job"].update(status="running", stage=stage, done=done, total=total)
        save_meta(token, meta)

    try:
        with transaction() as session:
            actor = session.get(User, user_id)
            report = importing.run(
                session,
                data=data(token),
                filename=meta["filename"],
                options=options,
                dry_run=False,
                actor=actor,
                progress=progress,
            )
            meta["job"].update(status="committing")
            save_meta(token, meta)
    except DomainError as exc:
        meta["job"].update(status="failed", error=exc.detail)
        save_meta(token, meta)
        return "failed"
    except Exception:
        log.exception("contacts import %s failed", token)
        meta["job"].update(
            status="failed",
            error="The import failed on an unexpected error and nothing was written; it has "
            "been logged.",
        )
        save_meta(token, meta)
        raise
    meta["job"].update(status="done")
    meta["result"] = report.model_dump(mode="json")
    save_meta(token, meta)
    forget(token)
    return "done"
