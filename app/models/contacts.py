"""The contacts directory: organisations, people, positions, contact points, tags, segments."""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, intpk, str200
from app.models.country import Country


class OrganisationType(enum.StrEnum):
    head_of_state_office = "head_of_state_office"
    government = "government"
    ministry = "ministry"
    embassy = "embassy"
    permanent_mission = "permanent_mission"
    international_organisation = "international_organisation"
    ngo = "ngo"

    @property
    def label(self) -> str:
        return ORGANISATION_TYPE_LABELS[self]


ORGANISATION_TYPE_LABELS = {
    OrganisationType.head_of_state_office: "Head of state's office",
    OrganisationType.government: "Government",
    OrganisationType.ministry: "Ministry",
    OrganisationType.embassy: "Embassy",
    OrganisationType.permanent_mission: "Permanent mission",
    OrganisationType.international_organisation: "International organisation",
    OrganisationType.ngo: "NGO / coalition member",
}


class UnLocation(enum.StrEnum):
    new_york = "new_york"
    geneva = "geneva"


class Gender(enum.StrEnum):
    """Grammatical gender used only to word salutations; unspecified gives neutral forms."""

    unspecified = "unspecified"
    feminine = "feminine"
    masculine = "masculine"


class ContactKind(enum.StrEnum):
    postal = "postal"
    email = "email"
    phone = "phone"
    fax = "fax"


person_tags = Table(
    "person_tags",
    Base.metadata,
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", Integer, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_person_tags_tag_id", "tag_id"),
)

