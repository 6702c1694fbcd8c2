"""Mail merge web UI: the merge form with its recipient preview, the batch page with live
progress, cancel and downloads, and the letters list and letter page."""

from __future__ import annotations

from typing import Annotated, Any

from babel import Locale
from fastapi import Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.orm import Session

from app.auth.deps import WebUser
from app.campaigns import service as campaigns_service
from app.cosigners import service as cosigners_service
from app.db import SessionDep
from app.errors import Conflict, DomainError
from app.letters import service as letters_service
from app.letters.context import LANGUAGES
from app.mailmerge import context, drafting, recipients, rendering, service
from app.mailmerge.schemas import DEFAULT_PATTERN, MergeCreate
from app.models import BatchStatus, LetterStatus, OrganisationType, Role, User
from app.models.contacts import ORGANISATION_TYPE_LABELS
from app.treaties import service as treaties_service
from app.web.forms import FormDep, field_errors, validate
from app.web.pagination import Page, page_query
from app.web.routing import web_router
from app.web.templating import redirect, render

router = web_router()
LANGUAGE_LABELS = {code: Locale.parse("en").languages[code] for code in LANGUAGES}
# The letter page shows its preview in a sandboxed frame: framing by this site only.
FRAMED_PREVIEW_HEADERS = {
    "Content-Security-Policy": letters_service.PREVIEW_HEADERS["Content-Security-Policy"].replace(
        "frame-ancestors 'none'", "frame-ancestors 'self'"
    ),
    "X-Frame-Options": "SAMEORIGIN",
}
PER_PAGE = 25
SOURCES = [
    ("segment", "A saved segment"),
    ("filters", "A directory search"),
    ("contacts", "Hand-picked people and organisations"),
    ("campaign", "The campaign's target states"),
]


def _ids(text: Any) -> list[str]:
    if isinstance(text, list):
        text = ",".join(str(t) for t in text)
    return [t for t in str(text or "").replace(";", ",").replace(" ", ",").split(",") if t]


def _payload(form: dict[str, Any]) -> dict[str, Any]:
    """Flat form fields to MergeCreate's nested shape."""
    kind = form.get("source_kind", "segment")
    source: dict[str, Any] = {"kind": kind}
    if kind == "segment":
        source["segment_id"] = form.get("segment_id") or None
    elif kind == "filters":
        source["filters"] = {
            k: form.get(f"filter_{k}", "")
            for k in ("q", "kind", "organisation_type", "country", "tag", "position")
        }
    elif kind == "contacts":
        source["person_ids"] = _ids(form.get("person_ids"))
        source["organisation_ids"] = _ids(form.get("organisation_ids"))
    else:
        source["organisation_type"] = form.get("organisation_type") or "head_of_state_office"
    return {
        "template_id": form.get("template_id") or None,
        "source": source,
        "name": form.get("name", ""),
        "campaign_id": form.get("campaign_id") or None,
        "treaty": form.get("treaty", ""),
        "letter_date": form.get("letter_date") or None,
        "reference_pattern": form.get("reference_pattern") or DEFAULT_PATTERN,
        "channel": form.get("channel", "post"),
        "pdf_variant": form.get("pdf_variant", ""),
        "cosigner_ids": _ids(form.get("cosigner_ids")),
        "signatory_name": form.get("signatory_name", ""),
        "signatory_title": form.get("signatory_title", ""),
        "fold_marks": form.get("fold_marks") == "on",
        "recto": form.get("recto") == "on",
        "language": form.get("language") or "recipient",
        "mode": form.get("mode") or "per_recipient",
        "from_line": form.get("from_line", ""),
    }


def _flat_errors(errors: dict[str, str]) -> dict[str, str]:
    """Schema paths (source.filters.country) to the form's field names (filter_country)."""
    out: dict[str, str] = {}
    for key, message in errors.items():
        name = key
        if key.startswith("source.filters."):
            name = "filter_" + key.split(".")[2]
        elif key.startswith("source."):
            name = key.split(".")[1]
        out.setdefault(name, message)
    return out


