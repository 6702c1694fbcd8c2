"""Backup and restore: every table row and every stored file in one zip, on any backend."""

from __future__ import annotations

import base64
import json
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Table, delete, func, insert, select, text

import app.models  # noqa: F401 - every table registers on the metadata
from app import __version__
from app.config import get_settings
from app.db import get_engine
from app.errors import InvalidInput
from app.models.base import Base

FORMAT = 1
BATCH = 1000


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if hasattr(value, "value") and not isinstance(value, (dict, list, str, int, float, bool)):
        return value.value  # enums
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        key, raw = next(iter(value.items()))
        if key == "$dt":
            return datetime.fromisoformat(raw)
        if key == "$d":
            return date.fromisoformat(raw)
        if key == "$b":
            return base64.b64decode(raw)
        if key == "$dec":
            return Decimal(raw)
    return value


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def backup(path: Path) -> dict[str, int]:
    settings = get_settings()
    counts: dict[str, int] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".partial")
    with get_engine().connect() as conn, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for table in Base.metadata.sorted_tables:
            n = 0
            with zf.open(f"tables/{table.name}.jsonl", "w") as out:
                for row in conn.execute(select(table)).mappings():
                    line = json.dumps({k: _encode(v) for k, v in row.items()}, default=str)
                    out.write(line.encode() + b"\n")
                    n += 1
            counts[table.name] = n
        files = settings.files_dir
        if files.exists():
            for file in sorted(files.rglob("*")):
                if file.is_file():
                    zf.write(file, "files/" + file.relative_to(files).as_posix())
        manifest = {
            "format": FORMAT,
            "app_version": __version__,
            "revision": _revision(conn),
            "backend": conn.dialect.name,
            "counts": counts,
        }
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
    tmp.replace(path)
    return counts


def _parents_first(table: Table, rows: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """Rows of a table that refers to itself (an organisation's parent) come after the rows
    they refer to; a dump lists rows in storage order, which updates shuffle."""
    links = [
        (fk.parent.name, fk.column.name) for fk in table.foreign_keys if fk.column.table is table
    ]
    if not links:
        yield from rows
        return
    pending = list(rows)
    present: dict[str, set[Any]] = {target: set() for _, target in links}
    while pending:
        later = []
        for row in pending:
            if all(
                row.get(col) is None or row.get(col) in present[target] for col, target in links
            ):
                for target in present:
                    present[target].add(row.get(target))
                yield row
            else:
                later.append(row)
        if len(later) == len(pending):  # a reference to nothing in the dump: let it fail plainly
            yield from later
            return
        pending = later


def restore(path: Path) -> dict[str, int]:
    if not path.exists():
        raise InvalidInput(f"No backup file at {path}.")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"{path} is not a Demarche backup (not a zip archive).") from exc
    with zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
        except KeyError as exc:
            raise InvalidInput(
                f"{path} has no manifest.json; it is not a Demarche backup."
            ) from exc
        if manifest.get("format") != FORMAT:
            raise InvalidInput(f"Backup format {manifest.get('format')} is not supported.")
        engine = get_engine()
        counts: dict[str, int] = {}
        with engine.begin() as conn:
            current = _revision(conn)
            if manifest["revision"] != current:
                raise InvalidInput(
                    f"The backup was taken at schema revision {manifest['revision']}, the "
                    f"database is at {current}. Run 'demarche migrate' on a database of the "
                    "backup's version first."
                )
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(delete(table))
            for table in Base.metadata.sorted_tables:
                name = f"tables/{table.name}.jsonl"
                if name not in zf.namelist():
                    continue
                batch: list[dict[str, Any]] = []
                n = 0
                with zf.open(name) as fh:
                    rows = ({k: _decode(v) for k, v in json.loads(raw).items()} for raw in fh)
                    for row in _parents_first(table, rows):
                        batch.append(row)
                        if len(batch) >= BATCH:
                            conn.execute(insert(table), batch)
                            n += len(batch)
                            batch = []
                if batch:
                    conn.execute(insert(table), batch)
                    n += len(batch)
                counts[table.name] = n
                if conn.dialect.name == "postgresql" and "id" in table.c and n:
                    max_id = conn.scalar(select(func.max(table.c.id)))
                    conn.execute(
                        text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v)"),
                        {"t": table.name, "v": max_id},
                    )
        files = get_settings().files_dir
        for member in zf.namelist():
            if member.startswith("files/") and not member.endswith("/"):
                rel = Path(member[len("files/") :])
                if rel.is_absolute() or ".." in rel.parts:
                    continue
                target = files / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(member))
    return counts
