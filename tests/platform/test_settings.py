from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import DEFAULT_SECRET_KEY, Settings


def test_production_refuses_the_default_secret_key() -> None:
    with pytest.raises(ValidationError, match="DEMARCHE_SECRET_KEY"):
        Settings(env="production", secret_key=DEFAULT_SECRET_KEY)


def test_production_accepts_a_long_random_key() -> None:
    settings = Settings(env="production", secret_key="k" * 48)
    assert settings.env == "production"


def test_database_defaults_to_sqlite_under_the_data_dir(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url="")
    assert settings.database_url == f"sqlite:///{tmp_path / 'demarche.sqlite3'}"
