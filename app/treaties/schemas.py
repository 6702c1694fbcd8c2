from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.treaties.rules import ActionKind, Status
from app.validation import IsoDate


class TreatyCreate(BaseModel):
    short_name: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=300)
    adopted_on: IsoDate | None = None
    signature_opened_on: IsoDate | None = None
    eif_trigger_count: int = Field(ge=1, le=500)
    eif_months_after: int = Field(default=6, ge=0, le=60)
    eif_rule: str = Field(default="", max_length=5000)
    withdrawal_rule: str = Field(default="", max_length=5000)
    source: str = Field(default="", max_length=5000)

    @field_validator("adopted_on", "signature_opened_on", mode="before")
    @classmethod
    def _blank_date(cls, value: object) -> object:
        return None if value == "" else value


class ObligationCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    article: str = Field(default="", max_length=40)
    label: str = Field(min_length=1, max_length=200)
    period_years: int = Field(default=0, ge=0, le=100)
    period_months: int = Field(default=0, ge=0, le=1200)
    period_days: int = Field(default=0, ge=0, le=36500)
    annual_month: int | None = Field(default=None, ge=1, le=12)
    annual_day: int | None = Field(default=None, ge=1, le=31)
    extension_rules: str = Field(default="", max_length=5000)

    @field_validator("annual_month", "annual_day", mode="before")
    @classmethod
    def _blank_int(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _one_kind(self) -> ObligationCreate:
        annual = self.annual_month is not None or self.annual_day is not None
        period = self.period_years or self.period_months or self.period_days
        if annual and (self.annual_month is None or self.annual_day is None):
            raise ValueError("A yearly deadline needs both a month and a day.")
        if annual and period:
            raise ValueError("Give either a period after entry into force or a yearly date.")
        if not annual and not period:
            raise ValueError("Give a period after entry into force or a yearly date.")
        if annual:
            assert self.annual_month is not None and self.annual_day is not None
            try:
                date(2001, self.annual_month, self.annual_day)
            except ValueError:
                raise ValueError("That yearly date does not exist.") from None
        return self


class ObligationRead(ObligationCreate):
    model_config = ConfigDict(from_attributes=True)
    id: int


class TreatyRead(TreatyCreate):
    model_config = ConfigDict(from_attributes=True)
    id: int
    obligations: list[ObligationRead] = []


class StateActionCreate(BaseModel):
    country: str = Field(min_length=2, max_length=3, description="ISO 3166 alpha-3 or alpha-2")
    treaty: str = Field(min_length=1, max_length=20, description="Treaty short name, e.g. CCM")
    kind: ActionKind
    action_date: IsoDate
    effective_date: IsoDate | None = None
    note: str = Field(default="", max_length=2000)
    source: str = Field(min_length=1, max_length=2000)

    @field_validator("effective_date", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _effective(self) -> StateActionCreate:
        if self.effective_date and self.kind is not ActionKind.withdrawal:
            raise ValueError("Only a withdrawal has an effective date.")
        if self.effective_date and self.effective_date < self.action_date:
            raise ValueError("A withdrawal cannot take effect before it was notified.")
        return self


class StateActionUpdate(BaseModel):
    kind: ActionKind
    action_date: IsoDate
    effective_date: IsoDate | None = None
    note: str = Field(default="", max_length=2000)
    source: str = Field(min_length=1, max_length=2000)
    version: int

    @field_validator("effective_date", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if value == "" else value


class StateActionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    country_id: int
    treaty_id: int
    kind: ActionKind
    action_date: date
    effective_date: date | None
    note: str
    source: str
    version: int


class ExtensionCreate(BaseModel):
    country: str = Field(min_length=2, max_length=3)
    treaty: str = Field(min_length=1, max_length=20)
    obligation_code: str = Field(min_length=1, max_length=40)
    new_deadline: IsoDate
    granted_by: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=2000)


class DeadlineRead(BaseModel):
    code: str
    label: str
    original: date
    current: date
    extended: bool
    extensions: list[dict[str, str]]


class CountryTreatyRead(BaseModel):
    treaty: str
    treaty_name: str
    status: Status
    signed_on: date | None
    instrument: str | None
    instrument_on: date | None
    entry_into_force: date | None
    withdrawal_effective: date | None
    deadlines: list[DeadlineRead]


class StatusCount(BaseModel):
    treaty: str
    on: date
    entry_into_force: date | None
    counts: dict[str, int]
