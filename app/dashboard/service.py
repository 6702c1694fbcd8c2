"""What the dashboard shows: each domain contributes a panel through its own service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.models import User

PanelProvider = Callable[[Session, User], dict[str, Any] | None]
PANELS: list[PanelProvider] = []


def register_panel(provider: PanelProvider) -> PanelProvider:
    """Domains add dashboard panels: a dict with ``title``, ``template`` and its context."""
    PANELS.append(provider)
    return provider


def overview(session: Session, *, user: User) -> dict[str, Any]:
    recent, _ = audit_service.list_entries(session, limit=10)
    panels = [panel for provider in PANELS if (panel := provider(session, user))]
    return {"recent_activity": recent, "panels": panels}
