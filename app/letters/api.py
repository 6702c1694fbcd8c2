"""JSON API for letter templates: read (any user), create and edit (coordinator), preview."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from app.auth.deps import ApiCoordinator, ApiUser
from app.db import SessionDep
from app.letters import editor, service
from app.letters.schemas import (
    DiffLineRead,
    FieldRead,
    Language,
    PreviewRequest,
    TemplateCreate,
    TemplateList,
    TemplateRead,
    TemplateSummary,
    TemplateUpdate,
    VariantSave,
    VersionDiffRead,
    VersionRead,
)
from app.models import LetterTemplate
from app.web.pagination import Paging
from app.web.routing import api_router

router = api_router(prefix="/templates", tags=["letter templates"])


def _read(template: LetterTemplate) -> TemplateRead:
    current = service.current_versions(template)
    return TemplateRead(
        id=template.id,
        slug=template.slug,
        name=template.name,
        description=template.description,
        layout=template.layout,
        style=template.style,
        default_language=template.default_language,
        is_builtin=template.is_builtin,
        version=template.version,
        languages=list(current),
        current={lang: VersionRead.model_validate(v) for lang, v in current.items()},
    )


@router.get("", response_model=TemplateList, summary="List templates (search with q)")
def list_templates(
    session: SessionDep,
    _user: ApiUser,
    paging: Paging,
    q: Annotated[str, Query(max_length=200)] = "",
) -> TemplateList:
    rows, total = service.list_templates(session, q=q, limit=paging.per_page, offset=paging.offset)
    items = [
        TemplateSummary(
            id=t.id,
            slug=t.slug,
            name=t.name,
            description=t.description,
            layout=t.layout,
            is_builtin=t.is_builtin,
            languages=list(service.current_versions(t)),
        )
        for t in rows
    ]
    return TemplateList(items=items, total=total, page=paging.page, per_page=paging.per_page)


@router.get(
    "/fields",
    response_model=list[FieldRead],
    summary="The documented merge fields and filters, with examples in every language",
)
def list_fields(_user: ApiUser) -> list[FieldRead]:
    return [FieldRead(**item) for item in editor.field_catalogue()]


@router.post("", response_model=TemplateRead, status_code=201, summary="Create (coordinator)")
def create_template(
    body: TemplateCreate, session: SessionDep, user: ApiCoordinator
) -> TemplateRead:
    return _read(service.create(session, data=body, actor=user))


@router.get("/{template_id:int}", response_model=TemplateRead, summary="A template, current text")
def get_template(template_id: int, session: SessionDep, _user: ApiUser) -> TemplateRead:
    return _read(service.get(session, template_id))


@router.patch("/{template_id:int}", response_model=TemplateRead, summary="Rename, relayout")
def update_template(
    template_id: int, body: TemplateUpdate, session: SessionDep, user: ApiCoordinator
) -> TemplateRead:
    service.update(session, template_id=template_id, data=body, actor=user)
    return _read(service.get(session, template_id))


@router.put(
    "/{template_id:int}/variants/{language}",
    response_model=VersionRead,
    summary="Save a language variant as a new version (coordinator)",
)
def save_variant(
    template_id: int,
    language: Language,
    body: VariantSave,
    session: SessionDep,
    user: ApiCoordinator,
) -> VersionRead:
    version = service.save_variant(
        session, template_id=template_id, language=language, data=body, actor=user
    )
    return VersionRead.model_validate(version)


@router.get(
    "/{template_id:int}/versions", response_model=list[VersionRead], summary="Version history"
)
def versions(
    template_id: int,
    session: SessionDep,
    _user: ApiUser,
    language: Language | None = None,
) -> list[VersionRead]:
    template = service.get(session, template_id)
    rows = sorted(template.versions, key=lambda v: (v.language, -v.number))
    return [VersionRead.model_validate(v) for v in rows if language in (None, v.language)]


@router.get(
    "/{template_id:int}/versions/{version_id:int}/diff",
    response_model=VersionDiffRead,
    summary="A version's line diff against the previous version of its language",
)
def version_diff(
    template_id: int, version_id: int, session: SessionDep, _user: ApiUser
) -> VersionDiffRead:
    diff = editor.version_diff(session, template_id=template_id, version_id=version_id)
    return VersionDiffRead(
        version=VersionRead.model_validate(diff.version),
        previous=VersionRead.model_validate(diff.previous) if diff.previous else None,
        subject_changed=diff.subject_changed,
        added=diff.added,
        removed=diff.removed,
        lines=[
            DiffLineRead(kind=ln.kind, old=ln.old, new=ln.new, text=ln.text) for ln in diff.lines
        ],
    )


@router.post(
    "/{template_id:int}/versions/{version_id:int}/restore",
    response_model=VersionRead,
    status_code=201,
    summary="Restore an old version's text as a new version (coordinator)",
)
def restore_version(
    template_id: int, version_id: int, session: SessionDep, user: ApiCoordinator
) -> VersionRead:
    version = editor.restore(session, template_id=template_id, version_id=version_id, actor=user)
    return VersionRead.model_validate(version)


@router.post(
    "/{template_id:int}/preview",
    summary="Render as PDF or HTML with the sample context (or a given one)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "text/html": {}}}},
)
def preview(
    template_id: int, body: PreviewRequest, session: SessionDep, _user: ApiUser
) -> Response:
    result = service.preview(
        session,
        template_id=template_id,
        language=body.language,
        version_id=body.version_id,
        fmt=body.format,
        context=body.context,
        pdf_variant=body.pdf_variant,
        person_id=body.person_id,
        organisation_id=body.organisation_id,
    )
    return Response(
        result.content,
        media_type=result.media_type,
        headers={"X-Template-Version": str(result.version.id), **service.PREVIEW_HEADERS},
    )
