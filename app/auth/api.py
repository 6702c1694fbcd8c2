"""The API's view of users: who am I, and (for admins) the user list."""

from __future__ import annotations

from fastapi import status

from app.auth import service
from app.auth.deps import ApiAdmin, ApiUser
from app.auth.schemas import UserCreate, UserRead
from app.db import SessionDep
from app.web.routing import api_router

router = api_router(tags=["users"])


@router.get("/me", response_model=UserRead, summary="The user this token belongs to")
def me(user: ApiUser) -> UserRead:
    return UserRead.model_validate(user)


@router.get("/users", response_model=list[UserRead], summary="All users (admin)")
def list_users(session: SessionDep, _admin: ApiAdmin) -> list[UserRead]:
    return [UserRead.model_validate(u) for u in service.list_users(session)]


@router.post(
    "/users",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a user (admin)",
)
def create_user(body: UserCreate, session: SessionDep, admin: ApiAdmin) -> UserRead:
    user = service.create_user(
        session,
        email=body.email,
        role=body.role,
        password=body.password,
        full_name=body.full_name,
        actor=admin,
    )
    return UserRead.model_validate(user)
