from __future__ import annotations

from app.auth.deps import ApiAdmin, ApiUser
from app.db import SessionDep
from app.settings_admin import service
from app.settings_admin.schemas import ProfileRead, ProfileUpdate
from app.web.routing import api_router

router = api_router(tags=["organisation"])


@router.get("/organisation", response_model=ProfileRead, summary="The sending organisation")
def get_profile(session: SessionDep, _user: ApiUser) -> ProfileRead:
    return ProfileRead.model_validate(service.get_profile(session))


@router.put("/organisation", response_model=ProfileRead, summary="Update it (admin)")
def put_profile(body: ProfileUpdate, session: SessionDep, admin: ApiAdmin) -> ProfileRead:
    return ProfileRead.model_validate(service.update_profile(session, data=body, actor=admin))
