"""Where a contact point is: the country its postal address and phone numbers belong to.

An embassy or permanent mission belongs to its sending state (``Organisation.country_id``) but
sits in a host country (``host_country_id``): its address is a Washington or Geneva address,
written and checked by that country's postal rules, and its phone numbers are dialled there.
So a contact point's country is the one given with it, else the owner's host country, else
the owner's country; a person's are those of the organisation they work at."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.contacts.schemas import ContactPointIn, normalise_phone
from app.errors import InvalidInput
from app.models import ContactKind, Country, Organisation, Position


def organisation_region(session: Session, organisation_id: int) -> str:
    """The ISO code of where an organisation is: its host country, else its country."""
    row = session.execute(
        select(Organisation.host_country_id, Organisation.country_id).where(
            Organisation.id == organisation_id
        )
    ).first()
    if row is None:
        return ""
    for country_id in row:
        if country_id is not None:
            code = session.scalar(select(Country.iso2).where(Country.id == country_id))
            if code:
                return code.upper()
    return ""


def person_region(session: Session, person_id: int) -> str:
    """Where a person is: where the organisation of their current position is (the one still
    running, latest started first)."""
    today = date.today()
    positions = session.execute(
        select(Position.organisation_id, Position.start_date, Position.end_date)
        .where(Position.person_id == person_id)
        .order_by(Position.start_date.desc().nulls_last(), Position.id.desc())
    ).all()
    for organisation_id, start, end in positions:
        if (start is None or start <= today) and (end is None or end >= today):
            region = organisation_region(session, organisation_id)
            if region:
                return region
    return ""


def locate(
    session: Session,
    data: ContactPointIn,
    *,
    person_id: int | None,
    organisation_id: int | None,
) -> None:
    """Give a postal address without a country, and a phone or fax number written as dialled
    in the country (no +country code), the owner's country: its host country for an embassy
    or mission. Raises ``InvalidInput`` on the field when there is none or the number is not
    valid there."""
    if data.kind == ContactKind.email or data.country_code:
        return
    needs_phone = data.kind in (ContactKind.phone, ContactKind.fax) and not data.value.startswith(
        "+"
    )
    if data.kind != ContactKind.postal and not needs_phone:
        return
    region = ""
    if organisation_id is not None:
        region = organisation_region(session, organisation_id)
    elif person_id is not None:
        region = person_region(session, person_id)
    if data.kind == ContactKind.postal:
        if not region:
            raise InvalidInput(
                "A postal address needs its country (ISO code): the owner has no host country "
                "or country to take it from.",
                errors=[{"field": "country_code", "message": "give the address's country"}],
            )
        data.country_code = region
        return
    try:
        data.value = normalise_phone(data.value, region or None)
    except ValueError as exc:
        where = f" for {region}" if region else ""
        raise InvalidInput(
            f"Not a valid phone number{where}: {data.value!r}; write it with + and the "
            "country code, or as dialled in the country the contact is in.",
            errors=[{"field": "value", "message": f"not a valid phone number{where}"}],
        ) from exc
