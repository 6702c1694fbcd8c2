"""One settings object for the whole application (environment prefix ``DEMARCHE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused in production


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEMARCHE_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    secret_key: str = DEFAULT_SECRET_KEY
    redis_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = "Demarche <noreply@demarche.example>"
    # Where replies go; {reference} is replaced by the letter's reference so answers can be matched.
    reply_to: str = "replies+{reference}@demarche.example"
    # Every letter needs a second coordinator's approval (campaigns can also ask for it).
    letter_second_approval: bool = False
    smtp_timeout: float = 30.0
    # Mailbox polled for replies: imaps://user:password@host[:port]/INBOX (imap:// without TLS).
    imap_url: str | None = None
    mail_lease_seconds: int = 600
    base_url: str = "http://127.0.0.1:8000"
    session_max_age: int = 60 * 60 * 12
    cookie_secure: bool = False
    login_max_failures: int = 5
    login_window_seconds: int = 15 * 60
    max_request_bytes: int = 25 * 1024 * 1024
    page_size_max: int = 200
    letter_templates_dir: Path = PROJECT_ROOT / "letter_templates"
    demo_password: str = Field(default="demarche-demo")

    @model_validator(mode="after")
    def _defaults_and_safety(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'demarche.sqlite3'}"
        weak_key = self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32
        if self.env == "production" and weak_key:
            raise ValueError(
                "DEMARCHE_SECRET_KEY must be set to a random value of at least 32 characters "
                "when DEMARCHE_ENV=production"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "queue.sqlite3"


@lru_cache
def get_settings() -> Settings:
    return Settings()
