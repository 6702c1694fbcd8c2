from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.countries import service
from app.models import Country


def test_every_treaty_state_is_loaded_with_its_m49_region(db: Session) -> None:
    states = db.scalar(select(func.count()).where(Country.is_state.is_(True)))
    assert states == 197
    tajikistan = service.get_by_code(db, "TJK")
    assert (tajikistan.iso2, tajikistan.region, tajikistan.sub_region) == (
        "TJ",
        "Asia",
        "Central Asia",
    )
    assert (
        service.get_by_code(db, "gb").name == "United Kingdom of Great Britain and Northern Ireland"
    )


def test_central_asia_filter(db: Session) -> None:
    names = {
        c.iso3 for c in service.list_countries(db, states_only=True, sub_region="Central Asia")
    }
    assert names == {"KAZ", "KGZ", "TJK", "TKM", "UZB"}


def test_loading_twice_adds_nothing(db: Session) -> None:
    assert service.load(db) == 0
