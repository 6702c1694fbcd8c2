from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.models import CampaignStatus
from app.treaties.rules import Status
from app.validation import IsoDate


def _list(value: Any) -> Any:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    return value


class TargetFilter(BaseModel):
    """States selected by region, sub-region and treaty status on a date (today when empty)."""

    region: str = Field(default="", max_length=60)
    sub_region: str = Field(default="", max_length=60)
    statuses: list[Status] = Field(default_factory=list)
    as_of: IsoDate | None = None

    @field_validator("statuses", mode="before")
    @classmethod
    def _statuses(cls, value: Any) -> Any:
        return _list(value)

    @field_validator("as_of", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if value == "" else value

    @property
    def is_empty(self) -> bool:
        return not (self.region or self.sub_region or self.statuses)


class CampaignBase(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    goal: str = Field(default="", max_length=5000)
    treaty: str | None = Field(default=None, max_length=20, description="Treaty short name")
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    status: CampaignStatus = CampaignStatus.draft
    reminder_days: int = Field(default=14, ge=0, le=365)
    reply_days: int = Field(
        default=30, ge=1, le=365, description="Days a sent letter waits before it is overdue"
    )
    second_approval: bool = Field(
        default=False, description="Letters need a second coordinator's approval"
    )
    owner: str | None = Field(
        default=None, max_length=320, description="Owner's email (default: the creator)"
    )
    target_filter: TargetFilter = Field(default_factory=TargetFilter)
    countries: list[str] = Field(default_factory=list, description="Hand-picked ISO3 codes")

    @field_validator("treaty", "start_date", "end_date", "owner", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("countries", mode="before")
    @classmethod
    def _countries(cls, value: Any) -> Any:
        items = _list(value)
        if not isinstance(items, list):
            return items  # not a list: pydantic reports the type error
        return [c.upper() if isinstance(c, str) else c for c in items]

    @model_validator(mode="after")
    def _check(self) -> CampaignBase:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("The campaign cannot end before it starts.")
        if self.target_filter.statuses and not self.treaty:
            raise ValueError("Choose a treaty to select targets by treaty status.")
        return self


class CampaignCreate(CampaignBase):
    pass


class CampaignUpdate(CampaignBase):
    version: int


class MilestoneCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    due_date: IsoDate
    description: str = Field(default="", max_length=2000)


class MilestoneRead(BaseModel):
    key: str
    kind: str
    title: str
    due_date: date
    countdown: str
    description: str = ""
    id: int | None = None


class TargetRead(BaseModel):
    iso3: str
    name: str
    sub_region: str
    status: Status | None
    hand_picked: bool


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    goal: str
    treaty: str | None
    owner: str
    start_date: date | None
    end_date: date | None
    status: CampaignStatus
    reminder_days: int
    reply_days: int = 30
    second_approval: bool = False
    target_filter: dict[str, Any]
    countries: list[str]
    version: int
    calendar_url: str
