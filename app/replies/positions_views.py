"""The position register's pages: each treaty's map and list, a country's entries, editing them."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.auth.deps import WebCoordinator, WebUser
from app.countries import service as countries_service
from app.db import SessionDep
from app.errors import DomainError, InvalidInput
from app.models import PositionStance, Role, User
from app.replies import positions
from app.replies.schemas import STANCE_LABELS, PositionCreate, PositionUpdate
from app.treaties import service as treaties_service
from app.web.forms import FormDep, field_errors, validate
from app.web.routing import web_router
from app.web.templating import redirect, render

positions_router = web_router(prefix="/positions")


# --- position register ----------------------------------------------------------------------


def _treaty_or_first(session: SessionDep, short_name: str) -> Any:
    treaties = treaties_service.list_treaties(session)
    if not treaties:
        raise InvalidInput("No treaty is loaded.")
    return next((t for t in treaties if t.short_name == short_name), treaties[0]), treaties


@positions_router.get("", name="positions_home")
def positions_home(
    request: Request, session: SessionDep, user: WebUser, treaty: str = "", stance: str = ""
) -> Response:
    chosen, treaties = _treaty_or_first(session, treaty)
    entries = positions.register(session, treaty_id=chosen.id)
    world = positions_map(entries, chosen.short_name)
    if stance in PositionStance.__members__:
        entries = [e for e in entries if e.stance.value == stance]
    ctx = {
        "treaty": chosen,
        "treaties": treaties,
        "entries": entries,
        "stance": stance,
        "world": world,
        "stance_options": [("", "Any position")]
        + [(s.value, label) for s, label in STANCE_LABELS.items()],
    }
    return render(request, "replies/positions.html", ctx, block="results")


def positions_map(entries: list[positions.EntryView], treaty: str) -> Any:
    from app.maps.service import LegendItem, world_map

    legend = [
        LegendItem(s.value, label, positions.STANCE_COLORS[s]) for s, label in STANCE_LABELS.items()
    ]
    return world_map(
        {e.iso2: e.stance.value for e in entries},
        legend,
        title=f"Positions on the {treaty}",
        details={e.iso2: f"since {e.stated_on.isoformat()}" for e in entries},
        link_pattern="/positions/{iso2}",
    )


def _country_page(
    request: Request,
    session: SessionDep,
    user: User,
    code: str,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    country = countries_service.get_by_code(session, code)
    treaties = treaties_service.list_treaties(session)
    entries = positions.history(session, country_id=country.id)
    by_treaty = [(t, [e for e in entries if e.treaty == t.short_name]) for t in treaties]
    ctx = {
        "country": country,
        "by_treaty": by_treaty,
        "can_edit": user.role.at_least(Role.coordinator),
        "errors": errors or {},
        "values": values or {"stated_on": date.today().isoformat(), "treaty": "CCM"},
        "treaty_options": [(t.short_name, t.short_name) for t in treaties],
        "stance_options": [(s.value, label) for s, label in STANCE_LABELS.items()],
    }
    return render(request, "replies/country.html", ctx, status_code=422 if errors else 200)


@positions_router.get("/{code}", name="positions_country")
def positions_country(request: Request, session: SessionDep, user: WebUser, code: str) -> Response:
    return _country_page(request, session, user, code[:3])


@positions_router.post("", name="register_entry_create")
def position_create(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep
) -> Response:
    code = str(form.get("country", ""))[:3]
    data, errors = validate(PositionCreate, form)
    if data is None:
        return _country_page(request, session, user, code, errors, dict(form))
    try:
        entry = positions.create(session, data=data, actor=user)
    except DomainError as exc:
        session.rollback()
        return _country_page(request, session, user, code, field_errors(exc), dict(form))
    return redirect(request, f"/positions/{entry.iso3}", message="Position recorded.")


@positions_router.get("/entries/{entry_id:int}/edit", name="position_edit")
def position_edit(
    request: Request, session: SessionDep, user: WebCoordinator, entry_id: int
) -> Response:
    entry = positions.get(session, entry_id)
    values = {
        "stance": entry.stance.value,
        "stated_on": entry.stated_on.isoformat(),
        "quote": entry.quote,
        "source": entry.source,
    }
    return _position_edit_page(request, entry, values)


def _position_edit_page(
    request: Request,
    entry: positions.EntryView,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    ctx = {
        "entry": entry,
        "values": values,
        "errors": errors or {},
        "stance_options": [(s.value, label) for s, label in STANCE_LABELS.items()],
    }
    return render(request, "replies/position_form.html", ctx, status_code=422 if errors else 200)


@positions_router.post("/entries/{entry_id:int}", name="position_update")
def position_update(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep, entry_id: int
) -> Response:
    entry = positions.get(session, entry_id)
    data, errors = validate(PositionUpdate, form)
    if data is None:
        return _position_edit_page(request, entry, dict(form), errors)
    try:
        positions.update(session, entry_id=entry_id, data=data, actor=user)
    except DomainError as exc:
        session.rollback()
        return _position_edit_page(request, entry, dict(form), field_errors(exc))
    return redirect(request, f"/positions/{entry.iso3}", message="Position saved.")


@positions_router.post("/entries/{entry_id:int}/delete", name="register_entry_delete")
def position_delete(
    request: Request, session: SessionDep, user: WebCoordinator, entry_id: int
) -> Response:
    entry = positions.delete(session, entry_id=entry_id, actor=user)
    return redirect(request, f"/positions/{entry.iso3}", message="Position entry removed.")


# --- reply tracker --------------------------------------------------------------------------
