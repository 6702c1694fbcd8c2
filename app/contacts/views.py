"""Contacts web UI: the directory with search-as-you-type and filters, person and organisation
pages (forms of address, positions, contact points, treaty status, timeline) and their forms.
Any signed-in user reads, creates and edits; deleting needs a coordinator. Saved segments have
their pages in ``segment_views``.

Over 600 lines: the person and organisation pages share the detail page that every form on it
(positions, contact points, names) renders again with its errors."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import Response

from app.auth.deps import WebCoordinator, WebUser
from app.contacts import (
    addressing,
    bulk_views,
    names,
    recipients,
    segments,
    service,
    tags,
    timeline,
)
from app.contacts import search as contacts_search
from app.contacts.identity_views import identity_context
from app.contacts.schemas import (
    TREATY_STATUS_LABELS,
    ContactPointCreate,
    ContactPointIn,
    OrganisationCreate,
    OrganisationUpdate,
    PersonCreate,
    PersonUpdate,
    PositionCreate,
    PositionEnd,
    SearchFilters,
)
from app.countries import service as countries_service
from app.db import SessionDep
from app.errors import DomainError
from app.mail import bounces
from app.models import (
    ContactKind,
    ContactPoint,
    Gender,
    Organisation,
    OrganisationType,
    Person,
    Role,
    UnLocation,
    User,
)
from app.treaties import service as treaties_service
from app.web.forms import FormDep, field_errors, validate
from app.web.pagination import Page, page_query
from app.web.routing import web_router
from app.web.templating import is_htmx, redirect, render

router = web_router(prefix="/contacts")
PER_PAGE = 25
FILTER_FIELDS = tuple(SearchFilters.model_fields)
SALUTATION_LANGUAGES = addressing.LANGUAGES
NAME_LANGUAGES = names.NAME_FORM_LANGUAGES
NAME_LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "ru": "Russian",
    "ar": "Arabic",
    "zh": "Chinese",
}
FORM_PREFIX = "name_forms."  # form fields name_forms.<language>[.<part>], as errors name them
Owner = Literal["person", "organisation"]


def _tags_list(value: Any) -> list[str]:
    if isinstance(value, list):
        value = ",".join(value)
    return [t.strip() for t in str(value or "").split(",") if t.strip()]


# --- directory ----------------------------------------------------------------------------------


def _filter_options(session: SessionDep) -> dict[str, Any]:
    regions = countries_service.regions(session)
    return {
        "kind_options": [("", "People and organisations"), ("person", "People")]
        + [("organisation", "Organisations")],
        "type_options": [("", "Any type")] + [(t.value, t.label) for t in OrganisationType],
        "country_options": [("", "Any country"), *countries_service.choices(session)],
        "region_options": [("", "Any region")] + [(r, r) for r, _ in regions],
        "sub_region_options": [("", "Any sub-region")]
        + [(s, s) for _, subs in regions for s in subs],
        "tag_options": [("", "Any tag")] + [(t.name, t.name) for t in tags.list_tags(session)],
        "treaty_options": [("", "Any treaty")]
        + [(name, name) for name in treaties_service.short_names(session)],
        "treaty_status_options": [("", "Any status"), *TREATY_STATUS_LABELS.items()],
    }


@router.get("", name="contacts_home")
def contacts_home(request: Request, session: SessionDep, user: WebUser) -> Response:
    params = request.query_params
    raw = {k: params.get(k, "") for k in FILTER_FIELDS if k != "include_sample"}
    raw["include_sample"] = params.get("include_sample", "true") or "true"
    try:
        page_no = max(1, min(int(params.get("page", "1")), 100_000))
    except ValueError:
        page_no = 1
    segment = None
    segment_id = params.get("segment", "")
    if segment_id.isdigit():
        try:
            segment = segments.get(session, int(segment_id))
        except DomainError:
            segment = None
    if segment is not None:  # a list segment's ids stay on the server, not in the address
        for key in ("person_ids", "organisation_ids"):
            ids = (segment.filters or {}).get(key) or []
            raw[key] = ",".join(str(i) for i in ids) if isinstance(ids, list) else ""
    filters, errors = validate(SearchFilters, raw)
    results = None
    if filters is not None:
        try:
            results = contacts_search.search(session, filters, page_no, PER_PAGE)
        except DomainError as exc:
            errors = field_errors(exc)
    listed = {k: v for k, v in raw.items() if k not in ("person_ids", "organisation_ids")}
    if segment is not None:
        listed["segment"] = str(segment.id)
    query = page_query({**listed, "include_sample": "" if raw["include_sample"] == "true" else "0"})
    ctx = {
        "values": raw,
        "errors": errors,
        "results": results,
        "filtered": filters is not None and not filters.is_empty(),
        "page": Page(page=page_no, per_page=PER_PAGE, total=results.total) if results else None,
        "page_query": query,
        "segment": segment,
        "can_delete": user.role.at_least(Role.coordinator),
        "bulk_actions": bulk_views.action_options(user),
        **_filter_options(session),
    }
    # htmx swaps only 2xx answers: a fragment carries its inline messages with a 200
    status = 422 if errors and not is_htmx(request) else 200
    return render(request, "contacts/index.html", ctx, block="results", status_code=status)


# --- people -------------------------------------------------------------------------------------


def _forms_payload(form: dict[str, Any]) -> dict[str, Any]:
    """The name-forms table's fields as the schemas take them: {"ru": {"given": ...}} for a
    person, {"ru": "..."} for an organisation."""
    out: dict[str, Any] = {}
    for key, value in form.items():
        if not key.startswith(FORM_PREFIX):
            continue
        lang, _, part = key.removeprefix(FORM_PREFIX).partition(".")
        text = value if isinstance(value, str) else ""
        if part:
            out.setdefault(lang, {})[part] = text
        else:
            out[lang] = text
    return out


def _forms_values(raw: dict[str, Any] | None, person: bool) -> dict[str, str]:
    values: dict[str, str] = {}
    if person:
        for lang, form in names.person_forms_dict(raw).items():
            for part, text in form.items():
                values[f"{FORM_PREFIX}{lang}.{part}"] = text
    else:
        for lang, text in names.organisation_forms_of(raw).items():
            values[f"{FORM_PREFIX}{lang}"] = text
    return values


def _forms_errors(errors: dict[str, str] | None, fields: set[str]) -> dict[str, str]:
    """A name-forms message with no field of its own in the table (a language not offered,
    say) is shown above the table."""
    out = dict(errors or {})
    for key, message in (errors or {}).items():
        if key.startswith(FORM_PREFIX) and key not in fields:
            out.setdefault("name_forms", f"{key.removeprefix(FORM_PREFIX)}: {message}")
    return out


PERSON_FORM_FIELDS = {
    f"{FORM_PREFIX}{lang}.{part}" for lang in NAME_LANGUAGES for part in names.NAME_PARTS
}
ORG_FORM_FIELDS = {f"{FORM_PREFIX}{lang}" for lang in NAME_LANGUAGES}


def _person_payload(form: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in form.items() if not k.startswith(("salutation_", FORM_PREFIX))}
    data["name_forms"] = _forms_payload(form)
    data["tags"] = _tags_list(form.get("tags"))
    data["salutation_overrides"] = {
        lang: form.get(f"salutation_{lang}", "") for lang in SALUTATION_LANGUAGES
    }
    return data


def _person_values(person: Person) -> dict[str, Any]:
    values: dict[str, Any] = {
        "honorific": person.honorific,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "native_name": person.native_name,
        "gender": person.gender.value,
        "preferred_language": person.preferred_language,
        "notes": person.notes,
        "no_email": person.no_email,
        "no_post": person.no_post,
        "is_sample": person.is_sample,
        "tags": ", ".join(sorted(t.name for t in person.tags)),
        "version": person.version,
    }
    for lang in SALUTATION_LANGUAGES:
        values[f"salutation_{lang}"] = (person.salutation_overrides or {}).get(lang, "")
    values.update(_forms_values(person.name_forms, person=True))
    return values


def _person_form(
    request: Request,
    person: Person | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    ctx = {
        "person": person,
        "values": values,
        "errors": _forms_errors(errors, PERSON_FORM_FIELDS),
        "gender_options": [(g.value, g.value.title()) for g in Gender],
        "languages": SALUTATION_LANGUAGES,
        "name_languages": NAME_LANGUAGE_NAMES,
        "name_parts": [("given", "Given name"), ("patronymic", "Patronymic")]
        + [("family", "Family name")],
    }
    return render(request, "contacts/person_form.html", ctx, status_code=422 if errors else 200)


@router.get("/people/new", name="person_new")
def person_new(request: Request, user: WebUser) -> Response:
    return _person_form(request, None, {"preferred_language": "en", "gender": "unspecified"})


@router.post("/people", name="person_create")
def person_create(request: Request, session: SessionDep, user: WebUser, form: FormDep) -> Response:
    data, errors = validate(PersonCreate, _person_payload(form))
    if data is None:
        return _person_form(request, None, dict(form), errors)
    try:
        person = service.create_person(session, data=data, actor=user)
    except DomainError as exc:
        return _person_form(request, None, dict(form), field_errors(exc))
    return redirect(request, f"/contacts/people/{person.id}", message="Person added.")


@router.get("/people/{person_id:int}", name="person_detail")
def person_detail(request: Request, session: SessionDep, user: WebUser, person_id: int) -> Response:
    return _person_detail(request, session, user, person_id)


def _points_view(points: list[ContactPoint]) -> list[dict[str, Any]]:
    out = []
    order = {k: i for i, k in enumerate(ContactKind)}
    for cp in sorted(points, key=lambda p: (order[p.kind], not p.preferred, p.id)):
        lines = (
            addressing.address_lines(
                name_lines=[],
                street_address=cp.street_address,
                city=cp.city,
                city_area=cp.city_area,
                postal_code=cp.postal_code,
                country_area=cp.country_area,
                country_code=cp.country_code,
            )
            if cp.kind == ContactKind.postal
            else []
        )
        out.append({"cp": cp, "lines": lines})
    return out


def _detail_common(
    session: SessionDep, user: User, kind: Owner, entity_id: int, country_id: int | None
) -> dict[str, Any]:
    return {
        "today": date.today(),
        "can_delete": user.role.at_least(Role.coordinator),
        "treaty_status": contacts_search.country_treaty_status(session, country_id),
        "timeline": timeline.timeline(session, kind=kind, entity_id=entity_id),
        "kind_options": [(k.value, k.value.title()) for k in ContactKind],
        "language_names": addressing.LANGUAGE_NAMES,
        "name_languages": NAME_LANGUAGE_NAMES,
        **identity_context(session, user, kind, entity_id),
    }


def _person_detail(
    request: Request,
    session: SessionDep,
    user: User,
    person_id: int,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    form_name: str = "",
) -> Response:
    recipient = recipients.recipient(session, person_id=person_id)
    person = service.get_person(session, person_id)
    current = service.current_position(person)
    country_id = current.organisation.country_id if current else None
    positions = sorted(
        person.positions,
        key=lambda p: (p.end_date is not None, -(p.start_date or date.min).toordinal()),
    )
    ctx = {
        "person": person,
        "display_name": service.display_person(person),
        "recipient": recipient,
        "current": current,
        "country": current.organisation.country if current else None,
        "positions": positions,
        "points": _points_view(list(person.contact_points)),
        "organisation_options": service.list_organisation_choices(session),
        "errors": errors or {},
        "form": form or {},
        "form_name": form_name,
        **_detail_common(session, user, "person", person_id, country_id),
    }
    return render(request, "contacts/person.html", ctx, status_code=422 if errors else 200)


@router.get("/people/{person_id:int}/edit", name="person_edit")
def person_edit(request: Request, session: SessionDep, user: WebUser, person_id: int) -> Response:
    person = service.get_person(session, person_id)
    return _person_form(request, person, _person_values(person))


@router.post("/people/{person_id:int}", name="person_update")
def person_update(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, person_id: int
) -> Response:
    person = service.get_person(session, person_id)
    data, errors = validate(PersonUpdate, _person_payload(form))
    if data is None:
        return _person_form(request, person, dict(form), errors)
    try:
        service.update_person(session, person_id=person_id, data=data, actor=user)
    except DomainError as exc:
        # A stale version keeps the form stale too: saving again needs a reload first.
        return _person_form(request, person, dict(form), field_errors(exc))
    return redirect(request, f"/contacts/people/{person_id}", message="Saved.")


@router.post("/people/{person_id:int}/delete", name="person_delete")
def person_delete(
    request: Request, session: SessionDep, user: WebCoordinator, person_id: int
) -> Response:
    service.delete_person(session, person_id=person_id, actor=user)
    return redirect(request, "/contacts", message="Person deleted.")


# --- positions ----------------------------------------------------------------------------------


@router.post("/people/{person_id:int}/positions", name="position_create")
def position_create(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, person_id: int
) -> Response:
    service.get_person(session, person_id)
    data, errors = validate(PositionCreate, {**form, "person_id": person_id})
    if data is not None:
        try:
            service.create_position(session, data=data, actor=user)
        except DomainError as exc:
            errors = field_errors(exc)
        else:
            return redirect(request, f"/contacts/people/{person_id}", message="Position added.")
    return _person_detail(request, session, user, person_id, errors, dict(form), "position")


@router.post("/positions/{position_id:int}/end", name="position_end")
def position_end(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, position_id: int
) -> Response:
    pos = service.get_position(session, position_id)
    person_id = pos.person_id
    data, errors = validate(PositionEnd, form)
    if data is not None:
        try:
            service.end_position(session, position_id=position_id, on=data.end_date, actor=user)
        except DomainError as exc:
            errors = field_errors(exc)
        else:
            return redirect(request, f"/contacts/people/{person_id}", message="Position ended.")
    return _person_detail(
        request, session, user, person_id, errors, dict(form), f"end-{position_id}"
    )


@router.post("/positions/{position_id:int}/delete", name="position_delete")
def position_delete(
    request: Request, session: SessionDep, user: WebCoordinator, position_id: int
) -> Response:
    person_id = service.get_position(session, position_id).person_id
    service.delete_position(session, position_id=position_id, actor=user)
    return redirect(request, f"/contacts/people/{person_id}", message="Position removed.")


# --- contact points -----------------------------------------------------------------------------


def _point_errors(form: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    """Email and phone messages belong next to the value field."""
    if "__all__" in errors and form.get("kind") in ("email", "phone", "fax"):
        errors = {**errors, "value": errors.pop("__all__")}
    return errors


def _owner_detail(
    request: Request,
    session: SessionDep,
    user: User,
    owner: Owner,
    owner_id: int,
    errors: dict[str, str],
    form: dict[str, Any],
    form_name: str,
) -> Response:
    if owner == "person":
        return _person_detail(request, session, user, owner_id, errors, form, form_name)
    return _organisation_detail(request, session, user, owner_id, errors, form, form_name)


def _owner_url(owner: Owner, owner_id: int) -> str:
    return f"/contacts/{'people' if owner == 'person' else 'organisations'}/{owner_id}"


def _point_create(
    request: Request, session: SessionDep, user: User, form: dict[str, Any], owner: Owner, oid: int
) -> Response:
    key = "person_id" if owner == "person" else "organisation_id"
    data, errors = validate(ContactPointCreate, {**form, key: oid})
    if data is not None:
        try:
            service.create_contact_point(session, data=data, actor=user)
        except DomainError as exc:
            errors = field_errors(exc)
        else:
            return redirect(request, _owner_url(owner, oid), message="Contact point added.")
    errors = _point_errors(form, errors)
    return _owner_detail(request, session, user, owner, oid, errors, dict(form), "point")


@router.post("/people/{person_id:int}/points", name="person_point_create")
def person_point_create(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, person_id: int
) -> Response:
    service.get_person(session, person_id)
    return _point_create(request, session, user, form, "person", person_id)


@router.post("/organisations/{organisation_id:int}/points", name="organisation_point_create")
def organisation_point_create(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, organisation_id: int
) -> Response:
    service.get_organisation(session, organisation_id)
    return _point_create(request, session, user, form, "organisation", organisation_id)


def _point_owner(cp: ContactPoint) -> tuple[Owner, int]:
    if cp.person_id is not None:
        return "person", cp.person_id
    assert cp.organisation_id is not None
    return "organisation", cp.organisation_id


def _point_form(
    request: Request,
    cp: ContactPoint,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    owner, oid = _point_owner(cp)
    ctx = {
        "cp": cp,
        "values": values,
        "errors": errors or {},
        "back": _owner_url(owner, oid),
        "kind_options": [(k.value, k.value.title()) for k in ContactKind],
    }
    return render(request, "contacts/point_form.html", ctx, status_code=422 if errors else 200)


@router.get("/points/{point_id:int}/edit", name="point_edit")
def point_edit(request: Request, session: SessionDep, user: WebUser, point_id: int) -> Response:
    cp = service.get_contact_point(session, point_id)
    values = {
        k: getattr(cp, k)
        for k in ContactPointIn.model_fields
        if k not in ("kind",) and hasattr(cp, k)
    }
    values["kind"] = cp.kind.value
    return _point_form(request, cp, values)


@router.post("/points/{point_id:int}", name="point_update")
def point_update(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, point_id: int
) -> Response:
    cp = service.get_contact_point(session, point_id)
    data, errors = validate(ContactPointIn, form)
    if data is not None:
        try:
            service.update_contact_point(session, contact_point_id=point_id, data=data, actor=user)
        except DomainError as exc:
            errors = field_errors(exc)
        else:
            owner, oid = _point_owner(cp)
            return redirect(request, _owner_url(owner, oid), message="Contact point saved.")
    return _point_form(request, cp, dict(form), _point_errors(form, errors))


@router.post("/points/{point_id:int}/clear-failure", name="point_clear_failure")
def point_clear_failure(
    request: Request, session: SessionDep, user: WebUser, point_id: int
) -> Response:
    """A bounce flagged the address as failing; someone checked it, merges stop warning."""
    owner, oid = _point_owner(service.get_contact_point(session, point_id))
    bounces.clear_failing(session, contact_point_id=point_id, actor=user)
    return redirect(request, _owner_url(owner, oid), message="No longer flagged as failing.")


@router.post("/points/{point_id:int}/delete", name="point_delete")
def point_delete(
    request: Request, session: SessionDep, user: WebCoordinator, point_id: int
) -> Response:
    owner, oid = _point_owner(service.get_contact_point(session, point_id))
    service.delete_contact_point(session, contact_point_id=point_id, actor=user)
    return redirect(request, _owner_url(owner, oid), message="Contact point removed.")


# --- organisations ------------------------------------------------------------------------------


def _org_payload(form: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in form.items() if not k.startswith(FORM_PREFIX)}
    return {**data, "name_forms": _forms_payload(form), "tags": _tags_list(form.get("tags"))}


def _org_values(org: Organisation) -> dict[str, Any]:
    return {
        "name": org.name,
        "short_name": org.short_name,
        "native_name": org.native_name,
        "type": org.type.value,
        "parent_id": org.parent_id or "",
        "country": org.country.iso3 if org.country else "",
        "host_country": org.host_country.iso3 if org.host_country else "",
        "host_city": org.host_city,
        "un_location": org.un_location.value if org.un_location else "",
        "office_title": org.office_title,
        "preferred_language": org.preferred_language,
        "website": org.website,
        "notes": org.notes,
        "no_email": org.no_email,
        "no_post": org.no_post,
        "is_sample": org.is_sample,
        "tags": ", ".join(sorted(t.name for t in org.tags)),
        "version": org.version,
        **_forms_values(org.name_forms, person=False),
    }


def _org_form(
    request: Request,
    session: SessionDep,
    org: Organisation | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    countries = [("", "—"), *countries_service.choices(session)]
    ctx = {
        "org": org,
        "values": values,
        "errors": _forms_errors(errors, ORG_FORM_FIELDS),
        "type_options": [(t.value, t.label) for t in OrganisationType],
        "country_options": countries,
        "parent_options": [("", "—")]
        + [(i, n) for i, n in service.list_organisation_choices(session) if not org or i != org.id],
        "un_options": [("", "—"), (UnLocation.new_york.value, "New York")]
        + [(UnLocation.geneva.value, "Geneva")],
        "name_languages": NAME_LANGUAGE_NAMES,
    }
    return render(
        request, "contacts/organisation_form.html", ctx, status_code=422 if errors else 200
    )


@router.get("/organisations/new", name="organisation_new")
def organisation_new(request: Request, session: SessionDep, user: WebUser) -> Response:
    return _org_form(request, session, None, {"preferred_language": "en", "type": "ministry"})


@router.post("/organisations", name="organisation_create")
def organisation_create(
    request: Request, session: SessionDep, user: WebUser, form: FormDep
) -> Response:
    data, errors = validate(OrganisationCreate, _org_payload(form))
    if data is None:
        return _org_form(request, session, None, dict(form), errors)
    try:
        org = service.create_organisation(session, data=data, actor=user)
    except DomainError as exc:
        return _org_form(request, session, None, dict(form), field_errors(exc))
    return redirect(request, f"/contacts/organisations/{org.id}", message="Organisation added.")


@router.get("/organisations/{organisation_id:int}", name="organisation_detail")
def organisation_detail(
    request: Request, session: SessionDep, user: WebUser, organisation_id: int
) -> Response:
    return _organisation_detail(request, session, user, organisation_id)


def _organisation_detail(
    request: Request,
    session: SessionDep,
    user: User,
    organisation_id: int,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    form_name: str = "",
) -> Response:
    recipient = recipients.recipient(session, organisation_id=organisation_id)
    holder = service.office_holder(session, organisation_id=organisation_id)
    org = service.get_organisation(session, organisation_id)
    positions = sorted(
        org.positions,
        key=lambda p: (p.end_date is not None, -(p.start_date or date.min).toordinal()),
    )
    ctx = {
        "org": org,
        "recipient": recipient,
        "holder": holder,
        "positions": positions,
        "points": _points_view(list(org.contact_points)),
        "errors": errors or {},
        "form": form or {},
        "form_name": form_name,
        **_detail_common(session, user, "organisation", organisation_id, org.country_id),
    }
    return render(request, "contacts/organisation.html", ctx, status_code=422 if errors else 200)


@router.get("/organisations/{organisation_id:int}/edit", name="organisation_edit")
def organisation_edit(
    request: Request, session: SessionDep, user: WebUser, organisation_id: int
) -> Response:
    org = service.get_organisation(session, organisation_id)
    return _org_form(request, session, org, _org_values(org))


@router.post("/organisations/{organisation_id:int}", name="organisation_update")
def organisation_update(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, organisation_id: int
) -> Response:
    org = service.get_organisation(session, organisation_id)
    data, errors = validate(OrganisationUpdate, _org_payload(form))
    if data is None:
        return _org_form(request, session, org, dict(form), errors)
    try:
        service.update_organisation(session, organisation_id=organisation_id, data=data, actor=user)
    except DomainError as exc:
        return _org_form(request, session, org, dict(form), field_errors(exc))
    return redirect(request, f"/contacts/organisations/{organisation_id}", message="Saved.")


@router.post("/organisations/{organisation_id:int}/delete", name="organisation_delete")
def organisation_delete(
    request: Request, session: SessionDep, user: WebCoordinator, organisation_id: int
) -> Response:
    service.delete_organisation(session, organisation_id=organisation_id, actor=user)
    return redirect(request, "/contacts", message="Organisation deleted.")
