from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import FORMER_DEFAULT_SECRET_KEY, PUBLISHED_SECRET_KEYS, Settings


@pytest.mark.parametrize(
    "key", ["", "short-but-random-9f8e7d", "k" * 48, *sorted(PUBLISHED_SECRET_KEYS)]
)
def test_production_refuses_a_missing_weak_or_published_secret_key(key: str) -> None:
    with pytest.raises(ValidationError, match="DEMARCHE_SECRET_KEY"):
        Settings(env="production", secret_key=key)


def test_the_former_development_key_is_refused_everywhere() -> None:
    for env in ("development", "test", "production"):
        with pytest.raises(ValidationError, match="published"):
            Settings(env=env, secret_key=FORMER_DEFAULT_SECRET_KEY)


def test_production_accepts_a_long_random_key() -> None:
    settings = Settings(env="production", secret_key="9b1c4e7f2a5d8c0b3e6f9a2d5c8b1e4f7a0d3c6b")
    assert settings.env == "production"


def test_development_without_a_key_leaves_it_to_the_generated_file(tmp_path: Path) -> None:
    settings = Settings(env="development", secret_key="", data_dir=tmp_path)
    assert settings.secret_key == ""
    assert settings.secret_key_path == tmp_path / "secret_key"


def test_allowed_hosts_are_the_base_url_host_the_trusted_ones_and_loopback() -> None:
    settings = Settings(
        base_url="https://demarche.example.org", trusted_hosts="a.example, B.example"
    )
    assert settings.allowed_hosts == [
        "demarche.example.org",
        "a.example",
        "b.example",
        "127.0.0.1",
        "localhost",
    ]
    assert Settings(trusted_hosts="*").allowed_hosts == ["*"]


def test_database_defaults_to_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="")
    assert settings.database_url == f"sqlite:///{tmp_path / 'demarche.sqlite3'}"
