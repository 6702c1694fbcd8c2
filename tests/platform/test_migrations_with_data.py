"""Every earlier schema upgrades to head with rows in every table: nothing is lost, the schema
matches the models, and the models read what was there.

There is no tagged release yet, so every revision counts as a schema some database may be on.
For each one a scratch database is migrated to it, every table that exists then gets a few rows
(built from the reflected columns, so new tables and columns are covered without editing this
file), and the database is upgraded to head.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from alembic.script import Script, ScriptDirectory
from sqlalchemy.orm import Session

import app.models  # noqa: F401 - every table registers on the metadata
from app.db import make_engine
from app.models.base import Base
from app.platform.migrations import alembic_config, upgrade
from tests.platform.test_migrations import _drift
from tests.support import databases

pytestmark = pytest.mark.database  # its own databases, made in the test

# Row i is written in TEXTS[i]; the last row leaves every nullable column NULL.
TEXTS = ("Таджикистан", "ليلى", "Côte d’Ivoire")
ROWS = len(TEXTS)
ON = date(2010, 7, 14)
AT = datetime(2010, 7, 14, 9, 30, 15, 250000, tzinfo=UTC)

Row = dict[str, Any]
Key = tuple[Any, ...]


def _history() -> list[Script]:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return list(reversed(list(scripts.walk_revisions())))


def _label(script: Script) -> str:
    slug = Path(script.path).stem[len("YYYY-MM-DD_HHMM_") :].strip("_")
    return f"{script.revision}-{slug}"


def _allowed(table: sa.Table, column: sa.Column[Any]) -> list[str]:
    """Values an enum-like column accepts: the current model's enum, narrowed by the column's
    CHECK constraint at this revision if it has one."""
    values: list[str] = []
    model_table = Base.metadata.tables.get(table.name)
    if model_table is not None and column.name in model_table.c:
        model_type = model_table.c[column.name].type
        if isinstance(model_type, sa.Enum):
            values = list(model_type.enums)
    for constraint in table.constraints:
        if not isinstance(constraint, sa.CheckConstraint):
            continue
        sql = str(constraint.sqltext)
        if re.search(rf"\b{re.escape(column.name)}\b", sql):
            literals = re.findall(r"'([^']*)'", sql)
            values = [v for v in values if v in literals] or literals
    return values


def _text(column: sa.Column[Any], i: int) -> str:
    value = f"leila.{i}@example.org" if "email" in column.name else f"{TEXTS[i]} {i}"
    length = getattr(column.type, "length", None)
    if length and len(value) > length:
        # Short columns (codes) keep the row number first, so unique columns stay unique.
        value = f"{i}{TEXTS[i]}"[:length]
    return value


def _value(table: sa.Table, column: sa.Column[Any], i: int) -> Any:
    kind = column.type
    if allowed := _allowed(table, column):
        return allowed[i % len(allowed)]
    if isinstance(kind, sa.Boolean):
        return i % 2 == 0
    if isinstance(kind, sa.Integer):
        return i + 1
    if isinstance(kind, sa.DateTime):
        return AT + timedelta(days=i, minutes=i)
    if isinstance(kind, sa.Date):
        return ON + timedelta(days=i)
    if isinstance(kind, sa.JSON):
        return {"note": TEXTS[i], "n": i, "items": [TEXTS[i], i]}
    if isinstance(kind, sa.LargeBinary):
        return f"Subject: {TEXTS[i]}\r\n".encode()
    if isinstance(kind, sa.Numeric):
        return Decimal(i) + Decimal("0.25")
    if isinstance(kind, sa.String):
        return _text(column, i)
    raise AssertionError(f"no filler value for {table.name}.{column.name} ({kind!r})")


def _row(table: sa.Table, i: int, inserted: dict[str, list[Row]]) -> Row:
    sparse = i == ROWS - 1
    row: Row = {}
    for column in table.columns:
        if column is table.autoincrement_column:
            continue
        if sparse and column.nullable and not column.primary_key:
            row[column.name] = None
        elif column.foreign_keys:
            target = next(iter(column.foreign_keys)).column
            parents = inserted[target.table.name]
            if target.table is table:
                # Points at the row before; the first row has none to point at.
                assert column.nullable, f"{table.name}.{column.name}: NOT NULL to its own table"
                row[column.name] = parents[i - 1][target.name] if i else None
            else:
                row[column.name] = parents[i % len(parents)][target.name]
        else:
            row[column.name] = _value(table, column, i)
    return row


def _fill(conn: sa.Connection, metadata: sa.MetaData) -> None:
    inserted: dict[str, list[Row]] = {}
    for table in metadata.sorted_tables:
        inserted[table.name] = []
        for i in range(ROWS):
            statement = table.insert().values(_row(table, i, inserted)).returning(*table.c)
            inserted[table.name].append(conn.execute(statement).one()._asdict())


def _reflect(conn: sa.Connection, only: list[str] | None = None) -> sa.MetaData:
    metadata = sa.MetaData()
    with warnings.catch_warnings():
        # rows are compared, not indexes: SQLite's reflection skips (and warns about) an index
        # on an expression; test_migrations checks those exist
        warnings.filterwarnings("ignore", ".*expression-based index", sa.exc.SAWarning)
        metadata.reflect(conn, only=only or (lambda name, _: name != "alembic_version"))
    return metadata


def _snapshot(
    conn: sa.Connection, metadata: sa.MetaData, keys: dict[str, list[str]]
) -> dict[str, dict[Key, Row]]:
    """Every row of every table, by the primary key the table had before the upgrade."""
    rows: dict[str, dict[Key, Row]] = {}
    for name, table in metadata.tables.items():
        found = [r._asdict() for r in conn.execute(sa.select(table))]
        rows[name] = {tuple(r[k] for k in keys[name]): r for r in found}
    return rows


def _primary_keys(metadata: sa.MetaData) -> dict[str, list[str]]:
    return {
        name: sorted(c.name for c in table.primary_key.columns)
        for name, table in metadata.tables.items()
    }


def _changes(before: dict[str, dict[Key, Row]], after: dict[str, dict[Key, Row]]) -> list[str]:
    changes = []
    for table, rows in before.items():
        if set(after[table]) != set(rows):
            changes.append(f"{table}: rows {sorted(rows)} became {sorted(after[table])}")
            continue
        for key, row in rows.items():
            now = after[table][key]
            changes += [
                f"{table} {key} {column}: {value!r} became {now[column]!r}"
                for column, value in row.items()
                if column in now and now[column] != value
            ]
    return changes


def _mapped_tables() -> set[str]:
    return {cast(sa.Table, mapper.local_table).name for mapper in Base.registry.mappers}


def _read_by_models(engine: sa.Engine, keys: dict[str, list[str]]) -> dict[str, set[Key]]:
    """The primary keys each mapped class loads, for the tables that had rows."""
    loaded: dict[str, set[Key]] = {}
    with Session(engine) as session:
        for mapper in Base.registry.mappers:
            table = cast(sa.Table, mapper.local_table).name
            if table not in keys:
                continue
            names = [c.name for c in mapper.primary_key]
            loaded[table] = set()
            for obj in session.scalars(sa.select(mapper.class_)):
                ident = dict(zip(names, mapper.primary_key_from_instance(obj), strict=True))
                loaded[table].add(tuple(ident[k] for k in keys[table]))
    return loaded


@pytest.mark.parametrize("script", _history(), ids=_label)
def test_upgrade_to_head_keeps_every_row(script: Script, tmp_root: Path) -> None:
    url = databases.create_database(tmp_root, f"data_{script.revision}")
    try:
        upgrade(url, script.revision)
        engine = make_engine(url)
        with engine.begin() as conn:
            metadata = _reflect(conn)
            _fill(conn, metadata)
        keys = _primary_keys(metadata)
        with engine.connect() as conn:
            before = _snapshot(conn, metadata, keys)
        engine.dispose()

        upgrade(url)

        engine = make_engine(url)
        with engine.connect() as conn:
            missing = set(keys) - set(sa.inspect(conn).get_table_names())
            assert missing == set(), f"tables dropped with their rows: {sorted(missing)}"
            after = _snapshot(conn, _reflect(conn, only=list(keys)), keys)
        changes = _changes(before, after)
        assert not changes, "rows lost or changed by the upgrade:\n" + "\n".join(changes)
        assert _drift(url) == []
        model_rows = {t: set(rows) for t, rows in before.items() if t in _mapped_tables()}
        assert _read_by_models(engine, keys) == model_rows
        engine.dispose()
    finally:
        databases.drop_database(url)
