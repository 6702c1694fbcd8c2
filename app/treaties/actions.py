"""What states do about a treaty (sign, ratify, accede, withdraw) and the deadline extensions they
are granted: listed, recorded and corrected, with their audit history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.errors import Conflict, InvalidInput, NotFound
from app.models import User
from app.models.treaties import DeadlineExtension, Obligation, StateAction
from app.treaties.rules import ActionKind
from app.treaties.schemas import ExtensionCreate, StateActionCreate, StateActionUpdate
from app.treaties.service import get_by_short_name

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
