"""The API's view of users and tokens: who am I, my tokens; for admins, every user and token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status

from app.auth import service
from app.auth.deps import ApiAdmin, ApiUser
from app.auth.schemas import TokenRead, UserCreate, UserRead
from app.db import SessionDep
from app.errors import Forbidden, NotFound
from app.models import Role, User
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


def _user(session: SessionDep, user_id: int) -> User:
    user = service.get(session, user_id)
    if user is None:
        raise NotFound(f"No user has the id {user_id}.")
    return user


@router.post(
    "/users/{user_id}/deactivate",
    response_model=UserRead,
    summary="Deactivate a user (admin): their sessions end and their tokens are revoked at once",
)
def deactivate_user(user_id: int, session: SessionDep, admin: ApiAdmin) -> UserRead:
    user = _user(session, user_id)
    service.set_active(session, user, active=False, actor=admin)
    return UserRead.model_validate(user)


@router.post(
    "/users/{user_id}/activate",
    response_model=UserRead,
    summary="Activate a user again (admin); their old tokens stay revoked",
)
def activate_user(user_id: int, session: SessionDep, admin: ApiAdmin) -> UserRead:
    user = _user(session, user_id)
    service.set_active(session, user, active=True, actor=admin)
    return UserRead.model_validate(user)


@router.get(
    "/tokens",
    response_model=list[TokenRead],
    summary="API tokens: your own; an admin sees everyone's, or one user's with `user`",
)
def list_tokens(
    session: SessionDep,
    user: ApiUser,
    user_id: Annotated[
        int | None,
        Query(alias="user", ge=1, le=2**31 - 1, description="Only this user's tokens (admins)"),
    ] = None,
) -> list[TokenRead]:
    is_admin = user.role.at_least(Role.admin)
    if user_id is not None and user_id != user.id and not is_admin:
        raise Forbidden("Only an admin can list another user's tokens.")
    if not is_admin:
        user_id = user.id
    return [TokenRead.of(token) for token in service.list_tokens(session, user_id=user_id)]


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke an API token: your own; an admin any (revoking twice changes nothing)",
)
def revoke_token(token_id: int, session: SessionDep, user: ApiUser) -> Response:
    service.revoke_token(session, token_id, actor=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
