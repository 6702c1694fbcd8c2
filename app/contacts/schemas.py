"""Pydantic schemas at the edges of the contacts domain (API, forms, imports)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from app.contacts.names import NAME_PART_MAX, ORGANISATION_FORM_MAX
from app.models.contacts import AliasKind, ContactKind, Gender, OrganisationType, UnLocation
from app.validation import IsoDate

LANGUAGE_PATTERN = r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$"
# The languages a name may be stored in besides its Latin form (addressing.NAME_FORM_LANGUAGES).
NameLanguage = Literal["en", "fr", "es", "ru", "ar", "zh"]


class NameFormIn(BaseModel):
    """A person's name in one language's script."""

    model_config = ConfigDict(extra="forbid")

    given: str = Field(default="", max_length=NAME_PART_MAX)
    patronymic: str = Field(default="", max_length=NAME_PART_MAX)
    family: str = Field(default="", max_length=NAME_PART_MAX)

    @field_validator("given", "patronymic", "family")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


def _person_forms(value: dict[NameLanguage, NameFormIn]) -> dict[NameLanguage, NameFormIn]:
    """Languages with no part given are left out."""
    return {k: v for k, v in value.items() if v.given or v.patronymic or v.family}


def _organisation_forms(value: dict[NameLanguage, str]) -> dict[NameLanguage, str]:
    return {k: v.strip() for k, v in value.items() if v.strip()}


PersonNameForms = Annotated[dict[NameLanguage, NameFormIn], AfterValidator(_person_forms)]
OrganisationNameForms = Annotated[
    dict[NameLanguage, Annotated[str, Field(max_length=ORGANISATION_FORM_MAX)]],
    AfterValidator(_organisation_forms),
]


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


def normalise_email(value: str) -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from exc


def normalise_phone(value: str, region: str | None = None) -> str:
    """E.164 form; a number without +country code needs the contact's country."""
    try:
        number = phonenumbers.parse(value.strip(), (region or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(
            "not a phone number; write it with the country code, e.g. +992 37 221 1234"
        ) from exc
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class OrganisationBase(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    short_name: str = Field(default="", max_length=80)
    native_name: str = Field(default="", max_length=200)
    type: OrganisationType
    parent_id: int | None = None
    country: str | None = Field(default=None, description="ISO 3166 code (alpha-2 or alpha-3)")
    host_country: str | None = Field(default=None, description="For embassies: the host state")
    host_city: str = Field(default="", max_length=120)
    un_location: UnLocation | None = None
    office_title: str = Field(default="", max_length=200)
    name_forms: OrganisationNameForms = Field(
        default_factory=dict, description="The name per language (en fr es ru ar zh)"
    )
    preferred_language: str = Field(default="en", pattern=LANGUAGE_PATTERN, max_length=20)
    website: str = Field(default="", max_length=200)
    notes: str = Field(default="", max_length=10_000)
    no_email: bool = False
    no_post: bool = False
    is_sample: bool = False
    tags: list[str] = Field(default_factory=list, max_length=50)

    _blank = field_validator("parent_id", "country", "host_country", "un_location", mode="before")(
        _blank_to_none
    )

    @field_validator("name", "short_name", "native_name", "host_city", "office_title")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class OrganisationCreate(OrganisationBase):
    pass


class OrganisationUpdate(OrganisationBase):
    version: int = Field(ge=1, description="The version you read; a stale one gives 409")


class PersonBase(BaseModel):
    honorific: str = Field(default="", max_length=40)
    given_name: str = Field(default="", max_length=120)
    family_name: str = Field(default="", max_length=120)
    native_name: str = Field(default="", max_length=200)
    name_forms: PersonNameForms = Field(
        default_factory=dict,
        description='Per language (en fr es ru ar zh): {"given", "patronymic", "family"}',
    )
    gender: Gender = Gender.unspecified
    preferred_language: str = Field(default="en", pattern=LANGUAGE_PATTERN, max_length=20)
    notes: str = Field(default="", max_length=10_000)
    salutation_overrides: dict[str, str] = Field(default_factory=dict)
    no_email: bool = False
    no_post: bool = False
    is_sample: bool = False
    tags: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("honorific", "given_name", "family_name", "native_name")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("salutation_overrides")
    @classmethod
    def _overrides(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for lang, text in value.items():
            text = text.strip()
            if text:
                out[lang.strip().lower()[:20]] = text[:200]
        return out

    @model_validator(mode="after")
    def _named(self) -> PersonBase:
        if not (self.given_name or self.family_name or self.native_name):
            raise ValueError("give at least a given name, a family name or a native-script name")
        return self


class PersonCreate(PersonBase):
    pass


class PersonUpdate(PersonBase):
    version: int = Field(ge=1, description="The version you read; a stale one gives 409")


class PositionUpdate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    is_office_holder: bool = False

    _blank = field_validator("start_date", "end_date", mode="before")(_blank_to_none)

    @model_validator(mode="after")
    def _dates(self) -> PositionUpdate:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("the end date is before the start date")
        return self


class PositionCreate(PositionUpdate):
    person_id: int
    organisation_id: int


class ContactPointIn(BaseModel):
    kind: ContactKind
    label: str = Field(default="", max_length=80)
    preferred: bool = False
    value: str = Field(default="", max_length=320, description="Email, or phone/fax number")
    street_address: str = Field(default="", max_length=500)
    city: str = Field(default="", max_length=120)
    city_area: str = Field(default="", max_length=120)
    postal_code: str = Field(default="", max_length=40)
    country_area: str = Field(default="", max_length=120)
    country_code: str = Field(default="", pattern=r"^([A-Za-z]{2})?$")

    @model_validator(mode="after")
    def _check(self) -> ContactPointIn:
        self.country_code = self.country_code.upper()
        if self.kind == ContactKind.email:
            self.value = normalise_email(self.value)
        elif self.kind in (ContactKind.phone, ContactKind.fax):
            if self.country_code or self.value.strip().startswith("+") or not self.value.strip():
                self.value = normalise_phone(self.value, self.country_code)
            else:
                # as dialled in the country: the service reads it in the owner's (host) country
                self.value = self.value.strip()
        else:
            if not self.street_address.strip() or not self.city.strip():
                raise ValueError("a postal address needs a street address and a city")
            # without a country, the service takes the owner's host country, else its country
            self.value = ""
        return self


class ContactPointCreate(ContactPointIn):
    person_id: int | None = None
    organisation_id: int | None = None

    @model_validator(mode="after")
    def _owner(self) -> ContactPointCreate:
        if (self.person_id is None) == (self.organisation_id is None):
            raise ValueError("give exactly one of person_id or organisation_id")
        return self


class ContactPointRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int | None
    organisation_id: int | None
    kind: ContactKind
    label: str
    preferred: bool
    value: str
    street_address: str
    city: str
    city_area: str
    postal_code: str
    country_area: str
    country_code: str


class PositionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    organisation_id: int
    title: str
    start_date: date | None
    end_date: date | None
    is_office_holder: bool


class OrganisationRead(BaseModel):
    id: int
    name: str
    short_name: str
    native_name: str
    type: OrganisationType
    parent_id: int | None
    country: str | None
    host_country: str | None
    host_city: str
    un_location: UnLocation | None
    office_title: str
    name_forms: dict[str, str]
    preferred_language: str
    website: str
    notes: str
    no_email: bool
    no_post: bool
    is_sample: bool
    tags: list[str]
    version: int


class PersonRead(BaseModel):
    id: int
    honorific: str
    given_name: str
    family_name: str
    native_name: str
    name_forms: dict[str, dict[str, str]]
    gender: Gender
    preferred_language: str
    notes: str
    salutation_overrides: dict[str, str]
    no_email: bool
    no_post: bool
    is_sample: bool
    tags: list[str]
    version: int


class AliasIn(BaseModel):
    """Another name the record is known by."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300)
    kind: AliasKind = AliasKind.spelling


class AliasRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: AliasKind
    folded: str = Field(description="The name as search and duplicate detection compare it")


class PersonDetail(PersonRead):
    positions: list[PositionRead]
    contact_points: list[ContactPointRead]
    aliases: list[AliasRead] = Field(default_factory=list)


class OrganisationDetail(OrganisationRead):
    positions: list[PositionRead]
    contact_points: list[ContactPointRead]
    aliases: list[AliasRead] = Field(default_factory=list)


TreatyStatusFilter = Literal[
    "", "non_signatory", "signatory", "state_party", "withdrawn", "not_party"
]
ID_LIST_MAX = 10_000  # ids of one kind in a hand-picked list
TREATY_STATUS_LABELS = {
    "not_party": "Not party",
    "non_signatory": "Not a signatory",
    "signatory": "Signatory (not bound)",
    "state_party": "State party",
    "withdrawn": "Withdrawn",
}


class SearchFilters(BaseModel):
    """A directory search; saved as a segment's filter."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", max_length=200)
    kind: Literal["", "person", "organisation"] = ""
    organisation_type: OrganisationType | None = None
    organisation_id: int | None = None
    country: str = Field(default="", max_length=3, description="ISO alpha-2 or alpha-3")
    region: str = Field(default="", max_length=40)
    sub_region: str = Field(default="", max_length=60)
    tag: str = Field(default="", max_length=80)
    position: str = Field(default="", max_length=200, description="Words in a current title")
    treaty: str = Field(default="", max_length=20, description="Treaty short name, e.g. CCM")
    treaty_status: TreatyStatusFilter = Field(
        default="",
        description="Status of the contact's state under `treaty` (today, or on `treaty_on`); "
        "`not_party` is any status but state party",
    )
    treaty_on: IsoDate | None = Field(
        default=None, description="The day `treaty_status` is read on (default: today)"
    )
    include_sample: bool = True
    # A hand-picked list (a bulk selection, a list segment): when either is given, only these
    # records match, and a kind with no ids matches nobody.
    person_ids: list[int] = Field(default_factory=list, max_length=ID_LIST_MAX)
    organisation_ids: list[int] = Field(default_factory=list, max_length=ID_LIST_MAX)

    _blank = field_validator("organisation_type", "organisation_id", "treaty_on", mode="before")(
        _blank_to_none
    )

    @field_validator("person_ids", "organisation_ids", mode="before")
    @classmethod
    def _id_list(cls, value: Any) -> Any:
        """Ids as a list, or as one comma-separated string (a form field, a query parameter)."""
        if value is None or value == "":
            return []
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("person_ids", "organisation_ids")
    @classmethod
    def _ids_positive(cls, value: list[int]) -> list[int]:
        if any(i < 1 or i > 2**31 - 1 for i in value):
            raise ValueError("ids are positive integers")
        return sorted(set(value))

    @property
    def by_ids(self) -> bool:
        return bool(self.person_ids or self.organisation_ids)

    @field_validator("treaty")
    @classmethod
    def _treaty(cls, value: str) -> str:
        return value.strip().upper()

    @model_validator(mode="after")
    def _treaty_needed(self) -> SearchFilters:
        if self.treaty_status and not self.treaty:
            raise ValueError("choose the treaty whose status to filter by")
        return self

    def is_empty(self) -> bool:
        return self == SearchFilters()


class SearchHit(BaseModel):
    kind: Literal["person", "organisation"]
    id: int
    name: str
    native_name: str
    detail: str
    organisation: str
    country: str
    is_sample: bool


class SearchPage(BaseModel):
    items: list[SearchHit]
    total: int
    page: int
    per_page: int


class TagCreate(BaseModel):
    name: str = Field(min_length=1, max_length=80)


class TagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class SegmentIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=500)
    filters: SearchFilters


class SegmentRead(BaseModel):
    id: int
    name: str
    description: str
    filters: SearchFilters


class TagUpdate(TagCreate):
    pass


class PositionEnd(BaseModel):
    end_date: IsoDate


class TimelineEventRead(BaseModel):
    when: date | datetime
    kind: str
    title: str
    detail: str
    url: str


class RecipientRead(BaseModel):
    person_id: int | None
    organisation_id: int | None
    display_name: str
    title: str
    organisation_name: str
    country_iso3: str
    country_name: str
    language: str
    salutation: str
    salutations: dict[str, str]
    address_lines: list[str]
    email: str
    no_email: bool
    no_post: bool
    honorific: str
    given_name: str
    family_name: str
    native_name: str
    gender: Literal["m", "f", ""]
    organisation_type: str
    has_holder: bool
    office_title: str
    postal: dict[str, str] | None
    postal_lines: list[str]
    name_forms: dict[str, dict[str, str]]
    organisation_name_forms: dict[str, str]
    phone: str = ""
    salutation_overrides: dict[str, str] = {}


class MergeRequest(BaseModel):
    kind: Literal["person", "organisation"]
    keep_id: int
    drop_id: int

    @model_validator(mode="after")
    def _distinct(self) -> MergeRequest:
        if self.keep_id == self.drop_id:
            raise ValueError("choose two different records to merge")
        return self
