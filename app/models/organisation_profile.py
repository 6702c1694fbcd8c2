"""The campaign coalition that sends the letters: letterhead, address, signatory."""

from __future__ import annotations

from sqlalchemy import JSON, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, intpk, str200, str320


class OrganisationProfile(TimestampMixin, Base):
    __tablename__ = "organisation_profile"

    id: Mapped[intpk]
    name: Mapped[str200]
    short_name: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    country_code: Mapped[str] = mapped_column(String(2), default="")
    email: Mapped[str320] = mapped_column(default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    website: Mapped[str200] = mapped_column(default="")
    logo_filename: Mapped[str] = mapped_column(String(200), default="")
    signatory_name: Mapped[str200] = mapped_column(default="")
    signatory_title: Mapped[str200] = mapped_column(default="")
    reference_prefix: Mapped[str] = mapped_column(String(20), default="")
    # The name, signatory and title in each letter language: {"fr": {"name": "Coalition contre
    # les sous-munitions", "signatory_title": "Coordinateur", ...}, ...}
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
