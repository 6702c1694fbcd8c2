"""Treaties and the dates computed from them (rules in `rules.py`): each state's status, deadlines
and entry into force, kept per session. The reference data is loaded by ``loading``; states'
actions and extensions are recorded by ``actions``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import ORMExecuteState, Session, selectinload

from app.audit import service as audit
from app.errors import Conflict, NotFound
from app.models import Country, User
from app.models.treaties import DeadlineExtension, Meeting, Obligation, StateAction, Treaty
from app.treaties import rules
from app.treaties.rules import ActionKind, Status
from app.treaties.schemas import ObligationCreate, TreatyCreate

# --- treaties ---------------------------------------------------------------------------------


def list_treaties(session: Session) -> Sequence[Treaty]:
    return session.scalars(
        select(Treaty).options(selectinload(Treaty.obligations)).order_by(Treaty.short_name)
    ).all()


def short_names(session: Session) -> list[str]:
    return list(session.scalars(select(Treaty.short_name).order_by(Treaty.short_name)))


def get_by_short_name(session: Session, short_name: str) -> Treaty:
    treaty = session.scalar(
        select(Treaty)
        .options(selectinload(Treaty.obligations))
        .where(Treaty.short_name == short_name.strip().upper())
    )
    if treaty is None:
        raise NotFound(f"No treaty has the short name {short_name!r}.")
    return treaty


def get(session: Session, treaty_id: int) -> Treaty:
    treaty = session.scalar(
        select(Treaty).options(selectinload(Treaty.obligations)).where(Treaty.id == treaty_id)
    )
    if treaty is None:
        raise NotFound(f"No treaty has the id {treaty_id}.")
    return treaty


def create_treaty(session: Session, *, data: TreatyCreate, actor: User | None) -> Treaty:
    short = data.short_name.upper()
    if session.scalar(select(Treaty.id).where(Treaty.short_name == short)) is not None:
        raise Conflict(f"A treaty with the short name {short} already exists.")
    treaty = Treaty(**{**data.model_dump(), "short_name": short})
    session.add(treaty)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="treaty.create",
        entity_type="treaty",
        entity_id=treaty.id,
        summary=f"Added the treaty {short}",
    )
    return get(session, treaty.id)


def add_obligation(
    session: Session, *, treaty: Treaty, data: ObligationCreate, actor: User | None
) -> Obligation:
    exists = session.scalar(
        select(Obligation.id).where(Obligation.treaty_id == treaty.id, Obligation.code == data.code)
    )
    if exists is not None:
        raise Conflict(f"{treaty.short_name} already has an obligation coded {data.code!r}.")
    obligation = Obligation(
        treaty_id=treaty.id, position=len(treaty.obligations), **data.model_dump()
    )
    session.add(obligation)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="treaty.obligation.create",
        entity_type="treaty",
        entity_id=treaty.id,
        summary=f"Added the obligation {data.label} to {treaty.short_name}",
    )
    return obligation


def _rule(treaty: Treaty) -> rules.EifRule:
    return rules.EifRule(treaty.eif_trigger_count, treaty.eif_months_after)


def _obligation_rule(o: Obligation) -> rules.ObligationRule:
    return rules.ObligationRule(
        code=o.code,
        label=o.label,
        years=o.period_years,
        months=o.period_months,
        days=o.period_days,
        annual_month=o.annual_month,
        annual_day=o.annual_day,
    )


# --- computed status --------------------------------------------------------------------------


@dataclass(frozen=True)
class StateRecord:
    """Everything computed for one state under one treaty on one date."""

    country_id: int
    status: Status
    signed_on: date | None
    instrument: rules.Action | None
    entry_into_force: date | None
    withdrawal_effective: date | None


@dataclass(frozen=True)
class TreatyPicture:
    treaty: Treaty
    entry_into_force: date | None
    records: dict[int, StateRecord]
    inputs: tuple[Any, ...]  # what the records follow from: the rule, the date, the actions


# A page can ask for the same treaty's picture a dozen times (each campaign's milestones, its
# targets, deadlines, entry-into-force dates): it is computed once per session and date, and
# forgotten as soon as the session writes a state action or a treaty, or its transaction ends.
_PICTURES = "treaties.pictures"


_STATE_IDS = "treaties.state_ids"  # and the ids of the states, kept alike


def _pending_changes(session: Session) -> bool:
    return any(
        isinstance(o, StateAction | Treaty | Country)
        for o in chain(session.new, session.dirty, session.deleted)
    )


def _forget(session: Session) -> None:
    session.info.pop(_PICTURES, None)
    session.info.pop(_STATE_IDS, None)


# Session hooks, installed on every session by app.hooks at startup.
def forget_on_flush(session: Session, _context: Any, _instances: Any) -> None:
    if (_PICTURES in session.info or _STATE_IDS in session.info) and _pending_changes(session):
        _forget(session)


def forget_on_write(state: ORMExecuteState) -> None:
    if not state.is_select:
        _forget(state.session)


def forget_on_end(session: Session, _transaction: Any) -> None:
    _forget(session)


def _picture(session: Session, treaty: Treaty, on: date) -> TreatyPicture:
    cache: dict[tuple[int, date], TreatyPicture] = session.info.setdefault(_PICTURES, {})
    key = (treaty.id, on)
    if (hit := cache.get(key)) is not None and hit.treaty is treaty:
        if not _pending_changes(session):  # a query would flush them first
            return hit
        cache.clear()
    picture = cache[key] = _compute_picture(session, treaty, on)
    return picture


def _compute_picture(session: Session, treaty: Treaty, on: date) -> TreatyPicture:
    actions = tuple(
        tuple(row)
        for row in session.execute(
            select(
                StateAction.country_id,
                StateAction.kind,
                StateAction.action_date,
                StateAction.effective_date,
            )
            .where(StateAction.treaty_id == treaty.id)
            .order_by(StateAction.id)
        )
    )
    rule = _rule(treaty)
    treaty_eif, records = _records(rule, on, actions)
    return TreatyPicture(
        treaty=treaty, entry_into_force=treaty_eif, records=records, inputs=(rule, on, actions)
    )


# Kept by their inputs (the treaty's rule, the date and every action recorded under it) for the
# requests a process serves: the actions are read each time (one query), the rules only run when
# something in them changed. The records are frozen; nobody changes the dict.
@lru_cache(maxsize=64)
def _records(
    rule: rules.EifRule, on: date, actions: tuple[tuple[Any, ...], ...]
) -> tuple[date | None, dict[int, StateRecord]]:
    by_country: dict[int, list[rules.Action]] = defaultdict(list)
    for country_id, kind, action_date, effective_date in actions:
        by_country[country_id].append(rules.Action(kind, action_date, effective_date))
    # The treaty's own entry into force counts every instrument ever deposited.
    deposits = [i.on for acts in by_country.values() if (i := rules.instrument(acts))]
    treaty_eif = rules.treaty_eif(deposits, rule)
    records: dict[int, StateRecord] = {}
    for country_id, acts in by_country.items():
        first = rules.instrument(acts)
        eif = rules.state_eif(first.on, deposits, rule) if first else None
        signed = min((a.on for a in acts if a.kind is ActionKind.signature), default=None)
        withdrawal = next((a for a in acts if a.kind is ActionKind.withdrawal), None)
        records[country_id] = StateRecord(
            country_id=country_id,
            status=rules.status(acts, eif, on),
            signed_on=signed,
            instrument=first,
            entry_into_force=eif,
            withdrawal_effective=(withdrawal.effective or withdrawal.on) if withdrawal else None,
        )
    return treaty_eif, records


def _state_ids(session: Session) -> list[int]:
    ids: list[int] | None = session.info.get(_STATE_IDS)
    if ids is None or _pending_changes(session):
        ids = session.info[_STATE_IDS] = list(
            session.scalars(select(Country.id).where(Country.is_state.is_(True)))
        )
    return ids


def status_map(
    session: Session, treaty_short_name: str, *, on: date | None = None
) -> dict[int, Status]:
    """{country_id: status} for every state (non-signatory when no action is recorded)."""
    return statuses(session, get_by_short_name(session, treaty_short_name), on=on)


def statuses(session: Session, treaty: Treaty, *, on: date | None = None) -> dict[int, Status]:
    """``status_map`` for a treaty at hand."""
    picture = _picture(session, treaty, on or date.today())
    return {
        cid: picture.records[cid].status if cid in picture.records else Status.non_signatory
        for cid in _state_ids(session)
    }


def treaty_eif(session: Session, treaty: Treaty) -> date | None:
    return _picture(session, treaty, date.today()).entry_into_force


def status_counts(session: Session, treaty: Treaty, *, on: date) -> dict[str, int]:
    picture = _picture(session, treaty, on)
    counts = {s.value: 0 for s in Status}
    for cid in _state_ids(session):
        record = picture.records.get(cid)
        counts[(record.status if record else Status.non_signatory).value] += 1
    return counts


def status_table(
    session: Session,
    treaty: Treaty,
    *,
    on: date,
    status: Status | None = None,
    region: str | None = None,
    sub_region: str | None = None,
) -> tuple[TreatyPicture, list[tuple[Any, StateRecord | None, Status]]]:
    """States with their status on ``on``, filterable, ordered by region then name. Each state
    comes as a row of its id, codes, name and regions (not an ORM object: a table of 200 states
    is read on every visit to a treaty's page)."""
    picture = _picture(session, treaty, on)
    query = select(
        Country.id, Country.iso2, Country.iso3, Country.name, Country.region, Country.sub_region
    ).where(Country.is_state.is_(True))
    if region:
        query = query.where(Country.region == region)
    if sub_region:
        query = query.where(Country.sub_region == sub_region)
    rows = []
    for country in session.execute(
        query.order_by(Country.region, Country.sub_region, Country.name)
    ):
        record = picture.records.get(country.id)
        st = record.status if record else Status.non_signatory
        if status is None or st is status:
            rows.append((country, record, st))
    return picture, rows


def _extensions(session: Session, country_id: int) -> dict[int, list[rules.Extension]]:
    out: dict[int, list[rules.Extension]] = defaultdict(list)
    for e in session.scalars(
        select(DeadlineExtension).where(DeadlineExtension.country_id == country_id)
    ):
        out[e.obligation_id].append(rules.Extension(e.new_deadline, e.granted_by, e.source))
    return out


def state_deadlines(
    treaty: Treaty,
    record: StateRecord | None,
    extensions: dict[int, list[rules.Extension]],
    *,
    on: date,
) -> list[rules.Deadline]:
    if record is None or record.entry_into_force is None or record.status is Status.withdrawn:
        return []
    by_code = {o.code: extensions.get(o.id, []) for o in treaty.obligations}
    return rules.deadlines(
        [_obligation_rule(o) for o in treaty.obligations], record.entry_into_force, by_code, on
    )


def country_treaties(
    session: Session, country_id: int, *, on: date | None = None
) -> list[dict[str, Any]]:
    """Per treaty: status, key dates and deadlines (original and extended) for one state."""
    on = on or date.today()
    extensions = _extensions(session, country_id)
    out = []
    for treaty in list_treaties(session):
        record = _picture(session, treaty, on).records.get(country_id)
        deadlines = state_deadlines(treaty, record, extensions, on=on)
        out.append(
            {
                "treaty": treaty.short_name,
                "treaty_name": treaty.name,
                "status": record.status if record else Status.non_signatory,
                "signed_on": record.signed_on if record else None,
                "instrument": record.instrument.kind.value
                if record and record.instrument
                else None,
                "instrument_on": record.instrument.on if record and record.instrument else None,
                "entry_into_force": record.entry_into_force if record else None,
                "withdrawal_effective": record.withdrawal_effective if record else None,
                "deadlines": [
                    {
                        "code": d.code,
                        "label": d.label,
                        "original": d.original,
                        "current": d.current,
                        "extended": d.extended,
                        "extensions": [
                            {
                                "new_deadline": e.new_deadline.isoformat(),
                                "granted_by": e.granted_by,
                                "source": e.source,
                            }
                            for e in d.extensions
                        ],
                    }
                    for d in deadlines
                ],
            }
        )
    return out


def state_summary(
    session: Session, country_id: int, *, on: date | None = None
) -> dict[str, dict[str, Any]]:
    """Letter merge fields per treaty short name: status (value and label), dates, deadlines."""
    out = {}
    for row in country_treaties(session, country_id, on=on):
        out[row["treaty"]] = {
            "status": row["status"].value,
            "status_label": row["status"].label,
            "signed_on": row["signed_on"],
            "ratified_on": row["instrument_on"],
            "instrument": row["instrument"],
            "entry_into_force": row["entry_into_force"],
            "deadlines": {d["code"]: d["current"] for d in row["deadlines"]},
        }
    return out


def deadlines_for(
    session: Session, treaty: Treaty, country_ids: Sequence[int], *, on: date
) -> dict[int, list[rules.Deadline]]:
    """Obligation deadlines of several states (for campaign milestones)."""
    picture = _picture(session, treaty, on)
    out = {}
    for cid in country_ids:
        out[cid] = state_deadlines(
            treaty, picture.records.get(cid), _extensions(session, cid), on=on
        )
    return out


def list_meetings(
    session: Session, *, treaty_id: int | None = None, since: date | None = None
) -> Sequence[Meeting]:
    query = select(Meeting)
    if treaty_id is not None:
        query = query.where(Meeting.treaty_id == treaty_id)
    if since is not None:
        query = query.where(Meeting.end_date >= since)
    return session.scalars(query.order_by(Meeting.start_date)).all()


def state_eifs(
    session: Session, treaty: Treaty, country_ids: Sequence[int]
) -> dict[int, date | None]:
    """Entry-into-force dates for several states (None when no instrument is recorded)."""
    picture = _picture(session, treaty, date.today())
    return {
        cid: (r.entry_into_force if (r := picture.records.get(cid)) else None)
        for cid in country_ids
    }