def _form_page(
    request: Request,
    session: Session,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    templates, _ = letters_service.list_templates(session, limit=200)
    campaigns, _ = campaigns_service.list_campaigns(session, limit=200)
    segments = recipients.list_segments(session)
    ctx = {
        "values": values,
        "errors": errors or {},
        "template_options": [("", "Choose a template")] + [(t.id, t.name) for t in templates],
        "campaign_options": [("", "No campaign")] + [(c.id, c.name) for c in campaigns],
        "segment_options": [("", "Choose a segment")] + [(s.id, s.name) for s in segments],
        "treaty_options": [("", "The campaign's treaty (or none)")]
        + [(t.short_name, t.short_name) for t in treaties_service.list_treaties(session)],
        "source_options": SOURCES,
        "type_options": [("", "Any type")]
        + [(t.value, ORGANISATION_TYPE_LABELS[t]) for t in OrganisationType],
        "office_options": [(t.value, ORGANISATION_TYPE_LABELS[t]) for t in OrganisationType],
        "channel_options": [("post", "Post (print the PDFs)"), ("email", "Email")],
        "variant_options": [("", "PDF"), ("pdf/a-3b", "PDF/A-3b (archiving)")],
        "cosigner_options": [(c.id, c.name) for c in cosigners_service.all_cosigners(session)],
        "mode_options": [
            ("per_recipient", "One letter per recipient"),
            ("one_letter", "One letter for all recipients (joint letter, memo)"),
        ],
        "language_options": [("recipient", "Each recipient's preferred language")]
        + [(code, f"{LANGUAGE_LABELS[code]} for every letter") for code in LANGUAGES],
    }
    return render(request, "merge/new.html", ctx, status_code=422 if errors else 200)


@router.get("/merges", name="merges")
def merges_home(request: Request, session: SessionDep, user: WebUser, page: int = 1) -> Response:
    page = max(1, min(page, 100_000))
    rows, total = service.list_batches(session, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    ctx = {
        "batches": rows,
        "page": Page(page=page, per_page=PER_PAGE, total=total),
        "page_query": "",
        "can_edit": user.role.at_least(Role.coordinator),
        "percent": service.percent,
    }
    return render(request, "merge/index.html", ctx)


@router.get("/merges/new", name="merge_new")
def merge_new(
    request: Request,
    session: SessionDep,
    user: WebUser,
    campaign_id: int | None = None,
    template_id: int | None = None,
    person_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """The merge form; from a contact's page ("Write a letter") it drafts one letter to them."""
    single = person_id is not None or organisation_id is not None
    values = {
        "template_id": template_id or "",
        "mode": context.default_mode(session, template_id),
        "source_kind": "contacts" if single else "segment",
        "person_ids": str(person_id or ""),
        "organisation_ids": str(organisation_id or ""),
        "reference_pattern": DEFAULT_PATTERN,
        "campaign_id": campaign_id or "",
        "channel": "post",
        "organisation_type": "head_of_state_office",
        "language": "recipient",
    }
    return _form_page(request, session, values)


@router.post("/merges/preview", name="merge_preview")
def merge_preview(request: Request, session: SessionDep, user: WebUser, form: FormDep) -> Response:
    """The recipient list for the form as it stands (htmx fragment)."""
    data, errors = validate(MergeCreate, _payload(form))
    ctx: dict[str, Any] = {"preview": None, "problems": _flat_errors(errors)}
    if data is not None:
        try:
            ctx["preview"] = drafting.preview_merge(session, data=data)
        except DomainError as exc:
            ctx["problems"] = field_errors(exc)
    return render(request, "merge/_preview.html", ctx)


@router.post("/merges", name="merge_create")
def merge_create(request: Request, session: SessionDep, user: WebUser, form: FormDep) -> Response:
    data, errors = validate(MergeCreate, _payload(form))
    if data is None:
        return _form_page(request, session, dict(form), _flat_errors(errors))
    try:
        batch = service.create_merge(session, data=data, actor=user)
    except DomainError as exc:
        return _form_page(request, session, dict(form), field_errors(exc))
    return redirect(
        request, f"/merges/{batch.id}", message=f"{batch.total} letters drafted; rendering."
    )


def _batch_ctx(session: Session, user: User, batch_id: int) -> dict[str, Any]:
    batch = service.get_batch(session, batch_id)
    report = batch.report or {}
    return {
        "batch": batch,
        "percent": service.percent(batch),
        "active": batch.status in (BatchStatus.queued, BatchStatus.running),
        "excluded": report.get("excluded", []),
        "flagged": report.get("flagged", []),
        "failures": service.failures(session, batch.id),
        "can_edit": user.role.at_least(Role.coordinator),
    }


@router.get("/merges/{batch_id:int}", name="merge_detail")
def merge_detail(request: Request, session: SessionDep, user: WebUser, batch_id: int) -> Response:
    ctx = _batch_ctx(session, user, batch_id)
    letters, total = service.list_letters(session, batch_id=batch_id, limit=PER_PAGE)
    ctx.update(letters=letters, letters_total=total)
    return render(request, "merge/detail.html", ctx)


@router.get("/merges/{batch_id:int}/progress", name="merge_progress")
def merge_progress(request: Request, session: SessionDep, user: WebUser, batch_id: int) -> Response:
    """The progress panel alone, polled by htmx while the merge runs; when the merge ends the
    whole page reloads once (letters, downloads and buttons change with it)."""
    ctx = _batch_ctx(session, user, batch_id)
    response = render(request, "merge/_progress.html", ctx)
    if not ctx["active"] and request.headers.get("HX-Request") == "true":
        response.headers["HX-Refresh"] = "true"
    return response


@router.post("/merges/{batch_id:int}/cancel", name="merge_cancel")
def merge_cancel(request: Request, session: SessionDep, user: WebUser, batch_id: int) -> Response:
    service.request_cancel(session, batch_id=batch_id, actor=user)
    return redirect(request, f"/merges/{batch_id}", message="Cancelling the merge.")


@router.post("/merges/{batch_id:int}/rerun", name="merge_rerun")
def merge_rerun(request: Request, session: SessionDep, user: WebUser, batch_id: int) -> Response:
    service.rerun(session, batch_id=batch_id, actor=user)
    return redirect(request, f"/merges/{batch_id}", message="Running the merge again.")


@router.get("/merges/{batch_id:int}/combined.pdf", name="merge_download_pdf")
def merge_download_pdf(
    request: Request, session: SessionDep, user: WebUser, batch_id: int
) -> FileResponse:
    path = rendering.download_path(service.get_batch(session, batch_id), "pdf")
    return FileResponse(path, media_type="application/pdf", filename=path.name)


@router.get("/merges/{batch_id:int}/letters.zip", name="merge_download_zip")
def merge_download_zip(
    request: Request, session: SessionDep, user: WebUser, batch_id: int
) -> FileResponse:
    path = rendering.download_path(service.get_batch(session, batch_id), "zip")
    return FileResponse(path, media_type="application/zip", filename=path.name)


@router.get("/letters", name="letters")
def letters_home(
    request: Request,
    session: SessionDep,
    user: WebUser,
    q: str = "",
    status: str = "",
    batch_id: str = "",
    campaign_id: str = "",
    page: int = 1,
) -> Response:
    page = max(1, min(page, 100_000))
    chosen = LetterStatus(status) if status in LetterStatus.__members__ else None
    batch = int(batch_id) if batch_id.isdigit() and len(batch_id) < 10 else None
    campaign = int(campaign_id) if campaign_id.isdigit() and len(campaign_id) < 10 else None
    rows, total = service.list_letters(
        session,
        batch_id=batch,
        campaign_id=campaign,
        status=chosen,
        q=q[:200],
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
    )
    campaigns, _ = campaigns_service.list_campaigns(session, limit=200)
    ctx = {
        "letters": rows,
        "q": q,
        "status": status,
        "batch_id": batch or "",
        "campaign_id": campaign or "",
        "page": Page(page=page, per_page=PER_PAGE, total=total),
        "page_query": page_query(
            {"q": q, "status": status, "batch_id": batch, "campaign_id": campaign}
        ),
        "status_options": [("", "Any status")] + [(s.value, s.value.title()) for s in LetterStatus],
        "campaign_options": [("", "Any campaign")] + [(c.id, c.name) for c in campaigns],
    }
    return render(request, "merge/letters.html", ctx, block="results")


@router.get("/letters/{letter_id:int}", name="letter_detail")
def letter_detail(request: Request, session: SessionDep, user: WebUser, letter_id: int) -> Response:
    letter = service.get_letter(session, letter_id)
    version = rendering.template_version(session, letter)
    template = letters_service.get(session, version.template_id) if version else None
    ctx = {
        "letter": letter,
        "version": version,
        "template": template,
        "can_edit": user.role.at_least(Role.coordinator),
    }
    return render(request, "merge/letter.html", ctx)


@router.get("/letters/{letter_id:int}/pdf", name="letter_pdf")
def letter_pdf(
    request: Request, session: SessionDep, user: WebUser, letter_id: int
) -> FileResponse:
    letter = service.get_letter(session, letter_id)
    path = rendering.letter_pdf(session, letter)
    return FileResponse(
        path,
        media_type="application/pdf",
        filename=rendering.pdf_filename(letter),
        content_disposition_type="inline",
    )


@router.get("/letters/{letter_id:int}/preview", name="letter_preview")
def letter_preview(
    request: Request, session: SessionDep, user: WebUser, letter_id: int
) -> Response:
    """The letter as HTML, re-rendered from its template version and frozen context."""
    letter = service.get_letter(session, letter_id)
    html = rendering.letter_html(session, letter)
    return HTMLResponse(html, headers=FRAMED_PREVIEW_HEADERS)


@router.get("/letters/{letter_id:int}/remerge", name="letter_remerge_confirm")
def letter_remerge_confirm(
    request: Request, session: SessionDep, user: WebUser, letter_id: int
) -> Response:
    """What merging the letter again from its template would replace, before anyone confirms."""
    letter = service.get_letter(session, letter_id)
    subject, body = rendering.remerge_preview(session, letter)
    ctx = {"letter": letter, "fresh_subject": subject, "fresh_body": body}
    return render(request, "merge/remerge.html", ctx)


@router.post("/letters/{letter_id:int}/remerge", name="letter_remerge")
def letter_remerge(
    request: Request, session: SessionDep, user: WebUser, form: FormDep, letter_id: int
) -> Response:
    letter = service.get_letter(session, letter_id)
    if str(form.get("version", "")) != str(letter.version):
        raise Conflict("The letter changed since you looked at it; nothing was replaced. Reload.")
    rendering.remerge(session, letter=letter, actor=user)
    return redirect(
        request,
        request.url_for("letter_detail", letter_id=letter_id).path,
        message="The letter's text was merged again from its template.",
    )
