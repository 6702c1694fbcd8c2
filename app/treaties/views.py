"""Treaties web UI: treaties, the status of every state on any date, a state's treaty record."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup

from app.auth.deps import WebAdmin, WebCoordinator, WebUser
from app.countries import service as countries_service
from app.db import SessionDep
from app.errors import Conflict, DomainError
from app.maps.service import LegendItem, world_map
from app.models import Role
from app.treaties import actions as state_actions
from app.treaties import service
from app.treaties.rules import ActionKind, Status
from app.treaties.schemas import (
    ExtensionCreate,
    ObligationCreate,
    StateActionCreate,
    StateActionUpdate,
    TreatyCreate,
)
from app.web.forms import FormDep, validate
from app.web.routing import web_router
from app.web.templating import redirect, render, templates, url_for

router = web_router(prefix="/treaties")

STATUS_OPTIONS = [("", "Any status")] + [(s.value, s.label) for s in Status]
KIND_OPTIONS = [(k.value, k.value.title()) for k in ActionKind]


def _parse_date(value: str | None) -> tuple[date, str]:
    if not value:
        return date.today(), ""
    try:
        return date.fromisoformat(value), ""
    except ValueError:
        return date.today(), f"{value!r} is not a date (YYYY-MM-DD); showing today."


def _index(request: Request, session: SessionDep, **extra: Any) -> Response:
    today = date.today()
    treaties = service.list_treaties(session)
    ctx: dict[str, Any] = {
        "treaties": [
            (t, service.status_counts(session, t, on=today), service.treaty_eif(session, t))
            for t in treaties
        ],
        "errors": {},
        "form": {},
        "statuses": list(Status),
    }
    ctx.update(extra)
    return render(request, "treaties/index.html", ctx, status_code=422 if extra else 200)


@router.get("", name="treaties_home")
def treaties_home(request: Request, session: SessionDep, _user: WebUser) -> Response:
    return _index(request, session)


@router.post("", name="treaty_create")
def treaty_create(
    request: Request, session: SessionDep, admin: WebAdmin, form: FormDep
) -> Response:
    data, errors = validate(TreatyCreate, form)
    if data is None:
        return _index(request, session, errors=errors, form=form)
    try:
        treaty = service.create_treaty(session, data=data, actor=admin)
    except Conflict as exc:
        return _index(request, session, errors={"short_name": exc.detail}, form=form)
    return redirect(
        request, f"/treaties/{treaty.short_name}", message=f"{treaty.short_name} added."
    )


STATUS_LEGEND = [
    LegendItem(Status.state_party.value, Status.state_party.label, "#2e7d4f"),
    LegendItem(Status.signatory.value, Status.signatory.label, "#e0a526"),
    LegendItem(Status.non_signatory.value, Status.non_signatory.label, "#b8c2cc"),
    LegendItem(Status.withdrawn.value, Status.withdrawn.label, "#c0392b"),
]


def _detail(
    request: Request, session: SessionDep, user: Any, short_name: str, **extra: Any
) -> Response:
    treaty = service.get_by_short_name(session, short_name)
    params = request.query_params
    on, date_error = _parse_date(params.get("on"))
    status_value = params.get("status") or ""
    status = Status(status_value) if status_value in Status.__members__ else None
    region = params.get("region") or None
    picture, rows = service.status_table(session, treaty, on=on, status=status, region=region)
    counts = service.status_counts(session, treaty, on=on)
    ctx: dict[str, Any] = {
        "treaty": treaty,
        "results_html": _results_html(request, treaty, picture, rows, counts, on, date_error),
        "on": on,
        "date_error": date_error,
        "status_value": status_value,
        "region": region or "",
        "regions": [r for r, _ in countries_service.regions(session)],
        "status_options": STATUS_OPTIONS,
        "counts": counts,
        "eif": picture.entry_into_force,
        "total": len(rows),
        "meetings": service.list_meetings(session, treaty_id=treaty.id),
        "errors": {},
        "form": {},
        "is_admin": user.role.at_least(Role.admin),
        "today": date.today(),
    }
    ctx.update(extra)
    return render(
        request, "treaties/detail.html", ctx, block="results", status_code=422 if extra else 200
    )


# The status block of a treaty's page (the largest HTML: a map, tiles, a table of every state)
# by everything it shows, kept for the next visitor: it is the same for everyone until a
# state's action, a country or the date changes. A few entries per process.
_RESULTS: dict[tuple[Any, ...], Markup] = {}
_RESULTS_MAX = 8


def _results_html(
    request: Request,
    treaty: Any,
    picture: service.TreatyPicture,
    rows: list[tuple[Any, Any, Status]],
    counts: dict[str, int],
    on: date,
    date_error: str | None,
) -> Markup:
    shown = tuple((c.id, c.iso2, c.iso3, c.name, c.region, c.sub_region, st) for c, _, st in rows)
    key = (
        picture.inputs,
        treaty.short_name,
        on,
        date_error,
        tuple(counts.items()),
        shown,
        str(url_for(request, "treaty_country", code="XXX")),
    )
    if (hit := _RESULTS.get(key)) is not None:
        return hit
    groups: dict[str, list[Any]] = {}
    for country, record, st in rows:
        groups.setdefault(country.region or "Other", []).append((country, record, st))
    world = world_map(
        {country.iso2: st.value for country, _, st in rows if country.iso2},
        STATUS_LEGEND,
        title=f"{treaty.short_name} status on {on.isoformat()}",
        details={country.iso2: country.name for country, _, _ in rows},
        link_pattern="/treaties/countries/{iso2}",
    )
    html = Markup(  # noqa: S704 - an autoescaping template's output
        templates.env.get_template("treaties/_results.html").render(
            request=request,
            on=on,
            date_error=date_error,
            counts=counts,
            groups=groups,
            world=world,
        )
    )
    if len(_RESULTS) >= _RESULTS_MAX:
        _RESULTS.clear()
    _RESULTS[key] = html
    return html


@router.get("/{short_name}", name="treaty_detail")
def treaty_detail(
    request: Request, session: SessionDep, user: WebUser, short_name: str
) -> Response:
    return _detail(request, session, user, short_name)


@router.post("/{short_name}/obligations", name="treaty_obligation_create")
def obligation_create(
    request: Request, session: SessionDep, admin: WebAdmin, form: FormDep, short_name: str
) -> Response:
    treaty = service.get_by_short_name(session, short_name)
    data, errors = validate(ObligationCreate, form)
    if data is None:
        return _detail(request, session, admin, short_name, errors=errors, form=form)
    try:
        service.add_obligation(session, treaty=treaty, data=data, actor=admin)
    except Conflict as exc:
        return _detail(request, session, admin, short_name, errors={"code": exc.detail}, form=form)
    return redirect(request, f"/treaties/{treaty.short_name}", message="Obligation added.")


def _country(request: Request, session: SessionDep, user: Any, code: str, **extra: Any) -> Response:
    country = countries_service.get_by_code(session, code)
    on, date_error = _parse_date(request.query_params.get("on"))
    actions, _ = state_actions.list_actions(session, country_id=country.id, limit=200)
    treaties = service.list_treaties(session)
    ctx: dict[str, Any] = {
        "country": country,
        "on": on,
        "date_error": date_error,
        "rows": service.country_treaties(session, country.id, on=on),
        "actions": actions,
        "treaty_names": {t.id: t.short_name for t in treaties},
        "treaty_options": [(t.short_name, t.short_name) for t in treaties],
        "obligation_options": sorted({(o.code, o.code) for t in treaties for o in t.obligations}),
        "kind_options": KIND_OPTIONS,
        "can_edit": user.role.at_least(Role.coordinator),
        "errors": {},
        "form": {},
        "ext_errors": {},
        "ext_form": {},
    }
    ctx.update(extra)
    return render(request, "treaties/country.html", ctx, status_code=422 if extra else 200)


@router.get("/countries/{code}", name="treaty_country")
def country_page(request: Request, session: SessionDep, user: WebUser, code: str) -> Response:
    return _country(request, session, user, code)


@router.post("/countries/{code}/actions", name="treaty_action_create")
def action_create(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep, code: str
) -> Response:
    data, errors = validate(StateActionCreate, {**form, "country": code})
    if data is None:
        return _country(request, session, user, code, errors=errors, form=form)
    try:
        state_actions.create_action(session, data=data, actor=user)
    except DomainError as exc:
        return _country(request, session, user, code, errors={"kind": exc.detail}, form=form)
    return redirect(request, f"/treaties/countries/{code}", message="Action recorded.")


@router.post("/countries/{code}/extensions", name="treaty_extension_create")
def extension_create(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep, code: str
) -> Response:
    data, errors = validate(ExtensionCreate, {**form, "country": code})
    if data is None:
        return _country(request, session, user, code, ext_errors=errors, ext_form=form)
    try:
        state_actions.add_extension(session, data=data, actor=user)
    except DomainError as exc:
        return _country(
            request, session, user, code, ext_errors={"obligation_code": exc.detail}, ext_form=form
        )
    return redirect(request, f"/treaties/countries/{code}", message="Extension recorded.")


def _action(request: Request, session: SessionDep, action_id: int, **extra: Any) -> Response:
    action = state_actions.get_action(session, action_id)
    ctx: dict[str, Any] = {
        "action": action,
        "treaty": service.get(session, action.treaty_id),
        "history": state_actions.action_history(session, action_id),
        "kind_options": KIND_OPTIONS,
        "errors": {},
        "form": {},
    }
    ctx.update(extra)
    return render(request, "treaties/action.html", ctx, status_code=422 if extra else 200)


@router.get("/actions/{action_id:int}", name="treaty_action")
def action_page(
    request: Request, session: SessionDep, _user: WebCoordinator, action_id: int
) -> Response:
    return _action(request, session, action_id)


@router.post("/actions/{action_id:int}", name="treaty_action_update")
def action_update(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep, action_id: int
) -> Response:
    data, errors = validate(StateActionUpdate, form)
    if data is None:
        return _action(request, session, action_id, errors=errors, form=form)
    try:
        action = state_actions.update_action(session, action_id=action_id, data=data, actor=user)
    except DomainError as exc:
        return _action(request, session, action_id, errors={"kind": exc.detail}, form=form)
    return redirect(
        request, f"/treaties/countries/{action.country.iso3}", message="Action updated."
    )
