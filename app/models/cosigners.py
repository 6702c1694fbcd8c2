"""Organisations that sign letters jointly with the sender: name, signatory and logo."""

from __future__ import annotations

from sqlalchemy import JSON, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, intpk, str200


class Cosigner(TimestampMixin, Base):
    __tablename__ = "cosigner"

    id: Mapped[intpk]
    # As registered (and in English letters unless a translation says otherwise).
    name: Mapped[str200] = mapped_column(unique=True)
    signatory_name: Mapped[str200] = mapped_column(default="")
    signatory_title: Mapped[str200] = mapped_column(default="")
    # {"fr": {"name": "…", "signatory_name": "…", "signatory_title": "…"}, …}: the shape of
    # OrganisationProfile.translations.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    # The logo's file name in the letterhead uploads folder ("" = none); a new name each upload.
    logo_filename: Mapped[str] = mapped_column(String(80), default="", server_default="")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    @property
    def has_logo(self) -> bool:
        return bool(self.logo_filename)
