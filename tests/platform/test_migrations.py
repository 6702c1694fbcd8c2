"""Migrations build the schema the models describe, on this run's backend, both ways."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import app.models  # noqa: F401
from app.db import make_engine
from app.models.base import Base
from app.platform.migrations import downgrade, upgrade
from tests.support import databases


def _drift(url: str) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": conn.dialect.name == "sqlite"}
        )
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    return diff


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
