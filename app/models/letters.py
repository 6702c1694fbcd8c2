"""Letter templates and their versions: one version row per edit of a language variant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, UTCDateTime, intpk, str200, utcnow


class LetterTemplate(TimestampMixin, Base):
    __tablename__ = "letter_template"

    id: Mapped[intpk]
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str200]
    description: Mapped[str] = mapped_column(Text, default="")
    layout: Mapped[str] = mapped_column(String(20), default="a4")
    default_language: Mapped[str] = mapped_column(String(8), default="en")
    # How letters address their recipient: "formal" (diplomatic protocol: "Excellency,") or
    # "personal" ("Dear President Rahmon,").
    style: Mapped[str] = mapped_column(String(12), default="formal", server_default="formal")
    is_builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)

    versions: Mapped[list[TemplateVersion]] = relationship(
        back_populates="template", lazy="raise", order_by="TemplateVersion.id"
    )

    __mapper_args__ = {"version_id_col": version}


class TemplateVersion(Base):
    """The exact text of one language variant at one point; letters point at these rows."""

    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("template_id", "language", "number"),)

    id: Mapped[intpk]
    template_id: Mapped[int] = mapped_column(
        ForeignKey("letter_template.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(8))
    number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    template: Mapped[LetterTemplate] = relationship(back_populates="versions", lazy="raise")
