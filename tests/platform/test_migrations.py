"""Migrations build the schema the models describe, on this run's backend, both ways."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Index, exc, inspect, text

import app.models  # noqa: F401
from app.db import make_engine
from app.models.base import Base
from app.platform.migrations import downgrade, upgrade
from tests.support import databases

pytestmark = pytest.mark.database  # its own databases, made in the test


def _drift(url: str) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as conn, warnings.catch_warnings():
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite's reflection cannot read an index on an expression, so the comparison
            # skips those: they are checked by name in the schema itself instead
            warnings.filterwarnings("ignore", ".*expression-based index", exc.SAWarning)
            warnings.filterwarnings("ignore", ".*expression-based index", UserWarning)
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": sqlite}
        )
        diff: list[object] = list(compare_metadata(ctx, Base.metadata))
        if sqlite:
            built = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index'")))
            diff += [("missing expression index", name) for name in _expression_indexes() - built]
    engine.dispose()
    return diff


def _expression_indexes() -> set[str]:
    return {
        str(index.name)
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if any(not isinstance(e, Column) for e in index.expressions) and _built_on_sqlite(index)
    }


def _built_on_sqlite(index: Index) -> bool:
    only = index._ddl_if  # Index.ddl_if(dialect=...): an index made on one database alone
    return only is None or only.dialect in (None, "sqlite")


def test_upgrade_check_downgrade_upgrade(tmp_root: Path) -> None:
    url = databases.create_database(tmp_root, "migrations")
    try:
        upgrade(url)
        assert _drift(url) == []
        downgrade(url, "base")
        engine = make_engine(url)
        leftover = set(inspect(engine).get_table_names()) - {"alembic_version"}
        engine.dispose()
        assert leftover == set()
        upgrade(url)
        assert _drift(url) == []
    finally:
        databases.drop_database(url)


def test_migration_files_follow_the_naming_scheme() -> None:
    versions = Path(__file__).parents[2] / "migrations" / "versions"
    names = [p.name for p in versions.glob("*.py")]
    assert names
    for name in names:
        assert name[:16].replace("-", "").replace("_", "").isdigit(), name
