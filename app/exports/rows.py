"""Export rows loaded in batches with a few queries each (constant memory, no per-contact round
trips). Each row is addressed by ``addressing.addressed``, as ``contacts_recipients.recipient()``
addresses a contact, from rows read in bulk: the position, the office holder and the best
contact points are chosen by the rankings ``addressing`` defines (a test pins the two paths to
the same result); recipient() itself costs several queries per contact, too many for 100,000
rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from app.contacts import addressing
from app.models import ContactKind, ContactPoint, Country, Organisation, Person, Position

BATCH = 5000


Postal = addressing.Postal


@dataclass(slots=True)
class ExportRow:
    kind: str  # "person" or "organisation"
    id: int
    person_id: int | None = None
    organisation_id: int | None = None
    honorific: str = ""
    given_name: str = ""
    family_name: str = ""
    display_name: str = ""
    native_name: str = ""
    title: str = ""
    organisation: str = ""
    organisation_native: str = ""
    organisation_type: Any = None
    country: str = ""
    country_iso3: str = ""
    language: str = "en"
    gender: Any = addressing.Gender.unspecified
    overrides: dict[str, str] = field(default_factory=dict)
    email: str = ""
    phone: str = ""
    postal: Postal | None = None
    no_email: bool = False
    no_post: bool = False
    in_office_since: date | None = None
    updated_at: datetime | None = None
    addressee_lines: list[str] = field(default_factory=list)
    organisation_lines: list[str] = field(default_factory=list)
    name_forms: dict[str, Any] = field(default_factory=dict)  # the person's
    organisation_forms: dict[str, Any] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)
    _address: list[str] | None = None

    def address_lines(self) -> list[str]:
        if self._address is None:
            if self.postal is None:
                self._address = []
            else:
                names = addressing.name_block(
                    self.addressee_lines,
                    self.organisation_lines,
                    self.postal.country_code,
                    language=self.language,
                )
                self._address = addressing.address_block(names, self.postal, language=self.language)
        return self._address

    def salutation(self) -> str:
        lang = self.language.split("-")[0].lower()
        override = self.overrides.get(lang)
        if override:
            return override
        who = addressing.Addressee(
            honorific=self.honorific,
            given_name=self.given_name,
            family_name=self.family_name,
            gender=self.gender,
            title=self.title,
            organisation_type=self.organisation_type,
            country_iso3=self.country_iso3,
            name_forms=self.name_forms,
            has_holder=self.person_id is not None,
        )
        return addressing.salutation(who, lang)

    def merge(self, other: ExportRow) -> None:
        """Another contact at the same address: one label, every name on it."""
        if not self.merged:
            self.merged = [self.display_name]
        self.merged.append(other.display_name)
        self.display_name = "; ".join(self.merged)
        self.addressee_lines = list(self.merged)
        self.organisation_lines = [self.organisation] if self.organisation else []
        self._address = None


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


_PERSON_COLS = (
    Person.id,
    Person.honorific,
    Person.given_name,
    Person.family_name,
    Person.native_name,
    Person.preferred_language,
    Person.no_email,
    Person.no_post,
    Person.name_forms,
)
# Only for salutations and dates: decoding enums, JSON and datetimes costs time per row.
_PERSON_DETAIL = (Person.gender, Person.salutation_overrides, Person.updated_at)
_ORG_COLS = (
    Organisation.id,
    Organisation.name,
    Organisation.native_name,
    Organisation.office_title,
    Organisation.preferred_language,
    Organisation.no_email,
    Organisation.no_post,
    Organisation.name_forms,
    Country.iso3,
    Country.name.label("country_name"),
)
_ORG_DETAIL = (Organisation.type, Organisation.updated_at)


def _orgs(session: Session, ids: Iterable[int], detail: bool) -> dict[int, Any]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    cols = (*_ORG_COLS, *_ORG_DETAIL) if detail else _ORG_COLS
    return {
        r.id: r
        for r in session.connection().execute(
            select(*cols)
            .outerjoin(Country, Country.id == Organisation.country_id)
            .where(Organisation.id.in_(wanted))
        )
    }


def _people(session: Session, ids: Iterable[int], detail: bool) -> dict[int, Any]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    cols = (*_PERSON_COLS, *_PERSON_DETAIL) if detail else _PERSON_COLS
    return {
        r.id: r for r in session.connection().execute(select(*cols).where(Person.id.in_(wanted)))
    }


_POINT_COLS = (
    ContactPoint.id,
    ContactPoint.person_id,
    ContactPoint.organisation_id,
    type_coerce(ContactPoint.kind, String()).label("kind"),  # compared as plain text
    ContactPoint.preferred,
    ContactPoint.value,
    ContactPoint.street_address,
    ContactPoint.city,
    ContactPoint.city_area,
    ContactPoint.postal_code,
    ContactPoint.country_area,
    ContactPoint.country_code,
)

Best = dict[tuple[str, int, ContactKind], Any]


def _points(session: Session, person_ids: Iterable[int], org_ids: Iterable[int]) -> Best:
    """The best point of each kind per owner (``addressing.POINT_ORDER``): the first row of
    each in that order."""
    best: Best = {}
    for column, owner, ids in (
        (ContactPoint.person_id, "person", list(set(person_ids))),
        (ContactPoint.organisation_id, "org", list(set(org_ids))),
    ):
        if not ids:
            continue
        # one query per owner column: an OR of the two would not use their indexes
        rows = session.connection().execute(
            select(*_POINT_COLS)
            .where(column.in_(ids))
            .order_by(*addressing.order_clauses(addressing.POINT_ORDER, ContactPoint))
        )
        for r in rows:
            key = r.person_id if owner == "person" else r.organisation_id
            best.setdefault((owner, key, r.kind), r)
    return best


def _picker(best: Best, person_id: int | None, org_id: int | None) -> addressing.PointPicker:
    ids = {"person": ("person", person_id), "organisation": ("org", org_id)}

    def pick(owner: str, kind: ContactKind) -> Any:
        key, owner_id = ids[owner]
        return best.get((key, owner_id, kind)) if owner_id is not None else None

    return pick


def _row(
    kind: str,
    entity_id: int,
    person: Any | None,
    org: Any | None,
    title: str,
    since: date | None,
    best: Best,
    detail: bool,
) -> ExportRow:
    """The fields of recipient(), from preloaded rows."""
    pid = person.id if person else None
    oid = org.id if org else None
    how = addressing.addressed(person, org, title, points=_picker(best, pid, oid))
    updated = [x.updated_at for x in (person, org) if x is not None] if detail else []
    return ExportRow(
        kind=kind,
        id=entity_id,
        person_id=pid,
        organisation_id=oid,
        honorific=person.honorific if person else "",
        given_name=person.given_name if person else "",
        family_name=person.family_name if person else "",
        display_name=how.display_name,
        native_name=person.native_name if person else (org.native_name if org else ""),
        title=title,
        organisation=org.name if org else "",
        organisation_native=org.native_name if org else "",
        organisation_type=org.type if detail and org is not None else None,
        country=org.country_name or "" if org else "",
        country_iso3=org.iso3 or "" if org else "",
        language=how.language,
        gender=person.gender if detail and person is not None else addressing.Gender.unspecified,
        overrides=dict(person.salutation_overrides or {}) if detail and person is not None else {},
        email=how.email,
        phone=how.phone,
        postal=how.postal,
        no_email=how.no_email,
        no_post=how.no_post,
        in_office_since=since,
        updated_at=max(updated) if updated else None,
        addressee_lines=list(how.addressee_lines),
        organisation_lines=list(how.organisation_lines),
        name_forms=dict(person.name_forms or {}) if person else {},
        organisation_forms=dict(org.name_forms or {}) if org else {},
    )


def _people_batch(session: Session, ids: Sequence[int], on: date, detail: bool) -> list[ExportRow]:
    people = _people(session, ids, detail)
    current: dict[int, Any] = {}
    for pos in session.connection().execute(
        select(
            Position.id,
            Position.person_id,
            Position.organisation_id,
            Position.title,
            Position.is_office_holder,
            Position.start_date,
        ).where(Position.person_id.in_(list(ids)), *addressing.active_clauses(on))
    ):
        current[pos.person_id] = addressing.better_position(current.get(pos.person_id), pos)
    orgs = _orgs(session, (p.organisation_id for p in current.values()), detail)
    best = _points(session, people.keys(), orgs.keys())
    out = []
    for pid in ids:
        person = people.get(pid)
        if person is None:
            continue
        held = current.get(pid)
        org = orgs.get(held.organisation_id) if held is not None else None
        out.append(
            _row(
                "person",
                pid,
                person,
                org,
                held.title if held is not None else "",
                held.start_date if held is not None else None,
                best,
                detail,
            )
        )
    return out


def _org_batch(session: Session, ids: Sequence[int], on: date, detail: bool) -> list[ExportRow]:
    orgs = _orgs(session, ids, detail)
    holders: dict[int, Any] = {}
    for pos in session.connection().execute(
        select(
            Position.organisation_id,
            Position.person_id,
            Position.title,
            Position.start_date,
            Position.is_office_holder,
        )
        .join(Organisation, Organisation.id == Position.organisation_id)
        .where(
            Position.organisation_id.in_(list(ids)),
            addressing.holds_office_clause(),
            *addressing.active_clauses(on),
        )
        .order_by(*addressing.order_clauses(addressing.POSITION_ORDER, Position))
    ):
        holders.setdefault(pos.organisation_id, pos)
    people = _people(session, (h.person_id for h in holders.values()), detail)
    best = _points(session, people.keys(), orgs.keys())
    out = []
    for oid in ids:
        org = orgs.get(oid)
        if org is None:
            continue
        holder = holders.get(oid)
        person = people.get(holder.person_id) if holder is not None else None
        title = holder.title if holder is not None else org.office_title
        since = holder.start_date if holder is not None else None
        out.append(_row("organisation", oid, person, org, title, since, best, detail))
    return out


def iter_rows(
    session: Session,
    person_ids: Sequence[int],
    organisation_ids: Sequence[int],
    *,
    on: date | None = None,
    batch: int = BATCH,
    detail: bool = True,
) -> Iterator[ExportRow]:
    """Organisations (addressed to their office) first, then people, each in id order.
    Without ``detail`` rows carry no salutation inputs and no dates (faster)."""
    on = on or date.today()
    for chunk in _chunks(organisation_ids, batch):
        yield from _org_batch(session, chunk, on, detail)
    for chunk in _chunks(person_ids, batch):
        yield from _people_batch(session, chunk, on, detail)
