"""Web pages for identities: the "Also known as" forms of person and organisation pages, the
duplicates list (merge, or "not a duplicate") and undoing a merge.

Any signed-in user adds aliases; removing one, the duplicates page and undoing merges need a
coordinator (who merges). Every form carries the CSRF token (``web_router``)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from app.auth.deps import WebCoordinator, WebUser
from app.contacts import aliases, duplicates, unmerge
from app.db import SessionDep
from app.errors import DomainError
from app.models import AliasKind, Role, User
from app.web.forms import FormDep
from app.web.pagination import Page
from app.web.routing import web_router
from app.web.templating import redirect, render

router = web_router(prefix="/contacts")
PER_PAGE = 25
Kind = Literal["person", "organisation"]


def identity_context(session: SessionDep, user: User, kind: Kind, record_id: int) -> dict[str, Any]:
    """What a person's or organisation's page shows of its identities: its aliases and the
    merges into it that can still be undone."""
    can_merge = user.role.at_least(Role.coordinator)
    return {
        "aliases": aliases.list_aliases(session, kind, record_id),
        "alias_kind_labels": aliases.ALIAS_KIND_LABELS,
        "alias_kind_options": [
            (k.value, label)
            for k, label in aliases.ALIAS_KIND_LABELS.items()
            if k != AliasKind.merged
        ],
        "undoable_merges": unmerge.undoable(session, kind, record_id) if can_merge else [],
        "alias_owner": kind,
    }


def _detail(
    request: Request, session: SessionDep, user: User, kind: Kind, record_id: int, **kw: Any
) -> Response:
    from app.contacts import views  # the pages themselves (which show identity_context)

    if kind == "person":
        return views._person_detail(request, session, user, record_id, **kw)
    return views._organisation_detail(request, session, user, record_id, **kw)


def _url(kind: Kind, record_id: int) -> str:
    return f"/contacts/{'people' if kind == 'person' else 'organisations'}/{record_id}"


def _add(
    request: Request,
    session: SessionDep,
    user: User,
    kind: Kind,
    record_id: int,
    form: dict[str, Any],
) -> Response:
    raw_kind = str(form.get("alias_kind") or "spelling")
    try:
        alias_kind = AliasKind(raw_kind)
        if alias_kind == AliasKind.merged:
            raise ValueError(raw_kind)
    except ValueError:
        errors = {"alias_kind": "Choose what kind of name this is."}
        return _detail(
            request, session, user, kind, record_id, errors=errors, form=form, form_name="alias"
        )
    try:
        alias = aliases.add_alias(
            session,
            kind=kind,
            owner_id=record_id,
            name=str(form.get("alias_name") or ""),
            alias_kind=alias_kind,
            actor=user,
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        errors = {"alias_name": exc.detail}
        return _detail(
            request, session, user, kind, record_id, errors=errors, form=form, form_name="alias"
        )
    return redirect(request, _url(kind, record_id), message=f"Also known as {alias.name}.")


@router.post("/people/{person_id:int}/aliases", name="person_alias_create")
def person_alias_create(
    request: Request, session: SessionDep, user: WebUser, person_id: int, form: FormDep
) -> Response:
    return _add(request, session, user, "person", person_id, dict(form))


@router.post("/organisations/{organisation_id:int}/aliases", name="organisation_alias_create")
def organisation_alias_create(
    request: Request, session: SessionDep, user: WebUser, organisation_id: int, form: FormDep
) -> Response:
    return _add(request, session, user, "organisation", organisation_id, dict(form))


@router.post("/people/{person_id:int}/aliases/{alias_id:int}/delete", name="person_alias_delete")
def person_alias_delete(
    request: Request, session: SessionDep, user: WebCoordinator, person_id: int, alias_id: int
) -> Response:
    aliases.remove_alias(session, kind="person", owner_id=person_id, alias_id=alias_id, actor=user)
    return redirect(request, _url("person", person_id), message="Alias removed.")


@router.post(
    "/organisations/{organisation_id:int}/aliases/{alias_id:int}/delete",
    name="organisation_alias_delete",
)
def organisation_alias_delete(
    request: Request,
    session: SessionDep,
    user: WebCoordinator,
    organisation_id: int,
    alias_id: int,
) -> Response:
    aliases.remove_alias(
        session, kind="organisation", owner_id=organisation_id, alias_id=alias_id, actor=user
    )
    return redirect(request, _url("organisation", organisation_id), message="Alias removed.")


# --- duplicates ----------------------------------------------------------------------------------


def _kind(value: str) -> Kind:
    return "organisation" if value == "organisation" else "person"


@router.get("/duplicates", name="contacts_duplicates")
def duplicates_page(
    request: Request, session: SessionDep, user: WebCoordinator, kind: str = "person", page: int = 1
) -> Response:
    chosen = _kind(kind)
    page = max(1, min(page, 100_000))
    found = duplicates.candidate_page(session, chosen, page, PER_PAGE)
    ctx = {
        "kind": chosen,
        "found": found,
        "page": Page(page=page, per_page=PER_PAGE, total=found.total),
        "page_query": urlencode({"kind": chosen}),
    }
    return render(request, "contacts/duplicates.html", ctx)


@router.post("/duplicates/dismiss", name="contacts_duplicate_dismiss")
def duplicate_dismiss(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep
) -> Response:
    kind = _kind(str(form.get("kind") or "person"))
    a, b = str(form.get("a_id") or ""), str(form.get("b_id") or "")
    if not (a.isdigit() and b.isdigit() and len(a) < 10 and len(b) < 10):
        return redirect(
            request, f"/contacts/duplicates?kind={kind}", message="Choose a pair to dismiss."
        )
    duplicates.dismiss(session, kind=kind, a_id=int(a), b_id=int(b), actor=user)
    page = str(form.get("page") or "1")
    page = page if page.isdigit() and len(page) < 7 else "1"
    return redirect(
        request,
        f"/contacts/duplicates?kind={kind}&page={page}",
        message=f"#{a} and #{b} will not be offered as duplicates again.",
    )


# --- undoing merges ------------------------------------------------------------------------------


@router.post("/merges/{audit_id:int}/undo", name="contacts_merge_undo")
def merge_undo(
    request: Request, session: SessionDep, user: WebCoordinator, audit_id: int
) -> Response:
    report = unmerge.undo(session, audit_id=audit_id, actor=user)
    note = f"Merge undone: {report.restored_name} (#{report.restored_id}) is back"
    if report.kept_edits:
        note += f"; fields edited since the merge were kept ({', '.join(report.kept_edits)})"
    return redirect(request, _url(report.kind, report.restored_id), message=note + ".")
