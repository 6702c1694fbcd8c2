from __future__ import annotations

from fastapi import File, Path, UploadFile
from fastapi.responses import Response

from app.auth.deps import ApiAdmin, ApiUser
from app.db import SessionDep
from app.settings_admin import images, service
from app.settings_admin.images import StoredImage
from app.settings_admin.schemas import ImageRead, ImagesRead, ProfileRead, ProfileUpdate
from app.web.routing import api_router

router = api_router(tags=["organisation"])
KIND = Path(description="logo (the letterhead) or signature (above the signatory's name)")


@router.get("/organisation", response_model=ProfileRead, summary="The sending organisation")
def get_profile(session: SessionDep, _user: ApiUser) -> ProfileRead:
    return ProfileRead.model_validate(service.get_profile(session))


@router.put("/organisation", response_model=ProfileRead, summary="Update it (admin)")
def put_profile(body: ProfileUpdate, session: SessionDep, admin: ApiAdmin) -> ProfileRead:
    return ProfileRead.model_validate(service.update_profile(session, data=body, actor=admin))


def _read(image: StoredImage) -> ImageRead:
    return ImageRead.of(image)


@router.get(
    "/organisation/images",
    response_model=ImagesRead,
    summary="The uploaded logo and signature images",
)
def get_images(_user: ApiUser) -> ImagesRead:
    found = {
        kind: _read(image) if image else None for kind, image in service.letterhead_images().items()
    }
    return ImagesRead(logo=found["logo"], signature=found["signature"])


@router.put(
    "/organisation/images/{kind}",
    response_model=ImageRead,
    summary="Upload the logo or signature image (admin; PNG or JPEG, at most 1 MB and "
    "4000×4000 pixels)",
)
def put_image(
    session: SessionDep,
    admin: ApiAdmin,
    kind: str = KIND,
    file: UploadFile = File(description="A PNG or JPEG image"),
) -> ImageRead:
    data = file.file.read(images.MAX_BYTES + 1)
    return _read(service.upload_image(session, kind=kind, data=data, actor=admin))


@router.delete(
    "/organisation/images/{kind}",
    status_code=204,
    summary="Remove the logo (letters show the built-in one) or signature image (admin)",
)
def delete_image(session: SessionDep, admin: ApiAdmin, kind: str = KIND) -> Response:
    service.remove_image(session, kind=kind, actor=admin)
    return Response(status_code=204)
