from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.settings_admin.schemas import clean_translations


class CosignerBase(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="As registered (English letters)")
    signatory_name: str = Field(default="", max_length=200)
    signatory_title: str = Field(default="", max_length=200)
    translations: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="The name, signatory_name and signatory_title in each letter language "
        '(en fr es ru ar zh), e.g. {"fr": {"name": "Handicap International"}}; a language left '
        "out leaves the name and title empty in letters of that language",
    )

    @field_validator("name", "signatory_name", "signatory_title", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("translations", mode="before")
    @classmethod
    def _translations(cls, value: Any) -> dict[str, dict[str, str]]:
        return clean_translations(value)


class CosignerCreate(CosignerBase):
    pass


class CosignerUpdate(CosignerBase):
    version: int = Field(ge=1, description="The version you read; a stale one is refused (409)")


class CosignerRead(CosignerBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int
    has_logo: bool = Field(description="Whether a logo image is uploaded")


class CosignerPage(BaseModel):
    total: int
    page: int
    items: list[CosignerRead]
