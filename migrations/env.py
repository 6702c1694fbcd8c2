"""Alembic environment: the URL comes from Demarche's settings (or the caller's connection)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, event

import app.models  # noqa: F401 - every table registers on the metadata
from app.config import get_settings
from app.db import make_engine
from app.models.base import Base

config = context.config
target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
    # A batch migration on SQLite rebuilds a table: copy, DROP the original, rename. With foreign
    # keys on, that DROP deletes every row referring to the table (ON DELETE CASCADE) or unlinks
    # it (SET NULL). Alembic's advice: migrate with them off, then check nothing points nowhere.
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    connection.commit()
    if broken:
        raise RuntimeError(f"rows refer to rows that do not exist after migrating: {broken}")


def run_migrations_offline() -> None:
    url = config.attributes.get("url") or get_settings().database_url
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    url = config.attributes.get("url") or get_settings().database_url
    if url.startswith("sqlite"):
        get_settings().data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _foreign_keys_off)
    with engine.connect() as conn:
        run_with(conn)
        if conn.dialect.name == "sqlite":
            _check_foreign_keys(conn)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
