"""Admin settings: the organisation profile and the users."""

from __future__ import annotations

from typing import Any

from babel import Locale
from fastapi import Request
from fastapi.responses import Response

from app.audit import service as audit_service
from app.auth import service as auth_service
from app.auth.deps import WebAdmin
from app.auth.schemas import UserCreate
from app.db import SessionDep
from app.errors import Conflict
from app.settings_admin import service
from app.settings_admin.schemas import LETTER_LANGUAGES, ProfileUpdate
from app.web.forms import FormDep, validate
from app.web.routing import web_router
from app.web.templating import redirect, render

router = web_router(prefix="/settings")


def _page(request: Request, session: SessionDep, **extra: object) -> Response:
    ctx = {
        "profile": service.get_profile(session),
        "users": auth_service.list_users(session),
        "roles": ["campaigner", "coordinator", "admin"],
        "profile_errors": {},
        "user_errors": {},
        "new_user": {},
        "letter_languages": [
            (code, Locale.parse("en").languages[code]) for code in LETTER_LANGUAGES
        ],
        "values": {},
    }
    ctx.update(extra)
    status = 422 if extra.get("profile_errors") or extra.get("user_errors") else 200
    return render(request, "settings/index.html", ctx, status_code=status)


def _with_translations(form: dict[str, Any]) -> dict[str, Any]:
    """The form's per-language cells (``tr-fr-name``) as the schema's ``translations``."""
    out: dict[str, Any] = {k: v for k, v in form.items() if not k.startswith("tr-")}
    translations: dict[str, dict[str, str]] = {}
    for key, value in form.items():
        parts = key.split("-", 2)
        if len(parts) == 3 and parts[0] == "tr" and isinstance(value, str):
            translations.setdefault(parts[1], {})[parts[2]] = value
    out["translations"] = translations
    return out


@router.get("", name="admin_home")
def settings_home(request: Request, session: SessionDep, _admin: WebAdmin) -> Response:
    return _page(request, session)


@router.post("/profile", name="admin_profile")
def save_profile(request: Request, session: SessionDep, admin: WebAdmin, form: FormDep) -> Response:
    data, errors = validate(ProfileUpdate, _with_translations(form))
    if data is None:
        return _page(request, session, profile_errors=errors, values=dict(form))
    service.update_profile(session, data=data, actor=admin)
    return redirect(request, "/settings", message="Organisation profile saved.")


@router.post("/users", name="admin_user_create")
def add_user(request: Request, session: SessionDep, admin: WebAdmin, form: FormDep) -> Response:
    raw = form
    data, errors = validate(UserCreate, raw)
    if data is None:
        return _page(request, session, user_errors=errors, new_user=raw)
    try:
        auth_service.create_user(
            session,
            email=data.email,
            role=data.role,
            password=data.password,
            full_name=data.full_name,
            actor=admin,
        )
    except Conflict as exc:
        return _page(request, session, user_errors={"email": exc.detail}, new_user=raw)
    return redirect(request, "/settings", message=f"User {data.email} created.")


@router.get("/audit", name="admin_audit")
def audit_log(request: Request, session: SessionDep, _admin: WebAdmin, page: int = 1) -> Response:
    from app.web.pagination import Page

    page = max(1, min(page, 100_000))
    rows, total = audit_service.list_entries(session, limit=50, offset=(page - 1) * 50)
    return render(
        request,
        "settings/audit.html",
        {"entries": rows, "page": Page(page=page, per_page=50, total=total)},
    )
