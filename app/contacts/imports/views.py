"""Web UI for importing contacts (upload → mapping → dry-run report → import → result) and for
merging two duplicate records (choose → compare fields → confirm)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from app.audit import service as audit
from app.auth.deps import WebCoordinator
from app.contacts import dedupe
from app.contacts import search as contacts_search
from app.contacts.imports import batches as import_batches
from app.contacts.imports import csvfile, schemas, service, uploads
from app.contacts.imports import tasks as import_tasks
from app.contacts.imports.api import build_options
from app.contacts.schemas import SearchFilters
from app.db import SessionDep
from app.errors import Conflict, DomainError, NotFound
from app.models import ImportBatchStatus, OrganisationType, Role, User
from app.platform.queueing import enqueue_after_commit
from app.web.forms import FormDep
from app.web.pagination import Page
from app.web.routing import web_router
from app.web.templating import redirect, render

router = web_router(prefix="/contacts/import")
merge_router = web_router(prefix="/contacts/merge")
PER_PAGE = 25
PREVIEW_ROWS = 5


def record_url(kind: str, record_id: int) -> str:
    """A person's or an organisation's page in the directory."""
    return f"/contacts/{'people' if kind == 'person' else 'organisations'}/{record_id}"


# --- uploaded files, kept between the steps ----------------------------------------------------


def _meta(token: str, user: User) -> dict[str, Any]:
    meta = uploads.load_meta(token)
    if meta.get("user_id") != user.id and not user.role.at_least(Role.admin):
        raise NotFound("No such import.")
    return meta


_save_meta = uploads.save_meta
_data = uploads.data


def _common_ctx() -> dict[str, Any]:
    return {
        "encodings": list(csvfile.ENCODINGS.items()),
        "delimiters": [(k, v) for k, v in csvfile.DELIMITERS.items()],
        "fields": [("", "— ignore —")] + [(k, v[0]) for k, v in csvfile.FIELDS.items()],
        "org_types": [(t.value, t.label) for t in OrganisationType],
    }


# --- import ------------------------------------------------------------------------------------


@router.get("", name="contacts_import")
def import_home(
    request: Request, session: SessionDep, user: WebCoordinator, page: int = 1
) -> Response:
    page = max(1, min(page, 100_000))
    entries, total = audit.list_entries(
        session, action="contacts.import", limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    ctx = {
        **_common_ctx(),
        "entries": entries,
        "page": Page(page=page, per_page=PER_PAGE, total=total),
        "page_query": "",
        "errors": {},
        "max_mb": csvfile.MAX_BYTES // 1_048_576,
        "max_rows": csvfile.MAX_ROWS,
    }
    return render(request, "contacts_import/upload.html", ctx)


@router.post("", name="contacts_import_upload")
async def import_upload(request: Request, user: WebCoordinator) -> Response:
    form = await request.form()
    upload = form.get("file")
    encoding = str(form.get("encoding") or "auto")
    delimiter = str(form.get("delimiter") or "auto")
    errors: dict[str, str] = {}
    data = b""
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["file"] = "Choose a CSV file."
    else:
        data = await upload.read(csvfile.MAX_BYTES + 1)
        try:
            csvfile.read_table(data, encoding=encoding, delimiter=delimiter)
        except DomainError as exc:
            field = exc.errors[0].get("field", "file") if exc.errors else "file"
            errors[str(field) if field in ("encoding", "delimiter") else "file"] = exc.detail
    if errors:
        ctx = {
            **_common_ctx(),
            "entries": [],
            "page": None,
            "errors": errors,
            "max_mb": csvfile.MAX_BYTES // 1_048_576,
            "max_rows": csvfile.MAX_ROWS,
        }
        return render(request, "contacts_import/upload.html", ctx, status_code=422)
    uploads.forget_old()
    token = secrets.token_hex(16)
    uploads.save_data(token, data)
    filename = (
        upload.filename if isinstance(upload, UploadFile) and upload.filename else "upload.csv"
    )
    _save_meta(
        token,
        {
            "user_id": user.id,
            "filename": Path(filename).name[:200],
            "encoding": encoding,
            "delimiter": delimiter,
        },
    )
    return redirect(request, f"/contacts/import/{token}")


# --- history and undo --------------------------------------------------------------------------


@router.get("/history", name="contacts_import_history")
def import_history(
    request: Request, session: SessionDep, user: WebCoordinator, page: int = 1
) -> Response:
    """Every import as a batch: what it created and completed, and Undo while untouched."""
    page = max(1, min(page, 100_000))
    batches, total = import_batches.list_batches(
        session, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    ctx = {
        "batches": batches,
        "users": _user_emails(session, batches),
        "page": Page(page=page, per_page=PER_PAGE, total=total),
        "page_query": "",
        "undone": ImportBatchStatus.undone,
    }
    return render(request, "contacts_import/history.html", ctx)


def _user_emails(session: SessionDep, batches: list[Any]) -> dict[int, str]:
    ids = {b.created_by_id for b in batches} | {b.undone_by_id for b in batches}
    ids.discard(None)
    return {u.id: u.email for u in (session.get(User, i) for i in ids) if u is not None}


def _undo_page(
    request: Request, session: SessionDep, batch_id: int, error: str = "", status: int = 200
) -> Response:
    batch = import_batches.get_batch(session, batch_id)
    changed = (
        import_batches.changed_since(session, batch)
        if batch.status != ImportBatchStatus.undone
        else []
    )
    ctx = {
        "batch": batch,
        "changed": changed[:200],
        "changed_total": len(changed),
        "undone": batch.status == ImportBatchStatus.undone,
        "error": error,
        "record_url": record_url,
    }
    return render(request, "contacts_import/undo.html", ctx, status_code=status)


@router.get("/history/{batch_id:int}/undo", name="contacts_import_undo_confirm")
def import_undo_confirm(
    request: Request, session: SessionDep, user: WebCoordinator, batch_id: int
) -> Response:
    """What undoing the import would do, or why it cannot, before anything is deleted."""
    return _undo_page(request, session, batch_id)


@router.post("/history/{batch_id:int}/undo", name="contacts_import_undo")
def import_undo(
    request: Request, session: SessionDep, user: WebCoordinator, batch_id: int, form: FormDep
) -> Response:
    try:
        batch = import_batches.undo(session, batch_id=batch_id, actor=user)
    except Conflict as exc:
        session.rollback()
        return _undo_page(request, session, batch_id, error=exc.detail, status=409)
    return redirect(
        request,
        "/contacts/import/history",
        message=f"The import of {batch.filename} was undone.",
    )


def _mapping_page(
    request: Request,
    session: SessionDep,
    token: str,
    meta: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    table = csvfile.read_table(
        _data(token), encoding=values["encoding"], delimiter=values["delimiter"]
    )
    mapping = values.get("mapping")
    remembered = False
    if not mapping:
        mapping = import_batches.remembered_mapping(session, table.headers)
        remembered = mapping is not None
    if not mapping:
        mapping = csvfile.guess_mapping(table.headers, table.rows)
    columns = []
    for i, header in enumerate(table.headers):
        samples = [r[i] for r in table.rows[:PREVIEW_ROWS] if i < len(r)]
        columns.append(
            {
                "index": i,
                "header": header,
                "field": mapping[i] if i < len(mapping) else "",
                "samples": samples,
            }
        )
    ctx = {
        **_common_ctx(),
        "token": token,
        "meta": meta,
        "table": table,
        "encoding_label": csvfile.ENCODINGS.get(table.encoding, table.encoding),
        "columns": columns,
        "values": values,
        "errors": errors,
        "remembered": remembered,
        "garbled": _garbled_rows(table),
    }
    return render(request, "contacts_import/mapping.html", ctx, status_code=status)


def _garbled_rows(table: csvfile.Table, limit: int = 50) -> list[dict[str, Any]]:
    """Rows with letters lost as "?" when the file was saved (Excel writes "??????" for names
    its code page lacks), shown before anything is imported."""
    out: list[dict[str, Any]] = []
    for index, cells in enumerate(table.rows):
        bad = [c.strip() for c in cells if "??" in c and csvfile.garbled(c)]
        if bad:
            out.append({"row": index + 2, "cells": bad[:5]})
            if len(out) >= limit:
                break
    return out


@router.get("/{token}", name="contacts_import_mapping")
def import_mapping(
    request: Request, session: SessionDep, user: WebCoordinator, token: str
) -> Response:
    meta = _meta(token, user)
    if "result" in meta:
        return redirect(request, f"/contacts/import/{token}/result")
    values = {
        "encoding": meta.get("encoding", "auto"),
        "delimiter": meta.get("delimiter", "auto"),
        "default_language": "en",
        "new_organisation_type": "ngo",
        "tags": "",
        "mapping": meta.get("mapping"),
    }
    return _mapping_page(request, session, token, meta, values, {})


def _values_from(form: dict[str, Any], columns: int) -> dict[str, Any]:
    return {
        "encoding": str(form.get("encoding") or "auto"),
        "delimiter": str(form.get("delimiter") or "auto"),
        "default_language": str(form.get("default_language") or "en"),
        "new_organisation_type": str(form.get("new_organisation_type") or "ngo"),
        "tags": str(form.get("tags") or ""),
        "mapping": [str(form.get(f"col_{i}") or "") for i in range(columns)],
    }


def _options(
    values: dict[str, Any], duplicates: dict[str, Any] | None = None
) -> schemas.ImportOptions:
    return build_options(
        encoding=values["encoding"],
        delimiter=values["delimiter"],
        mapping=list(values["mapping"]),
        duplicates=duplicates or {},
        default_language=values["default_language"],
        new_organisation_type=values["new_organisation_type"],
        tags=values["tags"],
    )


@router.post("/{token}/check", name="contacts_import_check")
def import_check(
    request: Request, session: SessionDep, user: WebCoordinator, token: str, form: FormDep
) -> Response:
    """The dry run: every bad row and every duplicate, nothing written."""
    meta = _meta(token, user)
    try:
        table = csvfile.read_table(
            _data(token),
            encoding=str(form.get("encoding") or "auto"),
            delimiter=str(form.get("delimiter") or "auto"),
        )
    except DomainError as exc:
        values = _values_from(form, 0)
        values["encoding"], values["delimiter"], values["mapping"] = "auto", "auto", None
        return _mapping_page(request, session, token, meta, values, {"encoding": exc.detail}, 422)
    values = _values_from(form, len(table.headers))
    if form.get("reread"):
        values["mapping"] = None
        return _mapping_page(request, session, token, meta, values, {})
    try:
        options = _options(values)
        report = service.run(
            session,
            data=_data(token),
            filename=meta["filename"],
            options=options,
            dry_run=True,
            actor=user,
        )
    except DomainError as exc:
        return _mapping_page(request, session, token, meta, values, {"__all__": exc.detail}, 422)
    meta["values"] = values
    meta["mapping"] = values["mapping"]
    meta["total_rows"] = report.total_rows
    _save_meta(token, meta)
    return _report_page(request, token, meta, report)


def _report_page(
    request: Request,
    token: str,
    meta: dict[str, Any],
    report: schemas.ImportReport,
    error: str = "",
    status: int = 200,
) -> Response:
    ctx = {
        "token": token,
        "meta": meta,
        "report": report,
        "error": error,
        "record_url": record_url,
        "labels": {k: v[0] for k, v in csvfile.FIELDS.items()},
        "actions": [
            ("merge", "Merge into it"),
            ("skip", "Skip the row"),
            ("create", "Import as a separate record"),
        ],
    }
    return render(request, "contacts_import/report.html", ctx, status_code=status)


@router.post("/{token}/import", name="contacts_import_run")
def import_run(
    request: Request, session: SessionDep, user: WebCoordinator, token: str, form: FormDep
) -> Response:
    meta = _meta(token, user)
    if "result" in meta:  # submitted twice: it is done already
        return redirect(request, f"/contacts/import/{token}/result")
    values = meta.get("values")
    if not values:
        return redirect(request, f"/contacts/import/{token}")
    rows: dict[str, str] = {}
    for key, value in form.items():
        if key.startswith("dup_") and key[4:].isdigit() and value in ("merge", "skip", "create"):
            rows[key[4:]] = str(value)
    default = str(form.get("dup_default") or "merge")
    duplicates = {
        "default": default if default in ("merge", "skip", "create") else "merge",
        "rows": rows,
    }
    options = _options(values, duplicates)
    if meta.get("total_rows", 0) > uploads.BACKGROUND_ROWS:
        if meta.get("job", {}).get("status") not in (None, "failed"):
            return redirect(request, f"/contacts/import/{token}/progress")
        meta["job"] = {"status": "queued", "options": options.model_dump(mode="json")}
        meta["job"].update(stage="queued", done=0, total=meta["total_rows"])
        _save_meta(token, meta)
        enqueue_after_commit(session, import_tasks.import_contacts, token, user.id)
        return redirect(request, f"/contacts/import/{token}/progress")
    try:
        report = service.run(
            session,
            data=_data(token),
            filename=meta["filename"],
            options=options,
            dry_run=False,
            actor=user,
        )
    except DomainError as exc:
        session.rollback()
        dry = service.run(
            session,
            data=_data(token),
            filename=meta["filename"],
            options=options,
            dry_run=True,
            actor=user,
        )
        return _report_page(request, token, meta, dry, error=exc.detail, status=422)
    meta["result"] = report.model_dump(mode="json")
    _save_meta(token, meta)
    uploads.forget(token)
    return redirect(request, f"/contacts/import/{token}/result", message="Import finished.")


@router.get("/{token}/progress", name="contacts_import_progress")
def import_progress(request: Request, user: WebCoordinator, token: str) -> Response:
    """A large import running in the worker; the page refreshes its bar until it is done."""
    meta = _meta(token, user)
    if "result" in meta:
        return redirect(request, f"/contacts/import/{token}/result", message="Import finished.")
    job = meta.get("job")
    if not job:
        return redirect(request, f"/contacts/import/{token}")
    total = max(int(job.get("total") or 0), 1)
    percent = 100 if job.get("stage") == "writing" else int(90 * int(job.get("done") or 0) / total)
    ctx = {"token": token, "meta": meta, "job": job, "percent": percent}
    return render(request, "contacts_import/progress.html", ctx, block="progress")


@router.get("/{token}/result", name="contacts_import_result")
def import_result(request: Request, user: WebCoordinator, token: str) -> Response:
    meta = _meta(token, user)
    if "result" not in meta:
        return redirect(request, f"/contacts/import/{token}")
    report = schemas.ImportReport.model_validate(meta["result"])
    ctx = {"token": token, "meta": meta, "report": report, "record_url": record_url}
    return render(request, "contacts_import/result.html", ctx)


# --- merge -------------------------------------------------------------------------------------


def _kind(value: str) -> Literal["person", "organisation"]:
    return "organisation" if value == "organisation" else "person"


@merge_router.get("", name="contacts_merge")
def merge_choose(
    request: Request,
    session: SessionDep,
    user: WebCoordinator,
    kind: str = "person",
    q: str = "",
    page: int = 1,
    merged: int = 0,
) -> Response:
    """Search, then choose the record to keep and the one to fold into it."""
    chosen = _kind(kind)
    page = max(1, min(page, 100_000))
    results = None
    if q.strip():
        results = contacts_search.search(
            session, SearchFilters(q=q[:200], kind=chosen), page=page, per_page=PER_PAGE
        )
    ctx = {
        "kind": chosen,
        "q": q,
        "results": results,
        "page": Page(page=page, per_page=PER_PAGE, total=results.total) if results else None,
        "page_query": urlencode({"kind": chosen, "q": q}),
        "record_url": record_url,
        "merged": merged if 0 < merged < 2**31 else 0,
    }
    return render(request, "contacts_import/merge_choose.html", ctx, block="results")


@merge_router.get("/review", name="contacts_merge_review")
def merge_review(
    request: Request,
    session: SessionDep,
    user: WebCoordinator,
    kind: str = "person",
    keep_id: str = "",
    drop_id: str = "",
) -> Response:
    chosen = _kind(kind)
    if not (keep_id.isdigit() and drop_id.isdigit()) or len(keep_id) > 9 or len(drop_id) > 9:
        return merge_choose_error(
            request, chosen, "Choose one record to keep and one to merge into it."
        )
    if keep_id == drop_id:
        return merge_choose_error(request, chosen, "Choose two different records.")
    preview = dedupe.preview(session, kind=chosen, keep_id=int(keep_id), drop_id=int(drop_id))
    return render(
        request,
        "contacts_import/merge_review.html",
        {"p": preview, "record_url": record_url, "errors": {}},
    )


def merge_choose_error(request: Request, kind: str, message: str) -> Response:
    ctx = {
        "kind": kind,
        "q": "",
        "results": None,
        "page": None,
        "page_query": "",
        "error": message,
        "record_url": record_url,
        "merged": 0,
    }
    return render(request, "contacts_import/merge_choose.html", ctx, status_code=422)


@merge_router.post("", name="contacts_merge_run")
def merge_run(
    request: Request, session: SessionDep, user: WebCoordinator, form: FormDep
) -> Response:
    kind = _kind(str(form.get("kind") or "person"))
    take = [k[6:] for k, v in form.items() if k.startswith("field_") and v == "drop"]
    try:
        data = dedupe.MergeCommand.model_validate(
            {
                "kind": kind,
                "keep_id": form.get("keep_id"),
                "drop_id": form.get("drop_id"),
                "take_from_dropped": take,
                "keep_version": form.get("keep_version") or None,
                "drop_version": form.get("drop_version") or None,
            }
        )
    except ValueError:
        return merge_choose_error(request, kind, "Choose two different records to merge.")
    try:
        kept = dedupe.merge(session, data=data, actor=user)
    except Conflict as exc:
        preview = dedupe.preview(session, kind=kind, keep_id=data.keep_id, drop_id=data.drop_id)
        ctx = {"p": preview, "record_url": record_url, "error": exc.detail}
        return render(request, "contacts_import/merge_review.html", ctx, status_code=409)
    name = kept.name if kind == "organisation" else dedupe.display(kept)
    return redirect(
        request,
        f"/contacts/merge?kind={kind}&merged={kept.id}",
        message=f"Merged into {name} (#{kept.id}); the other record was removed.",
    )
