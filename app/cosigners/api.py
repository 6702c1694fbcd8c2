"""Co-signers JSON API: read by everyone signed in, changed by admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Path, Query, UploadFile
from fastapi.responses import Response

from app.auth.deps import ApiAdmin, ApiUser
from app.cosigners import service
from app.cosigners.schemas import CosignerCreate, CosignerPage, CosignerRead, CosignerUpdate
from app.db import SessionDep
from app.settings_admin import images
from app.settings_admin.schemas import ImageRead
from app.web.pagination import Paging
from app.web.routing import api_router

router = api_router(tags=["cosigners"])
CosignerId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/cosigners", response_model=CosignerPage, summary="Co-signers, by name")
def list_cosigners(
    session: SessionDep,
    _user: ApiUser,
    paging: Paging,
    q: str = Query(default="", max_length=200, description="Part of the registered name"),
) -> CosignerPage:
    rows, total = service.list_cosigners(session, q=q, limit=paging.per_page, offset=paging.offset)
    return CosignerPage(
        total=total, page=paging.page, items=[CosignerRead.model_validate(r) for r in rows]
    )


@router.post(
    "/cosigners", response_model=CosignerRead, status_code=201, summary="Add a co-signer (admin)"
)
def create_cosigner(body: CosignerCreate, session: SessionDep, admin: ApiAdmin) -> CosignerRead:
    return CosignerRead.model_validate(service.create(session, data=body, actor=admin))


@router.get("/cosigners/{cosigner_id}", response_model=CosignerRead, summary="One co-signer")
def get_cosigner(cosigner_id: CosignerId, session: SessionDep, _user: ApiUser) -> CosignerRead:
    return CosignerRead.model_validate(service.get(session, cosigner_id))


@router.put(
    "/cosigners/{cosigner_id}", response_model=CosignerRead, summary="Edit a co-signer (admin)"
)
def update_cosigner(
    cosigner_id: CosignerId, body: CosignerUpdate, session: SessionDep, admin: ApiAdmin
) -> CosignerRead:
    cosigner = service.update(session, cosigner_id=cosigner_id, data=body, actor=admin)
    return CosignerRead.model_validate(cosigner)


@router.delete("/cosigners/{cosigner_id}", status_code=204, summary="Remove a co-signer (admin)")
def delete_cosigner(cosigner_id: CosignerId, session: SessionDep, admin: ApiAdmin) -> Response:
    service.delete(session, cosigner_id=cosigner_id, actor=admin)
    return Response(status_code=204)


@router.put(
    "/cosigners/{cosigner_id}/logo",
    response_model=ImageRead,
    summary="Upload the co-signer's logo (admin; PNG or JPEG, at most 1 MB and 4000×4000 pixels)",
)
def put_logo(
    cosigner_id: CosignerId,
    session: SessionDep,
    admin: ApiAdmin,
    file: UploadFile = File(description="A PNG or JPEG image"),
) -> ImageRead:
    data = file.file.read(images.MAX_BYTES + 1)
    image = service.upload_logo(session, cosigner_id=cosigner_id, data=data, actor=admin)
    return ImageRead.of(image)


@router.delete(
    "/cosigners/{cosigner_id}/logo", status_code=204, summary="Remove the co-signer's logo (admin)"
)
def delete_logo(cosigner_id: CosignerId, session: SessionDep, admin: ApiAdmin) -> Response:
    service.remove_logo(session, cosigner_id=cosigner_id, actor=admin)
    return Response(status_code=204)
