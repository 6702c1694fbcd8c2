"""Countries and states: ISO 3166 codes, names, UN M49 region and sub-region."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, intpk, str200


class Country(TimestampMixin, Base):
    __tablename__ = "countries"

    id: Mapped[intpk]
    iso3: Mapped[str] = mapped_column(String(3), unique=True)
    iso2: Mapped[str] = mapped_column(String(2), index=True)
    m49: Mapped[str] = mapped_column(String(3), default="")
    name: Mapped[str200] = mapped_column(index=True)
    official_name: Mapped[str200] = mapped_column(default="")
    region: Mapped[str] = mapped_column(String(40), default="", index=True)
    sub_region: Mapped[str] = mapped_column(String(60), default="", index=True)
    # A state in the treaty records (UN member or observer that can join the treaties).
    is_state: Mapped[bool] = mapped_column(default=False, index=True)
