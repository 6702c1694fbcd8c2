"""Bulk inserts in the caller's transaction straight through the driver's ``executemany``, and
the sink ``apply.write`` sends rows to (nowhere, for a dry run, which counts them all the same)."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table as SATable
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.models import ContactPoint, Organisation, Person, Position, Tag

CHUNK = 900
PEOPLE = cast(SATable, Person.__table__)
ORGANISATIONS = cast(SATable, Organisation.__table__)
TAGS = cast(SATable, Tag.__table__)
CONTACT_POINTS = cast(SATable, ContactPoint.__table__)
POSITIONS = cast(SATable, Position.__table__)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _native(value: Any, sqlite: bool) -> Any:
    """A value as the database driver takes it (what the column types would have produced)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _defaults(table: SATable) -> dict[str, Any]:
    """Python-side column defaults (the database has none), evaluated once per import."""
    out: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.primary_key or default is None or not hasattr(default, "arg"):
            continue
        arg = default.arg
        out[column.name] = arg(None) if callable(arg) else arg
    return out


def _new_ids(session: Session, table: SATable, count: int) -> list[int]:
    """Ids for ``count`` new rows, taken in one statement. SQLite: after the highest id (the
    transaction holds the write lock from its start); PostgreSQL: from the id sequence."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        start = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
        return list(range(start + 1, start + 1 + count))
    return list(
        session.scalars(
            select(func.nextval(func.pg_get_serial_sequence(table.name, "id"))).select_from(
                func.generate_series(1, count)
            )
        )
    )


def _bulk(
    session: Session, table: SATable, rows: list[dict[str, Any]], *, with_ids: bool = False
) -> list[int]:
    """Bulk insert straight through the driver's ``executemany`` (no per-row statement
    compilation); with ``with_ids`` the new ids, in the order of ``rows``."""
    if not rows:
        return []
    connection = session.connection()
    dialect = connection.dialect
    sqlite = dialect.name == "sqlite"
    if dialect.name not in ("sqlite", "postgresql"):
        result = session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return list(result.scalars())
    columns = {**_defaults(table), **rows[0]}
    names = list(columns)
    ids: list[int] = []
    if with_ids:
        ids = _new_ids(session, table, len(rows))
        names = ["id", *names]
    fixed = {k: _native(v, sqlite) for k, v in columns.items() if k not in rows[0]}
    given = [n for n in names if n not in fixed and n != "id"]
    # one converter per column, chosen from the first row (a column holds one kind of value);
    # the same timestamp object repeats in every row, so conversions are memoised
    converters: list[Any] = []
    for name in given:
        sample = rows[0][name]
        if isinstance(sample, datetime | enum.Enum):
            converters.append(lru_cache(maxsize=16)(lambda v, s=sqlite: _native(v, s)))
        elif isinstance(sample, dict | list):
            converters.append(lambda v, s=sqlite: _native(v, s))
        else:
            converters.append(None)
    order = (["id"] if with_ids else []) + given + list(fixed)
    names = order
    tail = tuple(fixed.values())
    pairs = list(zip(given, converters, strict=True))
    values = []
    for i, row in enumerate(rows):
        head = [c(row[n]) if c is not None else row[n] for n, c in pairs]
        values.append(((ids[i],) if with_ids else ()) + tuple(head) + tail)
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    for chunk in chunks(values, 5000):
        connection.exec_driver_sql(sql, list(chunk))
    return ids


class Sink:
    """Where ``write`` sends rows: the database, or nowhere for a dry run, which goes through
    the same steps (so its counts are the import's) with made-up ids."""

    def __init__(self, session: Session, dry: bool) -> None:
        self.session = session
        self.dry = dry
        self._fake = 0

    def insert_ids(self, table: SATable, rows: list[dict[str, Any]]) -> list[int]:
        if self.dry:
            start = self._fake
            self._fake -= len(rows)
            return list(range(start - 1, self._fake - 1, -1))
        return _bulk(self.session, table, rows, with_ids=True)

    def insert(self, table: SATable, rows: list[dict[str, Any]]) -> None:
        if not self.dry:
            _bulk(self.session, table, rows)

    def execute(self, statement: Any) -> int:
        """An UPDATE's row count (a dry run counts it done)."""
        if self.dry:
            return 1
        return int(getattr(self.session.execute(statement), "rowcount", 1))
