"""Treaties as data: obligations, meetings, state actions (with sources) and extensions."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, intpk, str200
from app.models.country import Country
from app.treaties.rules import ActionKind


class Treaty(TimestampMixin, Base):
    __tablename__ = "treaties"

    id: Mapped[intpk]
    short_name: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    adopted_on: Mapped[date | None] = mapped_column(Date, default=None)
    signature_opened_on: Mapped[date | None] = mapped_column(Date, default=None)
    eif_trigger_count: Mapped[int] = mapped_column(Integer)
    eif_months_after: Mapped[int] = mapped_column(Integer, default=6)
    eif_rule: Mapped[str] = mapped_column(Text, default="")
    withdrawal_rule: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)

    obligations: Mapped[list[Obligation]] = relationship(
        back_populates="treaty", lazy="raise", order_by="Obligation.position"
    )

    __mapper_args__ = {"version_id_col": version}


class Obligation(TimestampMixin, Base):
    __tablename__ = "treaty_obligations"
    __table_args__ = (UniqueConstraint("treaty_id", "code"),)

    id: Mapped[intpk]
    treaty_id: Mapped[int] = mapped_column(ForeignKey("treaties.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    article: Mapped[str] = mapped_column(String(40), default="")
    label: Mapped[str200]
    period_years: Mapped[int] = mapped_column(default=0)
    period_months: Mapped[int] = mapped_column(default=0)
    period_days: Mapped[int] = mapped_column(default=0)
    annual_month: Mapped[int | None] = mapped_column(default=None)
    annual_day: Mapped[int | None] = mapped_column(default=None)
    extension_rules: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    treaty: Mapped[Treaty] = relationship(back_populates="obligations", lazy="raise")


class Meeting(TimestampMixin, Base):
    __tablename__ = "treaty_meetings"
    __table_args__ = (UniqueConstraint("treaty_id", "name"),)

    id: Mapped[intpk]
    treaty_id: Mapped[int] = mapped_column(ForeignKey("treaties.id", ondelete="CASCADE"))
    name: Mapped[str200]
    city: Mapped[str] = mapped_column(String(100), default="")
    country_iso3: Mapped[str] = mapped_column(String(3), default="")
    start_date: Mapped[date] = mapped_column(Date, index=True)
    end_date: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text, default="")


class StateAction(TimestampMixin, Base):
    __tablename__ = "state_actions"

    id: Mapped[intpk]
    country_id: Mapped[int] = mapped_column(ForeignKey("countries.id"), index=True)
    treaty_id: Mapped[int] = mapped_column(
        ForeignKey("treaties.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ActionKind] = mapped_column(
        Enum(ActionKind, native_enum=False, length=20, validate_strings=True)
    )
    action_date: Mapped[date] = mapped_column(Date)
    effective_date: Mapped[date | None] = mapped_column(Date, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)

    country: Mapped[Country] = relationship(lazy="raise")

    __mapper_args__ = {"version_id_col": version}


class DeadlineExtension(TimestampMixin, Base):
    __tablename__ = "deadline_extensions"
    __table_args__ = (UniqueConstraint("country_id", "obligation_id", "new_deadline"),)

    id: Mapped[intpk]
    country_id: Mapped[int] = mapped_column(ForeignKey("countries.id"), index=True)
    obligation_id: Mapped[int] = mapped_column(
        ForeignKey("treaty_obligations.id", ondelete="CASCADE"), index=True
    )
    new_deadline: Mapped[date] = mapped_column(Date)
    granted_by: Mapped[str200] = mapped_column(default="")
    source: Mapped[str] = mapped_column(Text, default="")
