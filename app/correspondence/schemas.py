"""Letter actions at the edges: what the API and the forms accept and answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from app.models import Channel
from app.validation import IsoDate


def _blank_none(value: Any) -> Any:
    return None if value == "" else value


class LetterAction(BaseModel):
    version: int | None = Field(
        default=None, ge=1, le=2**31, description="The version you saw (409 when stale)"
    )

    @field_validator("version", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_none(value)


class LetterSend(LetterAction):
    channel: Channel = Channel.email
    date: IsoDate | None = Field(
        default=None, description="When it went by post, fax, hand or bag (not for email)"
    )
    note: str = Field(default="", max_length=1000)

    @field_validator("date", mode="before")
    @classmethod
    def _blank_date(cls, value: Any) -> Any:
        return _blank_none(value)


class LetterText(LetterAction):
    subject: str = Field(min_length=1, max_length=500)
    body_html: str = Field(min_length=1, max_length=200_000, description="Letter text (HTML)")


class DeliveryCheck(BaseModel):
    delivered: bool = Field(description="True: the email arrived; false: send it again")


class LetterClose(LetterAction):
    note: str = Field(default="", max_length=1000)


class SendApproved(BaseModel):
    batch_id: int | None = Field(default=None, ge=1, le=2**62)
    campaign_id: int | None = Field(default=None, ge=1, le=2**62)

    @field_validator("batch_id", "campaign_id", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_none(value)

    @model_validator(mode="after")
    def _one(self) -> SendApproved:
        if (self.batch_id is None) == (self.campaign_id is None):
            raise ValueError("Give exactly one of batch_id or campaign_id.")
        return self


class MarkPosted(BaseModel):
    batch_id: int = Field(ge=1, le=2**62)
    date: IsoDate
    note: str = Field(default="", max_length=1000)


class LetterStateRead(BaseModel):
    id: int
    reference: str
    recipient_name: str
    subject: str
    status: str = Field(
        description="draft, awaiting second approval, approved, sending, sent, replied, "
        "closed, failed or bounced"
    )
    channel: Channel
    letter_date: dt.date | None
    sent_on: dt.date | None
    reply_due_on: dt.date | None
    days_overdue: int
    campaign_id: int | None
    batch_id: int | None
    follow_up_of_id: int | None = None
    email_to: str
    email_message_id: str = ""
    version: int


class BatchSendRead(BaseModel):
    queued: list[int]
    skipped: list[dict[str, str]]


class BatchPostedRead(BaseModel):
    posted: list[int]
    skipped: list[dict[str, str]]


class OverdueRead(BaseModel):
    total: int
    page: int
    items: list[LetterStateRead]
