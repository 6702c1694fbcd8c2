"""What an import is asked to do (its options, what to do with each duplicate) and what it
reports back: the bodies of the import API and the dry run's report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field

from app.contacts.schemas import LANGUAGE_PATTERN
from app.models import OrganisationType

Action = Literal["merge", "skip", "create"]
Progress = Callable[[str, int, int], None]


class DuplicateChoices(BaseModel):
    """What to do with rows that match another row or an existing record."""

    default: Action = "merge"
    rows: dict[int, Action] = Field(default_factory=dict, description="row number -> action")


class ImportOptions(BaseModel):
    encoding: str = Field(default="auto", max_length=20)
    delimiter: str = Field(default="auto", max_length=4)
    mapping: dict[str, str] | list[str] | None = Field(
        default=None,
        description='{"column header or number": "field"}, or a field per column ("" = ignore);'
        " omitted: guessed",
    )
    duplicates: DuplicateChoices = Field(default_factory=DuplicateChoices)
    default_language: str = Field(default="en", pattern=LANGUAGE_PATTERN, max_length=20)
    new_organisation_type: OrganisationType = OrganisationType.ngo
    tags: list[str] = Field(default_factory=list, max_length=10, description="Added to every row")


class BadRow(BaseModel):
    row: int
    reasons: list[str]
    preview: str


class DuplicateMatch(BaseModel):
    row: int
    reason: str
    of_row: int | None = None
    existing_kind: Literal["person", "organisation"] | None = None
    existing_id: int | None = None
    existing_name: str = ""
    also_existing_id: int | None = Field(
        default=None, description="A second existing record the row matches: a likely duplicate"
    )
    action: Action


class Counts(BaseModel):
    people: int = 0
    organisations: int = 0
    contact_points: int = 0
    positions: int = 0
    tags: int = 0


class CreatedRecord(BaseModel):
    id: int
    name: str


class ImportReport(BaseModel):
    dry_run: bool
    imported: bool
    filename: str
    encoding: str
    delimiter: str
    headers: list[str]
    mapping: list[str]
    mapping_source: Literal["given", "remembered", "guessed"] = Field(
        default="given",
        description="given in the request, remembered from the last import of these headers, "
        "or guessed from them",
    )
    total_rows: int
    bad_rows: list[BadRow]
    duplicates: list[DuplicateMatch]
    created: Counts
    updated: Counts
    skipped: int
    created_people: list[CreatedRecord] = Field(
        default_factory=list, description="The first 1,000 people created"
    )
    created_organisations: list[CreatedRecord] = Field(
        default_factory=list, description="The first 1,000 organisations created"
    )
    separate: list[DuplicateMatch] = Field(
        default_factory=list, description="Duplicates imported as separate records, to merge"
    )
    encoding_label: str = Field(default="", description='How the file was read: "Windows-1251…"')
    warnings: list[BadRow] = Field(
        default_factory=list,
        description="Rows imported but worth a look: letters the file lost as “?” (first 1,000)",
    )
    batch_id: int | None = Field(default=None, description="The import's batch, to undo it")
