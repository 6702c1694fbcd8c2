from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.letters.context import LANGUAGES
from app.letters.render import LAYOUTS

Language = Literal["en", "fr", "es", "ru", "ar", "zh"]
Style = Literal["formal", "personal"]


def _check_layout(value: str) -> str:
    if value not in LAYOUTS:
        raise ValueError(f"choose one of: {', '.join(LAYOUTS)}")
    return value


class VariantSave(BaseModel):
    subject: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=200_000)
    note: str = Field(default="", max_length=200)


class TemplateCreate(VariantSave):
    slug: str = Field(min_length=2, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    layout: str = "a4"
    language: Language = "en"
    style: Style = Field(
        default="formal",
        description='"formal": diplomatic protocol ("Excellency,"); "personal": "Dear President '
        'Rahmon,"',
    )

    _layout = field_validator("layout")(_check_layout)


class TemplateUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    layout: str = "a4"
    style: Style = "formal"
    version: int = Field(ge=1, description="The version you edited (optimistic locking)")

    _layout = field_validator("layout")(_check_layout)


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    template_id: int
    language: str
    number: int
    subject: str
    body: str
    note: str
    created_by_id: int | None
    created_at: datetime


class TemplateRead(BaseModel):
    id: int
    slug: str
    name: str
    description: str
    layout: str
    style: str
    default_language: str
    is_builtin: bool
    version: int
    languages: list[str]
    current: dict[str, VersionRead]


class TemplateSummary(BaseModel):
    id: int
    slug: str
    name: str
    description: str
    layout: str
    is_builtin: bool
    languages: list[str]


class TemplateList(BaseModel):
    items: list[TemplateSummary]
    total: int
    page: int
    per_page: int


class FieldRead(BaseModel):
    name: str = Field(description='A merge field ("recipient.salutation") or a filter\'s usage')
    description: str
    example: Any = Field(description="The English example")
    kind: Literal["field", "filter"] = "field"
    examples: dict[str, Any] = Field(
        default_factory=dict,
        description="The example in each language, from the preview's sample letter",
    )


class DiffLineRead(BaseModel):
    kind: Literal["same", "add", "del", "gap"]
    old: int | None = Field(description="Line number in the previous version")
    new: int | None = Field(description="Line number in this version")
    text: str


class VersionDiffRead(BaseModel):
    version: VersionRead
    previous: VersionRead | None
    subject_changed: bool
    added: int
    removed: int
    lines: list[DiffLineRead]


class PreviewRequest(BaseModel):
    language: Language = "en"
    version_id: int | None = None
    format: Literal["pdf", "html"] = "pdf"
    pdf_variant: Literal["pdf/a-3b", "pdf/a-2b"] | None = None
    context: dict[str, Any] | None = Field(
        default=None, description="Optional plain-data context; the sample context by default"
    )
    person_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="Preview addressed to this person"
    )
    organisation_id: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="Preview addressed to this organisation's office (its holder today)",
    )


LANGUAGE_CHOICES = list(LANGUAGES.items())
