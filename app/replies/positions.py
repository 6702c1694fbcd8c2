"""The position register: what each state said about each treaty, when, and on what evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.countries import service as countries_service
from app.errors import InvalidInput, NotFound
from app.models import Country, PositionEntry, PositionStance, Reply, Treaty, User
from app.replies.schemas import STANCE_LABELS, PositionCreate, PositionIn, PositionUpdate
from app.treaties import service as treaties_service

STANCE_COLORS = {
    PositionStance.supports: "#1e7d4f",
    PositionStance.will_consider: "#d9a400",
    PositionStance.opposes: "#b42318",
    PositionStance.no_position: "#7a8794",
    PositionStance.already_party: "#0b5cad",
}


@dataclass(frozen=True)
class EntryView:
    id: int
    country_id: int
    iso3: str
    iso2: str
    country_name: str
    treaty: str
    stance: PositionStance
    stated_on: date
    quote: str
    source: str
    reply_id: int | None
    recorded_at: date

    @property
    def stance_label(self) -> str:
        return STANCE_LABELS[self.stance]


def _views(session: Session, query: Select[PositionEntry]) -> list[EntryView]:
    rows = session.execute(
        query.join(Country, Country.id == PositionEntry.country_id)
        .join(Treaty, Treaty.id == PositionEntry.treaty_id)
        .add_columns(Country.iso3, Country.iso2, Country.name, Treaty.short_name)
    ).all()
    return [
        EntryView(
            id=e.id,
            country_id=e.country_id,
            iso3=iso3,
            iso2=iso2,
            country_name=name,
            treaty=treaty,
            stance=e.stance,
            stated_on=e.stated_on,
            quote=e.quote,
            source=e.source,
            reply_id=e.reply_id,
            recorded_at=e.created_at.date(),
        )
        for e, iso3, iso2, name, treaty in rows
    ]


def _ordered() -> Select[PositionEntry]:
    return select(PositionEntry).order_by(PositionEntry.stated_on.desc(), PositionEntry.id.desc())


def get(session: Session, entry_id: int) -> EntryView:
    found = _views(session, _ordered().where(PositionEntry.id == entry_id))
    if not found:
        raise NotFound(f"No position entry has the id {entry_id}.")
    return found[0]


def for_reply(session: Session, reply_id: int) -> list[EntryView]:
    return _views(session, _ordered().where(PositionEntry.reply_id == reply_id))


def for_replies(session: Session, reply_ids: Sequence[int]) -> dict[int, list[EntryView]]:
    """{reply_id: its entries}, in the order for_reply() gives them, in one query."""
    out: dict[int, list[EntryView]] = {i: [] for i in reply_ids}
    if reply_ids:
        for entry in _views(session, _ordered().where(PositionEntry.reply_id.in_(reply_ids))):
            if entry.reply_id is not None:
                out[entry.reply_id].append(entry)
    return out


def history(
    session: Session, *, country_id: int | None = None, treaty_id: int | None = None
) -> list[EntryView]:
    """Entries newest first (by the date the position was stated)."""
    query = _ordered()
    if country_id is not None:
        query = query.where(PositionEntry.country_id == country_id)
    if treaty_id is not None:
        query = query.where(PositionEntry.treaty_id == treaty_id)
    return _views(session, query)


def current(
    session: Session, *, treaty_id: int, country_ids: Sequence[int] | None = None
) -> dict[int, EntryView]:
    """{country_id: the latest entry} for a treaty."""
    query = _ordered().where(PositionEntry.treaty_id == treaty_id)
    if country_ids is not None:
        query = query.where(PositionEntry.country_id.in_(country_ids))
    latest: dict[int, EntryView] = {}
    for entry in _views(session, query):
        latest.setdefault(entry.country_id, entry)
    return latest


def register(session: Session, *, treaty_id: int) -> list[EntryView]:
    """The current position of every state with one, by state name."""
    return sorted(current(session, treaty_id=treaty_id).values(), key=lambda e: e.country_name)


def recent_changes(
    session: Session, *, days: int = 90, limit: int = 10
) -> list[tuple[EntryView, PositionStance | None]]:
    """Entries recorded lately whose stance differs from the state's previous one, newest
    first, each with that previous stance (None for a first entry)."""
    since = datetime.now(UTC) - timedelta(days=days)
    recent = _views(
        session,
        select(PositionEntry)
        .where(PositionEntry.created_at >= since)
        .order_by(PositionEntry.created_at.desc(), PositionEntry.id.desc())
        .limit(200),
    )
    if not recent:
        return []
    # every entry of the states concerned, in one query
    earlier = _views(
        session, _ordered().where(PositionEntry.country_id.in_({e.country_id for e in recent}))
    )
    out: list[tuple[EntryView, PositionStance | None]] = []
    for entry in recent:
        previous = next(
            (
                e.stance
                for e in earlier
                if e.country_id == entry.country_id
                and e.treaty == entry.treaty
                and (e.stated_on, e.id) < (entry.stated_on, entry.id)
            ),
            None,
        )
        if previous != entry.stance:
            out.append((entry, previous))
        if len(out) >= limit:
            break
    return out


def _treaty(session: Session, short_name: str) -> Treaty:
    try:
        return treaties_service.get_by_short_name(session, short_name)
    except NotFound:
        raise InvalidInput(
            f"{short_name} is not a treaty.",
            errors=[{"field": "treaty", "message": "unknown treaty"}],
        ) from None


def record_from_reply(
    session: Session,
    *,
    reply: Reply,
    treaty_short_name: str,
    stance: PositionStance,
    quote: str,
    actor: User | None,
    stated_on: date | None = None,
) -> PositionEntry:
    assert reply.country_id is not None
    treaty = _treaty(session, treaty_short_name)
    entry = PositionEntry(
        country_id=reply.country_id,
        treaty_id=treaty.id,
        stance=stance,
        stated_on=stated_on or reply.dated_on or reply.received_on,
        quote=quote.strip(),
        reply_id=reply.id,
        recorded_by_id=actor.id if actor else None,
    )
    session.add(entry)
    session.flush()
    _audit(session, actor, "position.create", entry, treaty.short_name)
    return entry


def _audit(
    session: Session, actor: User | None, action: str, entry: PositionEntry, treaty: str
) -> None:
    country = session.get(Country, entry.country_id)
    audit.record(
        session,
        user=actor,
        action=action,
        entity_type="position",
        entity_id=entry.id,
        summary=f"{country.name if country else entry.country_id}: "
        f"{STANCE_LABELS[entry.stance].lower()} the {treaty} ({entry.stated_on.isoformat()})",
    )


def create(session: Session, *, data: PositionCreate, actor: User) -> EntryView:
    try:
        country = countries_service.get_by_code(session, data.country)
    except NotFound:
        raise InvalidInput(
            f"{data.country} is not a country code.",
            errors=[{"field": "country", "message": "unknown country"}],
        ) from None
    treaty = _treaty(session, data.treaty)
    if data.reply_id is not None:
        reply = session.get(Reply, data.reply_id)
        if reply is None:
            raise InvalidInput(
                f"No reply has the id {data.reply_id}.",
                errors=[{"field": "reply_id", "message": "unknown reply"}],
            )
    entry = PositionEntry(
        country_id=country.id,
        treaty_id=treaty.id,
        stance=data.stance,
        stated_on=data.stated_on,
        quote=data.quote.strip(),
        source=data.source.strip(),
        reply_id=data.reply_id,
        recorded_by_id=actor.id,
    )
    session.add(entry)
    session.flush()
    _audit(session, actor, "position.create", entry, treaty.short_name)
    return get(session, entry.id)


def create_from_reply(
    session: Session, *, reply_id: int, items: Sequence[PositionIn], actor: User
) -> list[EntryView]:
    """Positions a reply states, with the reply as their evidence: the reply's state, and the
    date it bears (else the day it came) unless another is given. Accepting the same
    statement twice (a double click) records it once."""
    reply = session.get(Reply, reply_id)
    if reply is None:
        raise NotFound(f"No reply has the id {reply_id}.")
    country = session.get(Country, reply.country_id) if reply.country_id else None
    if country is None:
        raise InvalidInput(
            "A position needs the state it is about: set the reply's sender or link it to our "
            "letter first.",
            errors=[{"field": "country", "message": "state needed for a position"}],
        )
    out = []
    for item in items:
        stated_on = item.stated_on or reply.dated_on or reply.received_on
        treaty = _treaty(session, item.treaty)
        same = session.scalar(
            select(PositionEntry.id).where(
                PositionEntry.reply_id == reply.id,
                PositionEntry.treaty_id == treaty.id,
                PositionEntry.stance == item.stance,
                PositionEntry.stated_on == stated_on,
                PositionEntry.quote == item.quote.strip(),
            )
        )
        if same is not None:
            out.append(get(session, same))
            continue
        data = PositionCreate(
            country=country.iso3,
            treaty=treaty.short_name,
            stance=item.stance,
            stated_on=stated_on,
            quote=item.quote,
            reply_id=reply.id,
        )
        out.append(create(session, data=data, actor=actor))
    return out


def update(session: Session, *, entry_id: int, data: PositionUpdate, actor: User) -> EntryView:
    entry = session.get(PositionEntry, entry_id)
    if entry is None:
        raise NotFound(f"No position entry has the id {entry_id}.")
    if not entry.reply_id and not data.source.strip():
        raise InvalidInput(
            "Give the evidence: the source of the statement.",
            errors=[{"field": "source", "message": "evidence needed"}],
        )
    entry.stance = data.stance
    entry.stated_on = data.stated_on
    entry.quote = data.quote.strip()
    entry.source = data.source.strip()
    session.flush()
    treaty = session.get(Treaty, entry.treaty_id)
    _audit(session, actor, "position.update", entry, treaty.short_name if treaty else "")
    return get(session, entry.id)


def delete(session: Session, *, entry_id: int, actor: User) -> EntryView:
    view = get(session, entry_id)
    entry = session.get(PositionEntry, entry_id)
    assert entry is not None
    session.delete(entry)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="position.delete",
        entity_type="position",
        entity_id=entry_id,
        summary=f"Removed a {view.treaty} position entry of {view.country_name}",
    )
    return view


def detach_reply(session: Session, *, reply_id: int) -> None:
    """A deleted reply takes its position entries with it (they had no other evidence)."""
    for entry in session.scalars(select(PositionEntry).where(PositionEntry.reply_id == reply_id)):
        if entry.source:
            entry.reply_id = None
        else:
            session.delete(entry)
    session.flush()
