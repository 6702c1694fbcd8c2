"""Treaties, state actions and the dates computed from them (rules in `rules.py`)."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import ORMExecuteState, Session, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Country, User
from app.models.treaties import DeadlineExtension, Meeting, Obligation, StateAction, Treaty
from app.treaties import rules
from app.treaties.reference_data import EXTENSIONS, INSTRUMENT_KINDS, TREATIES
from app.treaties.rules import ActionKind, Status
from app.treaties.schemas import (
    ExtensionCreate,
    ObligationCreate,
    StateActionCreate,
    StateActionUpdate,
    TreatyCreate,
)

DATA = Path(__file__).parent / "data"
CSV_KINDS = {
    "signed": ActionKind.signature,
    "ratified": ActionKind.ratification,
    "accession": ActionKind.accession,
}


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# --- reference data ---------------------------------------------------------------------------


def load(session: Session) -> None:
    """Insert or refresh the shipped treaties, obligations, state actions, withdrawals, meetings
    and extensions. Idempotent; rows edited by a user (version > 1) are left alone."""
    treaties = {t.short_name: t for t in session.scalars(select(Treaty))}
    for spec in TREATIES:
        values = {k: v for k, v in spec.items() if k != "obligations"}
        treaty = treaties.get(spec["short_name"])
        if treaty is None:
            treaty = Treaty(**values)
            session.add(treaty)
            treaties[treaty.short_name] = treaty
        session.flush()
        existing = {
            o.code: o
            for o in session.scalars(select(Obligation).where(Obligation.treaty_id == treaty.id))
        }
        for pos, (code, article, label, period, annual, ext) in enumerate(spec["obligations"]):
            if code in existing:
                continue
            session.add(
                Obligation(
                    treaty_id=treaty.id,
                    code=code,
                    article=article,
                    label=label,
                    period_years=period[0],
                    period_months=period[1],
                    period_days=period[2],
                    annual_month=annual[0] if annual else None,
                    annual_day=annual[1] if annual else None,
                    extension_rules=ext,
                    position=pos,
                )
            )
    session.flush()
    countries = {c.iso3: c.id for c in session.scalars(select(Country))}

    # One signature, one instrument (whatever its kind, which a user may correct) and one
    # withdrawal per state and treaty: what exists is never added again.
    def slot(kind: ActionKind) -> str:
        return "instrument" if kind.is_instrument else kind.value

    have = {(a.country_id, a.treaty_id, slot(a.kind)) for a in session.scalars(select(StateAction))}

    def add(iso3: str, short: str, kind: ActionKind, on: str, **extra: Any) -> None:
        country_id, treaty = countries.get(iso3), treaties[short]
        if not on or country_id is None or (country_id, treaty.id, slot(kind)) in have:
            return
        have.add((country_id, treaty.id, slot(kind)))
        session.add(
            StateAction(
                country_id=country_id,
                treaty_id=treaty.id,
                kind=kind,
                action_date=date.fromisoformat(on),
                **extra,
            )
        )

    for row in _read("states_treaty_status.csv"):
        for short in ("CCM", "MBT"):
            for column, kind in CSV_KINDS.items():
                value = row[f"{short.lower()}_{column}"]
                note = ""
                if kind is ActionKind.ratification and (short, row["iso3"]) in INSTRUMENT_KINDS:
                    kind = ActionKind(INSTRUMENT_KINDS[(short, row["iso3"])])
                if (
                    short == "MBT"
                    and row["iso3"] in {"MNE", "SSD"}
                    and kind is ActionKind.accession
                ):
                    kind, note = ActionKind.succession, "Succession (d), listed as accession in CSV"
                add(row["iso3"], short, kind, value, source=row["source"], note=note)
    for row in _read("treaty_withdrawals.csv"):
        add(
            row["iso3"],
            row["treaty"],
            ActionKind.withdrawal,
            row["notification_deposited"],
            effective_date=date.fromisoformat(row["effective_date"]),
            note=row["note"],
            source=row["source"],
        )
    meetings = {(m.treaty_id, m.name) for m in session.scalars(select(Meeting))}
    for row in _read("meetings.csv"):
        treaty = treaties[row["treaty"]]
        if (treaty.id, row["meeting"]) in meetings:
            continue
        session.add(
            Meeting(
                treaty_id=treaty.id,
                name=row["meeting"],
                city=row["city"],
                country_iso3=row["country_iso3"],
                start_date=date.fromisoformat(row["start_date"]),
                end_date=date.fromisoformat(row["end_date"]),
                source=row["source"],
            )
        )
    session.flush()
    for short, iso3, code, new_deadline, granted_by, source in EXTENSIONS:
        obligation = session.scalar(
            select(Obligation).where(
                Obligation.treaty_id == treaties[short].id, Obligation.code == code
            )
        )
        country_id = countries.get(iso3)
        if obligation is None or country_id is None:
            continue
        found = session.scalar(
            select(DeadlineExtension).where(
                DeadlineExtension.country_id == country_id,
                DeadlineExtension.obligation_id == obligation.id,
                DeadlineExtension.new_deadline == new_deadline,
            )
        )
        if found is None:
            session.add(
                DeadlineExtension(
                    country_id=country_id,
                    obligation_id=obligation.id,
                    new_deadline=new_deadline,
                    granted_by=granted_by,
                    source=source,
                )
            )
    session.flush()


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


# --- state actions ----------------------------------------------------------------------------


def list_actions(
    session: Session,
    *,
    country_id: int | None = None,
    treaty_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[StateAction], int]:
    from sqlalchemy import func

    query = select(StateAction)
    if country_id is not None:
        query = query.where(StateAction.country_id == country_id)
    if treaty_id is not None:
        query = query.where(StateAction.treaty_id == treaty_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(joinedload(StateAction.country))
        .order_by(StateAction.action_date.desc(), StateAction.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def get_action(session: Session, action_id: int) -> StateAction:
    action = session.scalar(
        select(StateAction)
        .options(joinedload(StateAction.country))
        .where(StateAction.id == action_id)
    )
    if action is None:
        raise NotFound(f"No state action has the id {action_id}.")
    return action


def _snapshot(a: StateAction) -> dict[str, Any]:
    return {
        "kind": a.kind.value,
        "action_date": a.action_date.isoformat(),
        "effective_date": a.effective_date.isoformat() if a.effective_date else None,
        "note": a.note,
        "source": a.source,
    }


def create_action(session: Session, *, data: StateActionCreate, actor: User | None) -> StateAction:
    from app.countries import service as countries_service

    country = countries_service.get_by_code(session, data.country)
    treaty = get_by_short_name(session, data.treaty)
    duplicate = session.scalar(
        select(StateAction.id).where(
            StateAction.country_id == country.id,
            StateAction.treaty_id == treaty.id,
            StateAction.kind == data.kind,
        )
    )
    if duplicate is not None:
        raise Conflict(
            f"{country.name} already has a {data.kind.value} of the {treaty.short_name}; "
            "edit that one instead."
        )
    action = StateAction(
        country_id=country.id,
        treaty_id=treaty.id,
        kind=data.kind,
        action_date=data.action_date,
        effective_date=data.effective_date,
        note=data.note,
        source=data.source,
    )
    session.add(action)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="state_action.create",
        entity_type="state_action",
        entity_id=action.id,
        summary=f"Recorded the {data.kind.value} of the {treaty.short_name} by {country.name}",
        details={"after": _snapshot(action)},
    )
    return get_action(session, action.id)


def update_action(
    session: Session, *, action_id: int, data: StateActionUpdate, actor: User | None
) -> StateAction:
    action = get_action(session, action_id)
    if action.version != data.version:
        raise Conflict("Someone else changed this record since you opened it; reload and retry.")
    if data.effective_date and data.kind is not ActionKind.withdrawal:
        raise InvalidInput("Only a withdrawal has an effective date.")
    before = _snapshot(action)
    action.kind = data.kind
    action.action_date = data.action_date
    action.effective_date = data.effective_date
    action.note = data.note
    action.source = data.source
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("Someone else changed this record at the same time; reload.") from None
    after = _snapshot(action)
    if before != after:
        audit.record(
            session,
            user=actor,
            action="state_action.update",
            entity_type="state_action",
            entity_id=action.id,
            summary=f"Edited a {action.kind.value} by {action.country.name}",
            details={"before": before, "after": after},
        )
    return action


def action_history(session: Session, action_id: int) -> list[Any]:
    rows, _ = audit.list_entries(
        session, entity_type="state_action", entity_id=action_id, limit=100
    )
    return list(rows)


def add_extension(
    session: Session, *, data: ExtensionCreate, actor: User | None
) -> DeadlineExtension:
    from app.countries import service as countries_service

    country = countries_service.get_by_code(session, data.country)
    treaty = get_by_short_name(session, data.treaty)
    obligation = session.scalar(
        select(Obligation).where(
            Obligation.treaty_id == treaty.id, Obligation.code == data.obligation_code
        )
    )
    if obligation is None:
        raise InvalidInput(f"No obligation is coded {data.obligation_code!r}.")
    ext = DeadlineExtension(
        country_id=country.id,
        obligation_id=obligation.id,
        new_deadline=data.new_deadline,
        granted_by=data.granted_by,
        source=data.source,
    )
    session.add(ext)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="treaty.extension.create",
        entity_type="deadline_extension",
        entity_id=ext.id,
        summary=f"Recorded an extension to {data.new_deadline} for {country.name}",
    )
    return ext


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
