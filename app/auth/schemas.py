from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator

from app.auth import passwords
from app.models import ApiToken, Role


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    role: Role
    is_active: bool
    created_at: datetime


class UserCreate(BaseModel):
    email: EmailStr
    full_name: str = Field(default="", max_length=200)
    role: Role
    password: str = Field(
        min_length=passwords.MIN_LENGTH,
        max_length=passwords.MAX_LENGTH,
        description=passwords.RULES + ".",
    )

    @field_validator("password")
    @classmethod
    def _strong_enough(cls, value: str, info: ValidationInfo) -> str:
        why = passwords.problem(value, str(info.data.get("email") or ""))
        if why:
            raise ValueError(why)
        return value


class TokenRead(BaseModel):
    """An API token as listed: never the token itself (only its hash is stored)."""

    id: int
    user_id: int
    user_email: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool

    @classmethod
    def of(cls, token: ApiToken) -> TokenRead:
        return cls(
            id=token.id,
            user_id=token.user_id,
            user_email=token.user.email,
            name=token.name,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked=token.revoked,
        )
