"""Web pages for letter templates: library, detail with versions, editor, previews."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import Response

from app.auth.deps import WebCoordinator, WebUser
from app.contacts import search as contacts_search
from app.contacts.schemas import SearchFilters
from app.db import SessionDep
from app.errors import Conflict, InvalidInput, NotFound
from app.letters import editor, service
from app.letters.context import LANGUAGES, language_or_default
from app.letters.fields import LIST_ITEMS, groups
from app.letters.render import LAYOUTS
from app.letters.schemas import TemplateCreate, TemplateUpdate, VariantSave
from app.web.forms import FormDep, field_errors, validate
from app.web.pagination import Page
from app.web.routing import web_router
from app.web.templating import redirect, render

router = web_router(prefix="/templates")
STYLES = [
    ("formal", "Formal protocol (“Excellency,”)"),
    ("personal", "Personal (“Dear President Rahmon,”)"),
]
PER_PAGE = 25
HISTORY_PER_PAGE = 20
PICKER_PER_PAGE = 8
ContactId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
# What clicking a list field inserts: the loop that prints it.
LIST_SNIPPETS = {
    name: "{% for line in " + name + " %}{{ line }}<br>{% endfor %}"
    for name in ("recipient.address_block", "sender.address_lines")
} | {
    "organisations": "{% for org in organisations %}{{ org.name }} ({{ org.country }})<br>"
    "{% endfor %}",
    "cosigners": "{% for c in cosigners %}{{ c.signatory_name }}, {{ c.signatory_title }}, "
    "{{ c.name }}<br>{% endfor %}",
}


def _language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise NotFound(f"No language variant '{lang}'.")
    return lang


@router.get("", name="templates")
def index(
    request: Request, session: SessionDep, _user: WebUser, q: str = "", page: int = 1
) -> Response:
    q = q.strip()[:200]
    page = max(1, min(page, 100_000))
    rows, total = service.list_templates(session, q=q, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    items = [(t, list(service.current_versions(t))) for t in rows]
    return render(
        request,
        "letters/index.html",
        {
            "items": items,
            "q": q,
            "page": Page(page=page, per_page=PER_PAGE, total=total),
            "page_query": urlencode({"q": q}) if q else "",
            "layouts": LAYOUTS,
            "styles": STYLES,
        },
        block="results",
    )


def _example_text(value: Any) -> str:
    """An example as the sidebar shows it: list items (address lines, organisations) joined."""
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values() if v not in ("", None))
    if isinstance(value, (list, tuple)):
        return " / ".join(_example_text(v) for v in value)
    return "" if value is None else str(value)


def _sidebar(lang: str) -> dict[str, Any]:
    """The field sidebar's data: fields with their example in ``lang`` and what a click
    inserts, and the filters with their examples."""
    examples = editor.field_examples(lang)
    field_groups = [
        (
            group,
            [
                {
                    "name": f.name,
                    "description": f.description,
                    "example": _example_text(examples[f.name]),
                    "insert": LIST_SNIPPETS.get(f.name, "{{ " + f.name + " }}"),
                    "is_list": f.name in LIST_ITEMS,
                }
                for f in fields
            ],
        )
        for group, fields in groups()
    ]
    filters = [
        {"usage": usage, "description": description, "example": example}
        for usage, description, example in editor.filter_examples(lang)
    ]
    return {
        "field_groups": field_groups,
        "filters": filters,
        "example_language": editor.english_language_name(lang),
    }


def _form_page(request: Request, values: dict[str, Any], errors: dict[str, str]) -> Response:
    return render(
        request,
        "letters/new.html",
        {
            "values": values,
            "errors": errors,
            "layouts": LAYOUTS,
            "styles": STYLES,
            "languages": LANGUAGES,
            **_sidebar(language_or_default(str(values.get("language") or "en"))),
        },
        status_code=422 if errors else 200,
    )


@router.get("/new", name="template_new")
def new(request: Request, _user: WebCoordinator) -> Response:
    return _form_page(request, {"layout": "a4", "language": "en"}, {})


@router.post("/new", name="template_create")
def create(request: Request, session: SessionDep, user: WebCoordinator, form: FormDep) -> Response:
    data, errors = validate(TemplateCreate, form)
    if data is None:
        return _form_page(request, form, errors)
    try:
        template = service.create(session, data=data, actor=user)
    except (InvalidInput, Conflict) as exc:
        return _form_page(request, form, field_errors(exc))
    return redirect(
        request,
        str(request.url_for("template_detail", template_id=template.id)),
        message=f"Template '{template.name}' created.",
    )


def _detail(
    request: Request,
    session: SessionDep,
    template_id: int,
    lang: str | None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    page: int = 1,
) -> Response:
    template = service.get(session, template_id)
    current = service.current_versions(template)
    lang = lang if lang in current else template.default_language
    versions = service.history(template, lang)
    paging = Page(page=max(1, min(page, 100_000)), per_page=HISTORY_PER_PAGE, total=len(versions))
    shown = versions[(paging.page - 1) * HISTORY_PER_PAGE : paging.page * HISTORY_PER_PAGE]
    return render(
        request,
        "letters/detail.html",
        {
            "template": template,
            "current": current,
            "lang": lang,
            "history": shown,
            "authors": editor.authors(session, shown),
            "page": paging,
            "page_query": urlencode({"lang": lang}),
            "stale": editor.stale_languages(template),
            "language_names": {code: editor.english_language_name(code) for code in LANGUAGES},
            "languages": LANGUAGES,
            "layouts": LAYOUTS,
            "styles": STYLES,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=422 if errors else 200,
    )


@router.get("/{template_id:int}", name="template_detail")
def detail(
    request: Request,
    session: SessionDep,
    _user: WebUser,
    template_id: int,
    lang: str = "",
    page: int = 1,
) -> Response:
    return _detail(request, session, template_id, lang or None, page=page)


@router.post("/{template_id:int}", name="template_update")
def update(
    request: Request, session: SessionDep, user: WebCoordinator, template_id: int, form: FormDep
) -> Response:
    data, errors = validate(TemplateUpdate, form)
    if data is None:
        return _detail(request, session, template_id, None, errors, form)
    service.update(session, template_id=template_id, data=data, actor=user)
    return redirect(
        request,
        str(request.url_for("template_detail", template_id=template_id)),
        message="Template details saved.",
    )


def _editor(
    request: Request,
    session: SessionDep,
    template_id: int,
    lang: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    template = service.get(session, template_id)
    current = service.current_versions(template).get(lang)
    if values is None:
        source = current or service.current_versions(template).get(template.default_language)
        values = {"subject": source.subject, "body": source.body} if source else {}
    return render(
        request,
        "letters/edit.html",
        {
            "template": template,
            "lang": lang,
            "language_name": LANGUAGES[lang],
            "current": current,
            "values": values,
            "errors": errors or {},
            **_sidebar(lang),
        },
        status_code=422 if errors else 200,
    )


@router.get("/{template_id:int}/edit/{lang}", name="template_edit")
def edit(
    request: Request, session: SessionDep, _user: WebCoordinator, template_id: int, lang: str
) -> Response:
    return _editor(request, session, template_id, _language(lang))


@router.post("/{template_id:int}/edit/{lang}", name="template_save")
def save(
    request: Request,
    session: SessionDep,
    user: WebCoordinator,
    template_id: int,
    lang: str,
    form: FormDep,
) -> Response:
    lang = _language(lang)
    data, errors = validate(VariantSave, form)
    if data is None:
        return _editor(request, session, template_id, lang, form, errors)
    try:
        version = service.save_variant(
            session, template_id=template_id, language=lang, data=data, actor=user
        )
    except InvalidInput as exc:
        return _editor(request, session, template_id, lang, form, field_errors(exc))
    url = request.url_for("template_detail", template_id=template_id).include_query_params(
        lang=lang
    )
    return redirect(request, str(url), message=f"Saved as version {version.number} ({lang}).")


@router.get("/{template_id:int}/preview/{lang}.{fmt}", name="template_preview")
def preview(
    request: Request,
    session: SessionDep,
    _user: WebUser,
    template_id: int,
    lang: str,
    fmt: str,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    person_id: ContactId = None,
    organisation_id: ContactId = None,
) -> Response:
    """The sample letter, or the letter addressed to a person or office from the directory."""
    if fmt not in ("pdf", "html"):
        raise NotFound("Previews are available as .pdf or .html.")
    result = service.preview(
        session,
        template_id=template_id,
        language=_language(lang),
        version_id=version,
        fmt=fmt,
        person_id=person_id,
        organisation_id=organisation_id,
    )
    headers = {
        "Content-Disposition": f'inline; filename="preview-{template_id}-{lang}.{fmt}"',
        **service.PREVIEW_HEADERS,
    }
    return Response(result.content, media_type=result.media_type, headers=headers)


@router.get("/{template_id:int}/recipients/{lang}", name="template_recipients")
def recipients(
    request: Request,
    session: SessionDep,
    _user: WebUser,
    template_id: int,
    lang: str,
    q: str = "",
) -> Response:
    """The preview's recipient picker: people and organisations from the directory matching
    ``q``, each with links to the preview addressed to them."""
    template = service.get(session, template_id)
    lang = _language(lang)
    q = q.strip()[:200]
    hits = (
        contacts_search.search(session, SearchFilters(q=q), per_page=PICKER_PER_PAGE) if q else None
    )
    return render(
        request,
        "letters/_recipients.html",
        {"template": template, "lang": lang, "q": q, "hits": hits},
    )


def _diff_page(
    request: Request,
    session: SessionDep,
    template_id: int,
    version_id: int,
    error: str = "",
    status_code: int = 200,
) -> Response:
    diff = editor.version_diff(session, template_id=template_id, version_id=version_id)
    current = service.current_versions(diff.template).get(diff.version.language)
    versions = [diff.version] + ([diff.previous] if diff.previous else [])
    return render(
        request,
        "letters/diff.html",
        {
            "diff": diff,
            "template": diff.template,
            "lang": diff.version.language,
            "is_current": current is not None and current.id == diff.version.id,
            "authors": editor.authors(session, versions),
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/{template_id:int}/versions/{version_id:int}/diff", name="template_diff")
def diff(
    request: Request, session: SessionDep, _user: WebUser, template_id: int, version_id: int
) -> Response:
    return _diff_page(request, session, template_id, version_id)


@router.post("/{template_id:int}/versions/{version_id:int}/restore", name="template_restore")
def restore(
    request: Request, session: SessionDep, user: WebCoordinator, template_id: int, version_id: int
) -> Response:
    try:
        version = editor.restore(
            session, template_id=template_id, version_id=version_id, actor=user
        )
    except (Conflict, InvalidInput) as exc:
        return _diff_page(request, session, template_id, version_id, exc.detail, exc.status)
    url = request.url_for("template_detail", template_id=template_id).include_query_params(
        lang=version.language
    )
    return redirect(
        request,
        str(url),
        message=f"{version.note} as version {version.number} ({version.language}).",
    )