organisation_tags = Table(
    "organisation_tags",
    Base.metadata,
    Column(
        "organisation_id",
        Integer,
        ForeignKey("organisations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag_id", Integer, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_organisation_tags_tag_id", "tag_id"),
)


class Tag(TimestampMixin, Base):
    __tablename__ = "tags"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(80), unique=True)


class Organisation(TimestampMixin, Base):
    __tablename__ = "organisations"

    id: Mapped[intpk]
    name: Mapped[str200] = mapped_column(index=True)
    short_name: Mapped[str] = mapped_column(String(80), default="")
    native_name: Mapped[str200] = mapped_column(default="")
    type: Mapped[OrganisationType] = mapped_column(
        Enum(OrganisationType, native_enum=False, length=40, validate_strings=True), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True, default=None
    )
    # The state it belongs to; for an embassy, the sending state.
    country_id: Mapped[int | None] = mapped_column(
        ForeignKey("countries.id"), index=True, default=None
    )
    host_country_id: Mapped[int | None] = mapped_column(ForeignKey("countries.id"), default=None)
    host_city: Mapped[str] = mapped_column(String(120), default="")
    un_location: Mapped[UnLocation | None] = mapped_column(
        Enum(UnLocation, native_enum=False, length=20, validate_strings=True), default=None
    )
    # The office as addressed regardless of who holds it: "Minister of Foreign Affairs".
    office_title: Mapped[str200] = mapped_column(default="")
    # The name in other languages: {"ru": "Министерство иностранных дел ...", "zh": ...}.
    name_forms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    preferred_language: Mapped[str] = mapped_column(String(20), default="en")
    website: Mapped[str200] = mapped_column(default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    no_email: Mapped[bool] = mapped_column(default=False)
    no_post: Mapped[bool] = mapped_column(default=False)
    is_sample: Mapped[bool] = mapped_column(default=False)
    search_text: Mapped[str] = mapped_column(String(1000), default="", index=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    country: Mapped[Country | None] = relationship(foreign_keys=[country_id], lazy="raise")
    host_country: Mapped[Country | None] = relationship(
        foreign_keys=[host_country_id], lazy="raise"
    )
    parent: Mapped[Organisation | None] = relationship(
        remote_side="Organisation.id", foreign_keys=[parent_id], lazy="raise"
    )
    contact_points: Mapped[list[ContactPoint]] = relationship(
        back_populates="organisation", lazy="raise", cascade="all, delete-orphan"
    )
    positions: Mapped[list[Position]] = relationship(
        back_populates="organisation", lazy="raise", cascade="all, delete-orphan"
    )
    tags: Mapped[list[Tag]] = relationship(secondary=organisation_tags, lazy="raise")


# The directory lists organisations in this order: a broad filter reads its first page from the
# index instead of sorting every match.
Index("ix_organisations_sort", func.lower(Organisation.name), Organisation.id)


def _words_index(name: str, column: Any) -> Index:
    """PostgreSQL: a trigram index answering "the title contains this word" (the position
    filter) without reading every row; SQLite has no such index and scans."""
    return Index(
        name,
        func.lower(column).label("folded"),
        postgresql_using="gin",
        postgresql_ops={"folded": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")


_words_index("ix_organisations_office_title_words", Organisation.office_title)


class Person(TimestampMixin, Base):
    __tablename__ = "people"

    id: Mapped[intpk]
    honorific: Mapped[str] = mapped_column(String(40), default="")
    given_name: Mapped[str] = mapped_column(String(120), default="")
    family_name: Mapped[str] = mapped_column(String(120), default="")
    native_name: Mapped[str200] = mapped_column(default="")
    gender: Mapped[Gender] = mapped_column(
        Enum(Gender, native_enum=False, length=20, validate_strings=True),
        default=Gender.unspecified,
    )
    preferred_language: Mapped[str] = mapped_column(String(20), default="en")
    notes: Mapped[str] = mapped_column(Text, default="")
    # {"en": "Dear Mr President,", ...}: replaces the generated salutation for that language.
    salutation_overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The name in other scripts, per language: {"ru": {"given": "Эмомали", "patronymic":
    # "Шарипович", "family": "Рахмон"}, "zh": {...}}; the Latin name is given/family_name.
    name_forms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    no_email: Mapped[bool] = mapped_column(default=False)
    no_post: Mapped[bool] = mapped_column(default=False)
    is_sample: Mapped[bool] = mapped_column(default=False)
    sort_name: Mapped[str] = mapped_column(String(250), default="", index=True)
    search_text: Mapped[str] = mapped_column(String(1000), default="", index=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    positions: Mapped[list[Position]] = relationship(
        back_populates="person", lazy="raise", cascade="all, delete-orphan"
    )
    contact_points: Mapped[list[ContactPoint]] = relationship(
        back_populates="person", lazy="raise", cascade="all, delete-orphan"
    )
    tags: Mapped[list[Tag]] = relationship(secondary=person_tags, lazy="raise")

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.family_name) if p)


class Position(TimestampMixin, Base):
    __tablename__ = "positions"
    __table_args__ = (
        Index("ix_positions_org_dates", "organisation_id", "start_date"),
        # who works at these organisations now, read from the index alone (directory filters)
        Index("ix_positions_org_current", "organisation_id", "end_date", "person_id"),
    )

    id: Mapped[intpk]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    title: Mapped[str200] = mapped_column(default="")
    start_date: Mapped[date | None] = mapped_column(Date, default=None)
    end_date: Mapped[date | None] = mapped_column(Date, default=None, index=True)
    # Holds the organisation's office (its office_title): answers letters to the office.
    is_office_holder: Mapped[bool] = mapped_column(default=False)

    person: Mapped[Person] = relationship(back_populates="positions", lazy="raise")
    organisation: Mapped[Organisation] = relationship(back_populates="positions", lazy="raise")

    def active_on(self, on: date) -> bool:
        return (self.start_date is None or self.start_date <= on) and (
            self.end_date is None or self.end_date >= on
        )


_words_index("ix_positions_title_words", Position.title)


class ContactPoint(TimestampMixin, Base):
    __tablename__ = "contact_points"
    # An owner's best point of each kind (preferred, else the oldest) straight from the index;
    # they also serve every lookup by owner.
    __table_args__ = (
        Index("ix_contact_points_person_best", "person_id", "kind", "preferred", "id"),
        Index(
            "ix_contact_points_organisation_best",
            "organisation_id",
            "kind",
            "preferred",
            "id",
        ),
    )

    id: Mapped[intpk]
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), default=None
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[ContactKind] = mapped_column(
        Enum(ContactKind, native_enum=False, length=10, validate_strings=True)
    )
    label: Mapped[str] = mapped_column(String(80), default="")
    preferred: Mapped[bool] = mapped_column(default=False)
    # email address, or E.164 phone/fax number
    value: Mapped[str] = mapped_column(String(320), default="", index=True)
    street_address: Mapped[str] = mapped_column(String(500), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    city_area: Mapped[str] = mapped_column(String(120), default="")
    postal_code: Mapped[str] = mapped_column(String(40), default="")
    country_area: Mapped[str] = mapped_column(String(120), default="")
    country_code: Mapped[str] = mapped_column(String(2), default="")
    # Set when mail to this address bounced; merges warn until someone clears it.
    failing_since: Mapped[date | None] = mapped_column(Date, default=None)
    failure_reason: Mapped[str] = mapped_column(String(500), default="")

    person: Mapped[Person | None] = relationship(back_populates="contact_points", lazy="raise")
    organisation: Mapped[Organisation | None] = relationship(
        back_populates="contact_points", lazy="raise"
    )


class AliasKind(enum.StrEnum):
    spelling = "spelling"  # Mukhriddin / Muhriddin
    transliteration = "transliteration"
    former = "former"  # a former name of the organisation or person
    abbreviation = "abbreviation"  # "MFA Tajikistan"
    merged = "merged"  # the name of a record merged into this one


class Alias(TimestampMixin, Base):
    """Another name a person or organisation is known by: searched, matched on import and in
    replies, and kept from the records merged into it."""

    __tablename__ = "aliases"
    __table_args__ = (
        Index("ix_aliases_person_id", "person_id"),
        Index("ix_aliases_organisation_id", "organisation_id"),
        Index("ix_aliases_folded", "folded"),
    )

    id: Mapped[intpk]
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), default=None
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), default=None
    )
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[AliasKind] = mapped_column(
        Enum(AliasKind, native_enum=False, length=20, validate_strings=True),
        default=AliasKind.spelling,
    )
    # The name case-, accent- and script-folded, as search and duplicate detection compare it.
    folded: Mapped[str] = mapped_column(String(300), default="")


class Segment(TimestampMixin, Base):
    """A saved search, re-evaluated each time it is used."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[intpk]
    name: Mapped[str200]
    description: Mapped[str] = mapped_column(String(500), default="")
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
