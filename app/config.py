"""One settings object for the whole application (environment prefix ``DEMARCHE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIN_SECRET_KEY_LENGTH = 32
FORMER_DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused, not used
# Keys that have been printed somewhere (an old default, placeholders, the test suite's): anyone can
# sign a session with them, so production refuses them (the old default is refused everywhere).
PUBLISHED_SECRET_KEYS = frozenset(
    {
        FORMER_DEFAULT_SECRET_KEY,
        "change-me",
        "changeme",
        "secret",
        "secret-key",
        "test-secret-key-0123456789abcdef0123456789",
        "live-test-secret-key-0123456789abcdef",
        "load-bench-secret-key-0123456789abcdef",
    }
)
# Host names that cannot be pointed at this server from outside (DNS rebinding sends the
# attacker's name), kept for health checks and local tools.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def secret_key_problem(key: str) -> str | None:
    """Why this key is too weak to sign sessions in production, or None."""
    if not key:
        return "DEMARCHE_SECRET_KEY is not set"
    if key in PUBLISHED_SECRET_KEYS:
        return "DEMARCHE_SECRET_KEY is a published value"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"DEMARCHE_SECRET_KEY has fewer than {MIN_SECRET_KEY_LENGTH} characters"
    if len(set(key)) < 8:
        return "DEMARCHE_SECRET_KEY repeats too few different characters"
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEMARCHE_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    # Signs session cookies. Unset outside production: generated once into <data_dir>/secret_key.
    secret_key: str = ""
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
    # Comma-separated host names the server answers besides base_url's ("*" for any).
    trusted_hosts: str = ""
    # A session ends this long after sign-in, or after this long without a request.
    session_max_age: int = 60 * 60 * 12
    session_idle_timeout: int = 60 * 60 * 2
    cookie_secure: bool = False
    # Sign-in throttling: failures counted within the window, per account and address and per
    # address; past each threshold every further try waits a delay that doubles up to the cap.
    login_max_failures: int = 5
    login_ip_max_failures: int = 20
    login_delay_seconds: int = 2
    login_delay_max_seconds: int = 5 * 60
    login_window_seconds: int = 15 * 60
    max_request_bytes: int = 25 * 1024 * 1024
    page_size_max: int = 200
    letter_templates_dir: Path = PROJECT_ROOT / "letter_templates"
    # Limits of one letter render (in the renderer's child processes): seconds, and the memory
    # a render may take on top of the warmed renderer; children for interactive renders.
    render_seconds: float = 20.0
    render_memory_mb: int = 1024
    render_children: int = 2
    demo_password: str = Field(default="demarche-demo")

    @model_validator(mode="after")
    def _defaults_and_safety(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'demarche.sqlite3'}"
        weak = secret_key_problem(self.secret_key)
        if self.secret_key == FORMER_DEFAULT_SECRET_KEY or (self.env == "production" and weak):
            raise ValueError(
                f"{weak}. Set it to a random value of at least {MIN_SECRET_KEY_LENGTH} characters "
                "(e.g. the output of 'openssl rand -hex 32'); with DEMARCHE_ENV=production "
                "Demarche neither starts without one nor generates one."
            )
        return self

    @property
    def allowed_hosts(self) -> list[str]:
        """The Host header values the server answers: base_url's host, trusted_hosts, loopback."""
        extra = [host.strip().lower() for host in self.trusted_hosts.split(",") if host.strip()]
        if "*" in extra:
            return ["*"]
        base = (urlsplit(self.base_url).hostname or "").lower()
        return [host for host in dict.fromkeys([base, *extra, *LOOPBACK_HOSTS]) if host]

    @property
    def secret_key_path(self) -> Path:
        return self.data_dir / "secret_key"

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
