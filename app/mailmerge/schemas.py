"""Mail merge schemas: where the recipients come from, the merge itself, what the API returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.contacts.schemas import SearchFilters
from app.models import BatchStatus, Channel, LetterStatus, OrganisationType
from app.validation import IsoDate

DEFAULT_PATTERN = "{campaign_code}/{year}/{iso3}/{seq:04d}"
SourceKind = Literal["segment", "filters", "contacts", "campaign"]


class MergeSource(BaseModel):
    """Recipients: a saved segment, a directory search, hand-picked contacts or campaign targets."""

    model_config = ConfigDict(extra="forbid")

    kind: SourceKind
    segment_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    filters: SearchFilters | None = None
    person_ids: list[int] = Field(default_factory=list, max_length=5000)
    organisation_ids: list[int] = Field(default_factory=list, max_length=5000)
    # For campaign targets: which office of each target state receives the letter.
    organisation_type: OrganisationType = OrganisationType.head_of_state_office

    @field_validator("person_ids", "organisation_ids")
    @classmethod
    def _ids(cls, value: list[int]) -> list[int]:
        if any(i < 1 or i > 2**31 - 1 for i in value):
            raise ValueError("Ids are positive integers")
        return list(dict.fromkeys(value))


class MergeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: int = Field(ge=1, le=2**31 - 1)
    source: MergeSource
    name: str = Field(default="", max_length=200)
    campaign_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    treaty: str = Field(
        default="", max_length=20, description="Treaty short name (default: the campaign's)"
    )
    letter_date: IsoDate | None = None
    reference_pattern: str = Field(default=DEFAULT_PATTERN, min_length=1, max_length=120)
    channel: Literal["post", "email"] = "post"
    pdf_variant: Literal["", "pdf/a-3b", "pdf/a-2b"] = ""
    cosigner_ids: list[int] = Field(
        default_factory=list,
        max_length=12,
        description="Co-signing organisations (Settings → Co-signers) whose names, logos and "
        "signatories the letters carry (with a co-signed layout)",
    )
    fold_marks: bool = Field(
        default=False, description="Print fold and punch marks on the left edge of each letter"
    )
    recto: bool = Field(
        default=False,
        description="In the combined PDF, start every letter on a right-hand page (duplex)",
    )
    mode: Literal["per_recipient", "one_letter"] = Field(
        default="per_recipient",
        description='"per_recipient": one letter each; "one_letter": a single letter whose '
        "addressee list (the organisations field) names every recipient, as joint letters and "
        "memos are written",
    )
    signatory_name: str = Field(
        default="",
        max_length=200,
        description="Who signs this merge's letters, as written (default: the organisation's "
        "signatory in each letter's language, from Settings)",
    )
    signatory_title: str = Field(
        default="", max_length=200, description="The signatory's title, as written"
    )
    from_line: str = Field(
        default="",
        max_length=300,
        description="A memo's From line, as written (\"citizens of Tajikistan from around the "
        "world\"); default: the organisation's name in each letter's language",
    )
    language: str = Field(
        default="recipient",
        max_length=20,
        description=(
            '"recipient": each recipient\'s preferred language (the default); or one language '
            "code (en, fr, es, ru, ar, zh) for every letter. A language the template has no "
            "text in falls back to the template's default language, shown per recipient in the "
            "preview."
        ),
    )

    @field_validator("cosigner_ids")
    @classmethod
    def _cosigners(cls, value: list[int]) -> list[int]:
        if any(i < 1 or i > 2**31 - 1 for i in value):
            raise ValueError("Ids are positive integers")
        return list(dict.fromkeys(value))

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        from app.letters.context import LANGUAGES

        value = value.strip().lower() or "recipient"
        if value != "recipient" and value not in LANGUAGES:
            choices = ", ".join(LANGUAGES)
            raise ValueError(f'Give "recipient" or one of {choices}')
        return value

    @field_validator("from_line", "signatory_name", "signatory_title")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in value):
            raise ValueError("Give one line of text")
        return " ".join(value.split())


class RecipientRow(BaseModel):
    key: str
    name: str
    country: str
    language: str
    reason: str = ""
    language_note: str = Field(
        default="", description="Why the letter is not in the language asked for, if it is not"
    )
    empty_fields: list[str] = Field(
        default_factory=list,
        description="Merge fields the template prints that are empty for this recipient",
    )


class MergeRead(BaseModel):
    id: int
    name: str
    status: BatchStatus
    template_id: int
    campaign_id: int | None
    reference_pattern: str
    letter_date: date | None
    total: int
    rendered: int
    failed: int
    cancel_requested: bool
    percent: int
    excluded: list[RecipientRow]
    flagged: list[RecipientRow]
    failures: list[dict[str, Any]]
    combined_pdf_url: str | None
    zip_url: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class LetterRead(BaseModel):
    id: int
    reference: str
    status: LetterStatus
    channel: Channel
    batch_id: int | None
    campaign_id: int | None
    template_version_id: int | None
    language: str
    recipient_key: str
    recipient_name: str
    person_id: int | None
    organisation_id: int | None
    subject: str
    letter_date: date | None
    pages: int
    render_error: str
    pdf_url: str | None
    version: int
