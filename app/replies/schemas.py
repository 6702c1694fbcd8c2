"""Replies, positions and tracker at the edges (API bodies and web forms)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.contacts.schemas import normalise_email
from app.models import Channel, PositionStance, ReplyKind, ReplyStatus


def _blank_none(value: Any) -> Any:
    return None if value == "" else value


def _id_list(value: Any) -> Any:
    if value is None or value == "":
        return []
    if isinstance(value, str | int):
        value = [value]
    return [v for v in value if v != ""]


STANCE_LABELS = {
    PositionStance.supports: "Supports",
    PositionStance.will_consider: "Will consider",
    PositionStance.opposes: "Opposes",
    PositionStance.no_position: "No position",
    PositionStance.already_party: "Already party",
}
LANGUAGE_PATTERN = "^([a-z]{2})?$"


class PositionIn(BaseModel):
    """The position a reply states on one treaty."""

    treaty: str = Field(min_length=1, max_length=20, description="Treaty short name, e.g. CCM")
    stance: PositionStance
    quote: str = Field(default="", max_length=10_000)
    stated_on: date | None = Field(
        default=None, description="When the position was stated (default: the reply's date)"
    )

    @field_validator("stated_on", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_none(value)


class ReplyCreate(BaseModel):
    received_on: date
    dated_on: date | None = Field(default=None, description="The date the reply bears")
    language: str = Field(
        default="", pattern=LANGUAGE_PATTERN, description="ISO 639-1 code, e.g. fr"
    )
    kind: ReplyKind = Field(
        default=ReplyKind.reply,
        description="reply, acknowledgement, auto_reply or bounce; only a reply marks its "
        "letters replied",
    )
    channel: Channel = Channel.post
    sender_person_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    sender_organisation_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    sender_name: str = Field(default="", max_length=300, description="Free text when not listed")
    sender_email: str = Field(default="", max_length=320)
    country: str | None = Field(
        default=None, max_length=3, description="ISO code of the state (default: the sender's)"
    )
    sender_reference: str = Field(default="", max_length=200)
    cited_letter_date: date | None = None
    subject: str = Field(default="", max_length=500)
    summary: str = Field(default="", max_length=20_000)
    full_text: str = Field(default="", max_length=500_000)
    letter_ids: list[int] = Field(default_factory=list, max_length=200)
    positions: list[PositionIn] = Field(default_factory=list, max_length=20)

    @field_validator(
        "sender_person_id",
        "sender_organisation_id",
        "country",
        "cited_letter_date",
        "dated_on",
        mode="before",
    )
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_none(value)

    @field_validator("letter_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_list(value)

    @field_validator("letter_ids")
    @classmethod
    def _id_range(cls, value: list[int]) -> list[int]:
        if any(not 1 <= v <= 2**31 - 1 for v in value):
            raise ValueError("letter ids are positive integers")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _someone(self) -> ReplyCreate:
        if not (self.sender_person_id or self.sender_organisation_id or self.sender_name.strip()):
            raise ValueError("Say who sent the reply: pick a contact or type a name.")
        return self


class ReplyUpdate(BaseModel):
    """What can be corrected after logging; letters and positions have their own actions."""

    received_on: date
    dated_on: date | None = Field(default=None, description="The date the reply bears")
    language: str = Field(default="", pattern=LANGUAGE_PATTERN, description="ISO 639-1 code")
    kind: ReplyKind | None = Field(
        default=None,
        description="reply, acknowledgement, auto_reply or bounce (absent: unchanged); only a "
        "reply marks its letters replied",
    )
    channel: Channel = Channel.post
    sender_name: str = Field(default="", max_length=300)
    sender_reference: str = Field(default="", max_length=200)
    cited_letter_date: date | None = None
    subject: str = Field(default="", max_length=500)
    summary: str = Field(default="", max_length=20_000)
    full_text: str = Field(default="", max_length=500_000)
    version: int = Field(ge=1, le=2**31 - 1, description="The version you read; stale gives 409")

    @field_validator("cited_letter_date", "dated_on", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_none(value)


class LinkLetters(BaseModel):
    letter_ids: list[int] = Field(min_length=1, max_length=200)

    @field_validator("letter_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_list(value)

    @field_validator("letter_ids")
    @classmethod
    def _id_range(cls, value: list[int]) -> list[int]:
        if any(not 1 <= v <= 2**31 - 1 for v in value):
            raise ValueError("letter ids are positive integers")
        return value


class DismissIn(BaseModel):
    note: str = Field(default="", max_length=1000)


class ContactFromSender(BaseModel):
    """Triage: make a directory entry from an unknown sender, explicitly."""

    kind: str = Field(default="person", pattern="^(person|organisation)$")
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(default="", max_length=320)
    organisation_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    country: str | None = Field(default=None, max_length=3)

    @field_validator("organisation_id", "country", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_none(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        # Checked here, where the sender is named, not later in the contact point it becomes.
        return normalise_email(value) if value.strip() else ""


class PositionCreate(BaseModel):
    country: str = Field(min_length=2, max_length=3, description="ISO code of the state")
    treaty: str = Field(min_length=1, max_length=20)
    stance: PositionStance
    stated_on: date
    quote: str = Field(default="", max_length=10_000)
    source: str = Field(default="", max_length=500, description="Evidence other than a reply")
    reply_id: int | None = Field(default=None, ge=1, le=2**31 - 1)

    @field_validator("reply_id", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_none(value)

    @model_validator(mode="after")
    def _evidence(self) -> PositionCreate:
        if not self.reply_id and not self.source.strip():
            raise ValueError("Give the evidence: a reply or the source of the statement.")
        return self


class PositionUpdate(BaseModel):
    stance: PositionStance
    stated_on: date
    quote: str = Field(default="", max_length=10_000)
    source: str = Field(default="", max_length=500)


class PositionRead(BaseModel):
    id: int
    country: str
    country_name: str
    treaty: str
    stance: PositionStance
    stated_on: date
    quote: str
    source: str
    reply_id: int | None


class AttachmentRead(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    url: str


class LetterLinkRead(BaseModel):
    letter_id: int
    reference: str
    matched_by: str
    reasons: list[str] = Field(description="Why the matcher suggested it, kept after linking")


class ReplyRead(BaseModel):
    id: int
    status: ReplyStatus
    kind: ReplyKind
    received_on: date
    dated_on: date | None
    language: str
    channel: Channel
    sender_person_id: int | None
    sender_organisation_id: int | None
    sender_name: str
    sender_email: str
    country: str | None
    sender_reference: str
    cited_letter_date: date | None
    subject: str
    summary: str
    full_text: str
    triage_note: str
    letters: list[LetterLinkRead]
    attachments: list[AttachmentRead]
    positions: list[PositionRead]
    version: int


class MatchRequest(BaseModel):
    subject: str = Field(default="", max_length=500)
    text: str = Field(default="", max_length=500_000)
    sender_person_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    sender_organisation_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    country: str | None = Field(default=None, max_length=3)
    cited_letter_date: date | None = None

    @field_validator(
        "sender_person_id", "sender_organisation_id", "country", "cited_letter_date", mode="before"
    )
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_none(value)


class SuggestionRead(BaseModel):
    letter_id: int
    reference: str
    recipient_name: str
    country: str
    letter_date: date | None
    sent_on: date | None
    status: str
    score: int
    reasons: list[str]
    certain: bool


class TrackerRowRead(BaseModel):
    country: str
    country_name: str
    letter_id: int | None
    reference: str
    addressee: str
    sent_on: date | None
    channel: str
    status: str
    days_waiting: int | None
    overdue: bool
    replied_on: date | None
    acknowledged_on: date | None = None
    position: str


class TrackerRead(BaseModel):
    campaign_id: int
    counts: dict[str, float]
    rows: list[TrackerRowRead]


class AnalyseRequest(MatchRequest):
    """What ``/replies/suggest`` takes, and the language of an attached scan when known."""

    language: str = Field(
        default="",
        pattern=LANGUAGE_PATTERN,
        description="ISO 639-1 code of the scan's language (empty: detected)",
    )


class ExtractedRead(BaseModel):
    """What the reading found in the reply's text."""

    model_config = ConfigDict(extra="allow")

    sender_organisation_id: int | None
    sender_organisation: str = Field(default="", description="The directory name it matched")
    sender_reason: str = Field(default="", description="Why that organisation")
    sender_reference: str
    dated_on: date | None
    cited_letter_date: date | None
    our_reference: str
    language: str


class AnalysedSuggestion(SuggestionRead):
    tied: bool = Field(description="Another letter has the same top score")


class StanceRead(BaseModel):
    treaty: str
    stance: PositionStance
    quote: str
    confidence: float = Field(ge=0, le=1)


class AnalysisRead(BaseModel):
    extracted: ExtractedRead
    letters: list[AnalysedSuggestion]
    tie_note: str | None = Field(description='e.g. "2 letters fit equally: ..." when tied')
    positions: list[StanceRead]
    acknowledgement: bool = Field(description="It only acknowledges receipt or forwarding")
    text: str = Field(description="The text analysed, with the scan's text when one was sent")
