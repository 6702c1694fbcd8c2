from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProfileBase(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    short_name: str = Field(default="", max_length=40)
    address: str = Field(default="", max_length=2000)
    country_code: str = Field(default="", max_length=2, pattern=r"^([A-Za-z]{2})?$")
    email: str = Field(default="", max_length=320)
    phone: str = Field(default="", max_length=40)
    website: str = Field(default="", max_length=200)
    signatory_name: str = Field(default="", max_length=200)
    signatory_title: str = Field(default="", max_length=200)
    reference_prefix: str = Field(default="", max_length=20)


class ProfileUpdate(ProfileBase):
    pass


class ProfileRead(ProfileBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
