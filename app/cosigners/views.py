"""Co-signers in Settings (admins): the list, a form with each letter language, the logo."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from babel import Locale
from fastapi import Path, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from app.auth.deps import WebAdmin
from app.cosigners import service
from app.cosigners.schemas import CosignerCreate, CosignerUpdate
from app.db import SessionDep
from app.errors import Conflict, InvalidInput
from app.models import Cosigner
from app.settings_admin import images
from app.settings_admin.schemas import LETTER_LANGUAGES
from app.settings_admin.views import with_translations
from app.web.forms import FormDep, field_errors, validate
from app.web.pagination import Page
from app.web.routing import web_router
from app.web.templating import redirect, render

router = web_router(prefix="/settings/cosigners")
PER_PAGE = 25
CosignerId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _form(
    request: Request,
    cosigner: Cosigner | None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    logo_error: str = "",
) -> Response:
    logo = service.logo(cosigner) if cosigner is not None else None
    failed = bool(errors) or bool(logo_error)
    return render(
        request,
        "cosigners/form.html",
        {
            "cosigner": cosigner,
            "errors": errors or {},
            "values": values or {},
            "letter_languages": [
                (code, Locale.parse("en").languages[code]) for code in LETTER_LANGUAGES
            ],
            "logo_src": logo.data_url() if logo else "",
            "logo_error": logo_error,
            "max_image_kb": images.MAX_BYTES // 1024,
            "max_image_side": images.MAX_SIDE,
        },
        status_code=422 if failed else 200,
    )


@router.get("", name="cosigners")
def index(
    request: Request, session: SessionDep, _admin: WebAdmin, q: str = "", page: int = 1
) -> Response:
    q = q.strip()[:200]
    page = max(1, min(page, 100_000))
    rows, total = service.list_cosigners(session, q=q, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render(
        request,
        "cosigners/index.html",
        {
            "cosigners": rows,
            "q": q,
            "page": Page(page=page, per_page=PER_PAGE, total=total),
            "page_query": urlencode({"q": q}) if q else "",
        },
        block="results",
    )


@router.get("/new", name="cosigner_new")
def new(request: Request, _admin: WebAdmin) -> Response:
    return _form(request, None)


@router.post("", name="cosigner_create")
def create(request: Request, session: SessionDep, admin: WebAdmin, form: FormDep) -> Response:
    data, errors = validate(CosignerCreate, with_translations(form))
    if data is None:
        return _form(request, None, errors=errors, values=dict(form))
    try:
        cosigner = service.create(session, data=data, actor=admin)
    except Conflict as exc:
        return _form(request, None, errors=field_errors(exc), values=dict(form))
    return redirect(
        request,
        str(request.url_for("cosigner_edit", cosigner_id=cosigner.id)),
        message=f"Co-signer {cosigner.name} added; upload its logo below.",
    )


@router.get("/{cosigner_id}", name="cosigner_edit")
def edit(
    request: Request, session: SessionDep, _admin: WebAdmin, cosigner_id: CosignerId
) -> Response:
    return _form(request, service.get(session, cosigner_id))


@router.post("/{cosigner_id}", name="cosigner_update")
def update(
    request: Request, session: SessionDep, admin: WebAdmin, form: FormDep, cosigner_id: CosignerId
) -> Response:
    cosigner = service.get(session, cosigner_id)
    data, errors = validate(CosignerUpdate, with_translations(form))
    if data is None:
        return _form(request, cosigner, errors=errors, values=dict(form))
    try:
        service.update(session, cosigner_id=cosigner_id, data=data, actor=admin)
    except Conflict as exc:
        return _form(request, cosigner, errors=field_errors(exc), values=dict(form))
    return redirect(request, str(request.url_for("cosigners")), message="Co-signer saved.")


@router.post("/{cosigner_id}/logo", name="cosigner_logo_upload")
def upload_logo(
    request: Request, session: SessionDep, admin: WebAdmin, form: FormDep, cosigner_id: CosignerId
) -> Response:
    cosigner = service.get(session, cosigner_id)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _form(request, cosigner, logo_error="Choose a PNG or JPEG file.")
    try:
        service.upload_logo(
            session,
            cosigner_id=cosigner_id,
            data=upload.file.read(images.MAX_BYTES + 1),
            actor=admin,
        )
    except InvalidInput as exc:
        return _form(request, cosigner, logo_error=exc.detail)
    return redirect(
        request,
        str(request.url_for("cosigner_edit", cosigner_id=cosigner_id)),
        message=f"The logo of {cosigner.name} is in place.",
    )


@router.post("/{cosigner_id}/logo/delete", name="cosigner_logo_delete")
def delete_logo(
    request: Request, session: SessionDep, admin: WebAdmin, cosigner_id: CosignerId
) -> Response:
    service.remove_logo(session, cosigner_id=cosigner_id, actor=admin)
    return redirect(
        request,
        str(request.url_for("cosigner_edit", cosigner_id=cosigner_id)),
        message="The logo was removed.",
    )


@router.post("/{cosigner_id}/delete", name="cosigner_delete")
def delete(
    request: Request, session: SessionDep, admin: WebAdmin, cosigner_id: CosignerId
) -> Response:
    name = service.get(session, cosigner_id).name
    service.delete(session, cosigner_id=cosigner_id, actor=admin)
    return redirect(
        request, str(request.url_for("cosigners")), message=f"Co-signer {name} removed."
    )
