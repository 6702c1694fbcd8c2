"""JSON API for importing contacts from CSV and merging duplicates (coordinators)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import File, Form, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from app.auth.deps import ApiCoordinator
from app.contacts import dedupe
from app.contacts.imports import batches as import_batches
from app.contacts.imports import csvfile, schemas, service
from app.db import SessionDep
from app.errors import InvalidInput
from app.web.routing import api_router

imports_router = api_router(prefix="/contacts/imports", tags=["contacts import"])
merge_router = api_router(prefix="/contacts/merge", tags=["contacts merge"])
batches_router = api_router(prefix="/imports", tags=["contacts import"])


def read_upload(file: UploadFile) -> bytes:
    data = file.file.read(csvfile.MAX_BYTES + 1)
    # the cap is checked in read_table with a clear message
    return data


def _json(value: str, what: str) -> Any:
    if not value.strip():
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise InvalidInput(
            f"{what} is not valid JSON: {exc}.", errors=[{"field": what, "message": "not JSON"}]
        ) from exc


def build_options(
    *,
    encoding: str,
    delimiter: str,
    mapping: Any,
    duplicates: Any,
    default_language: str,
    new_organisation_type: str,
    tags: str,
) -> schemas.ImportOptions:
    raw = {
        "encoding": encoding or "auto",
        "delimiter": {"tab": "\t", "\\t": "\t"}.get(delimiter, delimiter) or "auto",
        "mapping": mapping,
        "duplicates": duplicates if duplicates is not None else {},
        "default_language": default_language or "en",
        "new_organisation_type": new_organisation_type or "ngo",
        "tags": [t.strip() for t in tags.split(",") if t.strip()],
    }
    try:
        return schemas.ImportOptions.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        raise InvalidInput(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors
        ) from exc


@imports_router.post(
    "",
    response_model=schemas.ImportReport,
    summary="Check (dry run) or import a CSV file of contacts",
    description=(
        "Multipart form: `file` (CSV), `dry_run` (default true: only the report), `mapping` "
        '(JSON `{"column header": "field"}`; omitted: the mapping last used for the same '
        "headers, else guessed from them), `encoding` (auto: detected, Windows-1251 and other "
        "code pages included; or utf-8, utf-16, cp1252, cp1251, koi8-r, cp1250, cp1256, "
        "iso-8859-1, mac-roman), `delimiter` (auto, `,`, `;`, tab), `duplicates` "
        '(JSON `{"default": "merge|skip|create", "rows": {"12": "skip"}}`). An import writes '
        "everything or nothing, as a batch that `POST /api/v1/imports/{id}/undo` rolls back; a "
        "file with bad rows is refused with 422 listing every row; rows whose letters the file "
        "lost as “?” are listed in `warnings`."
    ),
    responses={200: {"description": "The dry-run report"}, 201: {"description": "Imported"}},
)
def import_contacts(
    session: SessionDep,
    user: ApiCoordinator,
    file: Annotated[UploadFile, File(description="The CSV file")],
    dry_run: Annotated[bool, Form()] = True,
    mapping: Annotated[str, Form(max_length=20_000)] = "",
    encoding: Annotated[str, Form(max_length=20)] = "auto",
    delimiter: Annotated[str, Form(max_length=4)] = "auto",
    duplicates: Annotated[str, Form(max_length=200_000)] = "",
    default_language: Annotated[str, Form(max_length=20)] = "en",
    new_organisation_type: Annotated[str, Form(max_length=40)] = "ngo",
    tags: Annotated[str, Form(max_length=500)] = "",
) -> JSONResponse:
    options = build_options(
        encoding=encoding,
        delimiter=delimiter,
        mapping=_json(mapping, "mapping"),
        duplicates=_json(duplicates, "duplicates"),
        default_language=default_language,
        new_organisation_type=new_organisation_type,
        tags=tags,
    )
    report = service.run(
        session,
        data=read_upload(file),
        filename=(file.filename or "upload.csv")[:200],
        options=options,
        dry_run=dry_run,
        actor=user,
    )
    return JSONResponse(report.model_dump(mode="json"), status_code=200 if dry_run else 201)


class FieldInfo(BaseModel):
    name: str
    label: str


@imports_router.get("/fields", response_model=list[FieldInfo], summary="Fields a column maps to")
def import_fields(_user: ApiCoordinator) -> list[FieldInfo]:
    return [FieldInfo(name=k, label=label) for k, (label, _) in csvfile.FIELDS.items()]


class MergeResult(BaseModel):
    kind: Literal["person", "organisation"]
    id: int
    name: str
    version: int


class FieldChoiceRead(BaseModel):
    name: str
    label: str
    keep_value: Any
    drop_value: Any
    default: Literal["keep", "drop"]


class ReferenceRead(BaseModel):
    table: str
    column: str
    count: int


class MergePreviewRead(BaseModel):
    kind: Literal["person", "organisation"]
    keep_id: int
    drop_id: int
    keep_version: int
    drop_version: int
    keep_name: str
    drop_name: str
    fields: list[FieldChoiceRead]
    references: list[ReferenceRead]


@merge_router.get("/preview", response_model=MergePreviewRead, summary="What a merge would do")
def contacts_merge_preview(
    session: SessionDep,
    _user: ApiCoordinator,
    kind: Literal["person", "organisation"],
    keep_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
    drop_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
) -> MergePreviewRead:
    p = dedupe.preview(session, kind=kind, keep_id=keep_id, drop_id=drop_id)
    return MergePreviewRead(
        kind=p.kind,
        keep_id=p.keep_id,
        drop_id=p.drop_id,
        keep_version=p.keep_version,
        drop_version=p.drop_version,
        keep_name=p.keep_name,
        drop_name=p.drop_name,
        fields=[FieldChoiceRead(**f.__dict__) for f in p.fields],
        references=[ReferenceRead(**r.__dict__) for r in p.references],
    )


@merge_router.post("", response_model=MergeResult, summary="Merge two duplicate records")
def merge_records(
    body: dedupe.MergeCommand, session: SessionDep, user: ApiCoordinator
) -> MergeResult:
    kept = dedupe.merge(session, data=body, actor=user)
    name = kept.name if body.kind == "organisation" else dedupe.display(kept)
    return MergeResult(kind=body.kind, id=kept.id, name=name, version=kept.version)


# --- batches -------------------------------------------------------------------------------------


class ImportBatchRead(BaseModel):
    id: int
    filename: str
    status: Literal["done", "undone"]
    counts: dict[str, Any]
    created_at: datetime
    created_by_id: int | None
    undone_at: datetime | None
    undone_by_id: int | None


class ChangedRead(BaseModel):
    type: str
    id: int
    name: str
    message: str


class ImportBatchDetail(ImportBatchRead):
    changed_since: list[ChangedRead]


class ImportBatchPage(BaseModel):
    items: list[ImportBatchRead]
    total: int


def _batch(batch: Any) -> dict[str, Any]:
    return {
        "id": batch.id,
        "filename": batch.filename,
        "status": batch.status.value,
        "counts": batch.counts,
        "created_at": batch.created_at,
        "created_by_id": batch.created_by_id,
        "undone_at": batch.undone_at,
        "undone_by_id": batch.undone_by_id,
    }


@batches_router.get("", response_model=ImportBatchPage, summary="Contacts imports, newest first")
def list_imports(
    session: SessionDep,
    _user: ApiCoordinator,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ImportBatchPage:
    batches, total = import_batches.list_batches(session, limit=limit, offset=offset)
    return ImportBatchPage(
        items=[ImportBatchRead.model_validate(_batch(b)) for b in batches], total=total
    )


@batches_router.get(
    "/{batch_id:int}",
    response_model=ImportBatchDetail,
    summary="One import, with what was changed since (an empty list: it can be undone)",
)
def get_import(batch_id: int, session: SessionDep, _user: ApiCoordinator) -> ImportBatchDetail:
    batch = import_batches.get_batch(session, batch_id)
    changed = [] if batch.status.value == "undone" else import_batches.changed_since(session, batch)
    return ImportBatchDetail.model_validate(
        {
            **_batch(batch),
            "changed_since": [
                {"type": c.type, "id": c.id, "name": c.name, "message": c.describe()}
                for c in changed[:1000]
            ],
        }
    )


@batches_router.post(
    "/{batch_id:int}/undo",
    response_model=ImportBatchRead,
    summary="Undo an import: delete what it created, restore what it completed",
    description="Refused with 409 (listing them in `errors`) when any record it wrote was "
    "changed since, or when it was undone already.",
)
def undo_import(batch_id: int, session: SessionDep, user: ApiCoordinator) -> ImportBatchRead:
    batch = import_batches.undo(session, batch_id=batch_id, actor=user)
    return ImportBatchRead.model_validate(_batch(batch))
