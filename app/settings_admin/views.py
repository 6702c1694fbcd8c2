"""Admin settings: the organisation profile and the users."""

from __future__ import annotations

from typing import Any

from babel import Locale
from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from app.audit import service as audit_service
from app.auth import passwords as auth_passwords
from app.auth import service as auth_service
from app.auth.deps import WebAdmin
from app.auth.schemas import UserCreate
from app.db import SessionDep
from app.errors import Conflict, InvalidInput, NotFound
from app.settings_admin import images, service
from app.settings_admin.schemas import LETTER_LANGUAGES, ProfileUpdate
from app.web.forms import FormDep, validate
from app.web.routing import web_router
from app.web.templating import redirect, render

router = web_router(prefix="/settings")


def _page(request: Request, session: SessionDep, **extra: object) -> Response:
    ctx = {
        "profile": service.get_profile(session),
        "users": auth_service.list_users(session),
        "password_rules": auth_passwords.RULES,
        "roles": ["campaigner", "coordinator", "admin"],
        "profile_errors": {},
        "user_errors": {},
        "new_user": {},
        "letter_languages": [
            (code, Locale.parse("en").languages[code]) for code in LETTER_LANGUAGES
        ],
        "values": {},
        "images": [
            (kind, images.KIND_LABELS[kind], image.data_url() if image else "")
            for kind, image in service.letterhead_images().items()
        ],
        "image_errors": {},
        "max_image_kb": images.MAX_BYTES // 1024,
        "max_image_side": images.MAX_SIDE,
    }
    ctx.update(extra)
    failed = ("profile_errors", "user_errors", "image_errors")
    status = 422 if any(extra.get(key) for key in failed) else 200
    return render(request, "settings/index.html", ctx, status_code=status)


def with_translations(form: dict[str, Any]) -> dict[str, Any]:
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
    data, errors = validate(ProfileUpdate, with_translations(form))
    if data is None:
        return _page(request, session, profile_errors=errors, values=dict(form))
    service.update_profile(session, data=data, actor=admin)
    return redirect(request, "/settings", message="Organisation profile saved.")


@router.post("/images/{kind}", name="admin_image_upload")
def upload_image(
    request: Request, session: SessionDep, admin: WebAdmin, form: FormDep, kind: str
) -> Response:
    if kind not in images.KINDS:
        raise NotFound(f"No image called {kind!r}.")
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, session, image_errors={kind: "Choose a PNG or JPEG file."})
    try:
        service.upload_image(
            session, kind=kind, data=upload.file.read(images.MAX_BYTES + 1), actor=admin
        )
    except InvalidInput as exc:
        return _page(request, session, image_errors={kind: exc.detail})
    label = images.KIND_LABELS[kind]
    return redirect(request, "/settings", message=f"The {label} image is in place.")


@router.post("/images/{kind}/delete", name="admin_image_delete")
def delete_image(request: Request, session: SessionDep, admin: WebAdmin, kind: str) -> Response:
    service.remove_image(session, kind=kind, actor=admin)
    label = images.KIND_LABELS[kind]
    return redirect(request, "/settings", message=f"The {label} image was removed.")


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
    except InvalidInput as exc:
        return _page(request, session, user_errors={"password": exc.detail}, new_user=raw)
    return redirect(request, "/settings", message=f"User {data.email} created.")


def _set_active(
    request: Request, session: SessionDep, admin: WebAdmin, user_id: int, *, active: bool
) -> Response:
    user = auth_service.get(session, user_id)
    if user is None:
        raise NotFound(f"No user has the id {user_id}.")
    try:
        auth_service.set_active(session, user, active=active, actor=admin)
    except Conflict as exc:
        return _page(request, session, user_errors={"users": exc.detail})
    if active:
        message = f"{user.email} can sign in again (their old API tokens stay revoked)."
    else:
        message = f"{user.email} is deactivated: signed out everywhere, API tokens revoked."
    return redirect(request, "/settings", message=message)


@router.post("/users/{user_id}/deactivate", name="admin_user_deactivate")
def deactivate_user(
    request: Request, session: SessionDep, admin: WebAdmin, user_id: int
) -> Response:
    return _set_active(request, session, admin, user_id, active=False)


@router.post("/users/{user_id}/activate", name="admin_user_activate")
def activate_user(request: Request, session: SessionDep, admin: WebAdmin, user_id: int) -> Response:
    return _set_active(request, session, admin, user_id, active=True)


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
