"""Contacts web UI for saved segments: the list (counts filled in afterwards, one request per
row), saving the directory's current filters as a segment, and deleting one (coordinators)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from app.auth.deps import WebCoordinator, WebUser
from app.contacts import segments
from app.contacts.schemas import SearchFilters, SegmentIn
from app.db import SessionDep
from app.errors import DomainError
from app.models import Role, User
from app.web.forms import FormDep, field_errors, validate
from app.web.pagination import Page, page_query
from app.web.routing import web_router
from app.web.templating import redirect, render

router = web_router(prefix="/contacts")
PER_PAGE = 25
FILTER_FIELDS = tuple(SearchFilters.model_fields)


def _segment_url(filters: SearchFilters, segment_id: int) -> str:
    stored = filters.model_dump(
        mode="json", exclude_defaults=True, exclude={"person_ids", "organisation_ids"}
    )
    if stored.get("include_sample") is False:
        stored["include_sample"] = "0"
    return "/contacts?" + urlencode({**stored, "segment": segment_id})


def _segments_page(
    request: Request,
    session: SessionDep,
    user: User,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    q = request.query_params.get("q", "")[:200]
    try:
        page_no = max(1, min(int(request.query_params.get("page", "1")), 100_000))
    except ValueError:
        page_no = 1
    rows, total = segments.list_segments(
        session, search=q, limit=PER_PAGE, offset=(page_no - 1) * PER_PAGE
    )
    items = []
    for seg in rows:
        # counts are fetched by each row afterwards (htmx), so a long list opens at once
        try:
            url = _segment_url(segments.filters_of(seg), seg.id)
        except DomainError:
            url = ""
        items.append({"segment": seg, "url": url})
    ctx = {
        "items": items,
        "q": q,
        "page": Page(page=page_no, per_page=PER_PAGE, total=total),
        "page_query": page_query({"q": q}),
        "can_delete": user.role.at_least(Role.coordinator),
        "values": values or {},
        "errors": errors or {},
    }
    return render(
        request, "contacts/segments.html", ctx, block="results", status_code=422 if errors else 200
    )


@router.get("/segments", name="segments_home")
def segments_home(request: Request, session: SessionDep, user: WebUser) -> Response:
    return _segments_page(request, session, user)


@router.get("/segments/{segment_id:int}/count", name="segment_count")
def segment_count(
    request: Request, session: SessionDep, user: WebUser, segment_id: int
) -> Response:
    try:
        total = str(segments.members(session, segment_id=segment_id, per_page=1).total)
    except DomainError as exc:
        if exc.status == 404:
            raise
        total = "—"
    return HTMLResponse(f'<span class="segment-count">{total}</span>')


@router.post("/segments", name="segment_create")
def segment_create(request: Request, session: SessionDep, user: WebUser, form: FormDep) -> Response:
    filters = {k: form[k] for k in FILTER_FIELDS if form.get(k) not in (None, "")}
    payload = {
        "name": form.get("name", ""),
        "description": form.get("description", ""),
        "filters": filters,
    }
    data, errors = validate(SegmentIn, payload)
    if data is not None:
        try:
            seg = segments.create(session, data=data, actor=user)
        except DomainError as exc:
            errors = field_errors(exc)
        else:
            return redirect(
                request,
                _segment_url(data.filters, seg.id),
                message=f"Saved the segment {seg.name}.",
            )
    back = "/contacts?" + page_query(filters)
    errors = {("name" if k == "__all__" else k): v for k, v in errors.items()}
    return _segment_error(request, session, user, form, errors, back)


def _segment_error(
    request: Request,
    session: SessionDep,
    user: User,
    form: dict[str, Any],
    errors: dict[str, str],
    back: str,
) -> Response:
    ctx = {"values": form, "errors": errors, "back": back}
    return render(request, "contacts/segment_form.html", ctx, status_code=422)


@router.post("/segments/{segment_id:int}/delete", name="segment_delete")
def segment_delete(
    request: Request, session: SessionDep, user: WebCoordinator, segment_id: int
) -> Response:
    segments.delete(session, segment_id=segment_id, actor=user)
    return redirect(request, "/contacts/segments", message="Segment deleted.")
