"""Campaigns: a goal, a treaty, target states (a saved filter plus hand-picked), milestones."""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, UTCDateTime, intpk, str200
from app.models.country import Country
from app.models.treaties import Treaty
from app.models.user import User


class CampaignStatus(enum.StrEnum):
    draft = "draft"
    active = "active"
    closed = "closed"


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Campaign(TimestampMixin, Base):
    __tablename__ = "campaigns"

    id: Mapped[intpk]
    name: Mapped[str200]
    goal: Mapped[str] = mapped_column(Text, default="")
    treaty_id: Mapped[int | None] = mapped_column(ForeignKey("treaties.id"), default=None)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    start_date: Mapped[date | None] = mapped_column(Date, default=None)
    end_date: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[CampaignStatus] = mapped_column(
        Enum(CampaignStatus, native_enum=False, length=10, validate_strings=True),
        default=CampaignStatus.draft,
    )
    # {"region": str, "sub_region": str, "statuses": [Status values], "as_of": ISO date | None}
    target_filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reminder_days: Mapped[int] = mapped_column(default=14)
    # Letters: days a sent letter waits for a reply before it is overdue; a second approver.
    reply_days: Mapped[int] = mapped_column(default=30, server_default="30")
    second_approval: Mapped[bool] = mapped_column(default=False, server_default=false())
    calendar_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    version: Mapped[int] = mapped_column(default=1)

    treaty: Mapped[Treaty | None] = relationship(lazy="raise")
    owner: Mapped[User] = relationship(lazy="raise")
    countries: Mapped[list[CampaignCountry]] = relationship(
        back_populates="campaign", lazy="raise", cascade="all, delete-orphan"
    )
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="campaign",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="Milestone.due_date",
    )

    __mapper_args__ = {"version_id_col": version}


class CampaignCountry(Base):
    """A hand-picked target state."""

    __tablename__ = "campaign_countries"
    __table_args__ = (UniqueConstraint("campaign_id", "country_id"),)

    id: Mapped[intpk]
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    country_id: Mapped[int] = mapped_column(ForeignKey("countries.id"))

    campaign: Mapped[Campaign] = relationship(back_populates="countries", lazy="raise")
    country: Mapped[Country] = relationship(lazy="raise")


class Milestone(TimestampMixin, Base):
    """A custom milestone; derived ones (EIF, meetings, deadlines) are computed, not stored."""

    __tablename__ = "campaign_milestones"

    id: Mapped[intpk]
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str200]
    due_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")

    campaign: Mapped[Campaign] = relationship(back_populates="milestones", lazy="raise")


class Notification(TimestampMixin, Base):
    """An in-app notification; ``key`` makes reminders idempotent per user."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str200]
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
