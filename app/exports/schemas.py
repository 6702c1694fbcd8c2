"""What an export asks for: its source, format, columns and options."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.contacts.schemas import SearchFilters
from app.models import ExportStatus

Format = Literal["csv", "xlsx", "vcard", "labels", "envelopes"]
Source = Literal["segment", "search", "campaign", "batch"]
POSTAL_FORMATS = ("labels", "envelopes")

# key -> header; the order here is the order offered in the form.
COLUMNS: dict[str, str] = {
    "kind": "Kind",
    "id": "Id",
    "honorific": "Honorific",
    "given_name": "Given name",
    "family_name": "Family name",
    "display_name": "Name",
    "native_name": "Name (native script)",
    "title": "Title",
    "organisation": "Organisation",
    "organisation_native": "Organisation (native script)",
    "country": "Country",
    "country_iso3": "ISO3",
    "language": "Language",
    "salutation": "Salutation",
    "email": "Email",
    "phone": "Phone",
    "street_address": "Street address",
    "city": "City",
    "postal_code": "Postal code",
    "country_area": "Region",
    "country_code": "Country code",
    "address_block": "Address (formatted)",
    "in_office_since": "In office since",
    "updated_at": "Last updated",
    "no_email": "Do not email",
    "no_post": "Do not post",
    "merged": "Contacts at this address",
}
DEFAULT_COLUMNS = [
    "display_name",
    "native_name",
    "title",
    "organisation",
    "country",
    "email",
    "phone",
    "street_address",
    "city",
    "postal_code",
    "country_code",
    "language",
]

LABEL_PRESETS = ("L7160", "5160", "custom")
ENVELOPES = ("DL", "C5")
PAGE_SIZES = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}


class LabelGrid(BaseModel):
    """A sheet of labels, in millimetres."""

    model_config = ConfigDict(extra="forbid")

    page: Literal["A4", "Letter"] = "A4"
    columns: int = Field(default=3, ge=1, le=10)
    rows: int = Field(default=7, ge=1, le=30)
    label_width: float = Field(default=63.5, ge=10, le=300)
    label_height: float = Field(default=38.1, ge=8, le=300)
    margin_top: float = Field(default=15.15, ge=0, le=100)
    margin_left: float = Field(default=7.25, ge=0, le=100)
    gap_x: float = Field(default=2.54, ge=0, le=50)
    gap_y: float = Field(default=0.0, ge=0, le=50)

    @model_validator(mode="after")
    def _fits(self) -> LabelGrid:
        width, height = PAGE_SIZES[self.page]
        used_w = (
            self.margin_left + self.columns * self.label_width + (self.columns - 1) * self.gap_x
        )
        used_h = self.margin_top + self.rows * self.label_height + (self.rows - 1) * self.gap_y
        if used_w > width + 0.01 or used_h > height + 0.01:
            raise ValueError(
                f"the grid needs {used_w:.1f} × {used_h:.1f} mm but the {self.page} page is "
                f"{width:g} × {height:g} mm"
            )
        return self

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


PRESET_GRIDS = {
    # Avery L7160: 21 per A4 sheet, 63.5 × 38.1 mm.
    "L7160": LabelGrid(),
    # Avery 5160: 30 per US Letter sheet, 2 5/8 × 1 in.
    "5160": LabelGrid(
        page="Letter",
        columns=3,
        rows=10,
        label_width=66.675,
        label_height=25.4,
        margin_top=12.7,
        margin_left=4.7625,
        gap_x=3.175,
        gap_y=0.0,
    ),
}


class ExportRequest(BaseModel):
    """One export: where the contacts come from, the format and its options."""

    model_config = ConfigDict(extra="forbid")

    source: Source
    segment_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    campaign_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    batch_id: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="source batch: the recipients of a mail merge's letters for the post",
    )
    campaign_scope: Literal["offices", "all"] = Field(
        default="offices",
        description="offices: heads of state, governments and ministries of the target states; "
        "all: every organisation and person of those states",
    )
    filters: SearchFilters = Field(default_factory=SearchFilters)
    format: Format = "csv"
    columns: list[str] = Field(default_factory=lambda: list(DEFAULT_COLUMNS), max_length=40)
    excel: bool = Field(default=False, description="CSV for Excel: byte-order mark")
    delimiter: Literal[",", ";", "\t"] = ","
    include_do_not_contact: bool = False
    merge_same_address: bool = False
    label_preset: Literal["L7160", "5160", "custom"] = "L7160"
    grid: LabelGrid | None = None
    envelope: Literal["DL", "C5"] = "DL"
    background: bool | None = Field(
        default=None, description="Run as a background job; by default only large exports do"
    )

    @field_validator("segment_id", "campaign_id", "batch_id", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in COLUMNS]
        if unknown:
            raise ValueError(f"unknown column(s): {', '.join(unknown)}")
        if not value:
            raise ValueError("choose at least one column")
        seen: list[str] = []
        for c in value:
            if c not in seen:
                seen.append(c)
        return seen

    @model_validator(mode="after")
    def _source(self) -> ExportRequest:
        if self.source == "segment" and self.segment_id is None:
            raise ValueError("choose a segment")
        if self.source == "campaign" and self.campaign_id is None:
            raise ValueError("choose a campaign")
        if self.source == "batch" and self.batch_id is None:
            raise ValueError("choose a mail merge batch")
        if self.label_preset == "custom" and self.grid is None:
            raise ValueError("a custom label sheet needs its grid")
        return self

    @property
    def label_grid(self) -> LabelGrid:
        if self.label_preset == "custom" and self.grid is not None:
            return self.grid
        return PRESET_GRIDS.get(self.label_preset, PRESET_GRIDS["L7160"])

    @property
    def is_postal(self) -> bool:
        return self.format in POSTAL_FORMATS


class Excluded(BaseModel):
    kind: Literal["person", "organisation"]
    id: int
    name: str
    organisation: str
    reason: str


class ExportPreview(BaseModel):
    source: str
    format: Format
    candidates: int
    exported: int
    merged: int
    excluded: dict[str, int]
    excluded_sample: list[Excluded]
    background: bool


class ExportJobRead(BaseModel):
    id: int
    status: ExportStatus
    format: str
    source: str
    total: int
    processed: int
    exported: int
    percent: int
    excluded: dict[str, int]
    filename: str
    size: int
    error: str
    created_at: datetime
    finished_at: datetime | None
    download_url: str | None
