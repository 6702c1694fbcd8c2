from __future__ import annotations

import pytest

from app.config import get_settings


@pytest.fixture(autouse=True)
def _smtp_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Email counts as configured (nothing listens there: tests that deliver use a real
    loopback server and set their own URL)."""
    monkeypatch.setattr(get_settings(), "smtp_url", "smtp://127.0.0.1:9?starttls=never")
