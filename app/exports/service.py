"""Exports: which contacts (a segment, a directory search or a campaign's target states), who is
left out and why, the file in the chosen format, background jobs for the big ones, audit.

Who may export: coordinators and admins. Lists leave the system with personal data in them, so
taking them out is a coordinator's act (campaigners read the directory in the app). Every export
is written to the audit log with who, what and how many.

Visibility: an export holds exactly the contacts the directory search shows for the same filters
(``contacts_search.search_ids``) — every signed-in user sees the whole directory, sample records
included unless the filters leave them out.

A campaign's list is the offices letters go to in its target states (heads of state's offices,
governments and ministries, each addressed to the office holder); ``campaign_scope="all"`` takes
every organisation and person of those states instead.

A big export is queued here as a job (``create_job``); ``jobs`` runs it, lists it and takes it up
again after a worker dies.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app import db
from app.audit import service as audit
from app.campaigns import service as campaigns_service
from app.config import get_settings
from app.contacts import search as contacts_search
from app.contacts.schemas import SearchFilters
from app.countries import service as countries_service
from app.db import transaction
from app.errors import InvalidInput, NotFound
from app.exports import flat, formats
from app.exports.gate import Gate, Tally
from app.exports.rows import ExportRow, iter_rows
from app.exports.schemas import COLUMNS, ExportPreview, ExportRequest
from app.letters.batch import combine_pdfs
from app.mailmerge import service as merge_service
from app.models import ExportJob, OrganisationType, Segment, User
from app.settings_admin import service as profile_service

# Above these sizes an export runs as a background job (CSV and vCard always stream).
BACKGROUND_OVER = {"csv": None, "vcard": None, "xlsx": 5_000, "labels": 300, "envelopes": 300}
# Labels and envelopes: a print run of more pages is split by the user (a stated cap, so a
# request can't make the worker typeset for hours); they are typeset this many pages at a time.
MAX_PDF_PAGES = 2_000
PAGES_PER_CHUNK = 100
OFFICE_TYPES = (
    OrganisationType.head_of_state_office,
    OrganisationType.government,
    OrganisationType.ministry,
)


# --- sources -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    label: str
    person_ids: list[int]
    organisation_ids: list[int]

    @property
    def total(self) -> int:
        return len(self.person_ids) + len(self.organisation_ids)


def list_segments(session: Session) -> list[tuple[int, str]]:
    return [
        (r.id, r.name)
        for r in session.execute(select(Segment.id, Segment.name).order_by(Segment.name))
    ]


def list_postal_batches(session: Session) -> list[tuple[int, str]]:
    return merge_service.list_postal_batches(session)


def list_campaigns(session: Session) -> list[tuple[int, str]]:
    rows, _ = campaigns_service.list_campaigns(session, search="", status=None, limit=500, offset=0)
    return [(c.id, c.name) for c in rows]


def _describe_filters(filters: SearchFilters) -> str:
    parts = [f"{k}={v}" for k, v in filters.model_dump(exclude_defaults=True).items()]
    return "search " + (", ".join(parts) if parts else "(everyone)")


def _segment_filters(session: Session, segment_id: int) -> tuple[Segment, SearchFilters]:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"No segment has the id {segment_id}.")
    try:
        return segment, SearchFilters.model_validate(segment.filters or {})
    except ValueError as exc:
        raise InvalidInput(
            f"The segment {segment.name!r} has filters that no longer apply."
        ) from exc


def _check_filters(session: Session, filters: SearchFilters) -> None:
    if filters.country:
        try:
            countries_service.get_by_code(session, filters.country)
        except NotFound as exc:
            raise InvalidInput(
                f"country: no country has the code {filters.country!r}.",
                errors=[{"field": "country", "message": f"unknown code {filters.country!r}"}],
            ) from exc
    if filters.organisation_id is not None and not 1 <= filters.organisation_id < 2**31:
        raise InvalidInput("organisation_id: no organisation has this id.")


def describe_source(session: Session, req: ExportRequest) -> str:
    """Where the contacts come from, in words; checks that the source exists (cheap: the
    contacts themselves are selected later, once the download has started)."""
    if req.source == "segment":
        assert req.segment_id is not None
        segment, filters = _segment_filters(session, req.segment_id)
        _check_filters(session, filters)
        return f"segment {segment.name}"
    if req.source == "campaign":
        assert req.campaign_id is not None
        campaign = campaigns_service.get(session, req.campaign_id)
        scope = "offices in" if req.campaign_scope == "offices" else "everyone in"
        return f"campaign {campaign.name} ({scope} its target states)"
    if req.source == "batch":
        assert req.batch_id is not None
        batch = merge_service.get_batch(session, req.batch_id)
        return f"letters for the post in {batch.name or f'batch {batch.id}'}"
    _check_filters(session, req.filters)
    return _describe_filters(req.filters)


def select_contacts(session: Session, req: ExportRequest) -> Selection:
    label = describe_source(session, req)
    if req.source == "segment":
        assert req.segment_id is not None
        _, filters = _segment_filters(session, req.segment_id)
        people, orgs = contacts_search.search_ids(session, filters)
        return Selection(label, people, orgs)
    if req.source == "campaign":
        assert req.campaign_id is not None
        campaign = campaigns_service.get(session, req.campaign_id)
        people_set: set[int] = set()
        org_set: set[int] = set()
        for target in campaigns_service.targets(session, campaign):
            iso3 = target.country.iso3
            if req.campaign_scope == "all":
                p, o = contacts_search.search_ids(session, SearchFilters(country=iso3))
                people_set.update(p)
                org_set.update(o)
            else:
                for kind in OFFICE_TYPES:
                    _, o = contacts_search.search_ids(
                        session,
                        SearchFilters(kind="organisation", country=iso3, organisation_type=kind),
                    )
                    org_set.update(o)
        return Selection(label, sorted(people_set), sorted(org_set))
    if req.source == "batch":
        assert req.batch_id is not None
        people, orgs = merge_service.postal_recipients(session, req.batch_id)
        return Selection(label, people, orgs)
    people, orgs = contacts_search.search_ids(session, req.filters)
    return Selection(label, people, orgs)


def export_rows(
    session: Session,
    req: ExportRequest,
    selection: Selection,
    tally: Tally,
    progress: Callable[[int], None] | None = None,
    gate: Gate | None = None,
) -> Iterator[ExportRow]:
    """The rows of the export, in order; a merge by address holds the rows in memory."""
    detail = req.format in ("csv", "xlsx") and bool({"salutation", "updated_at"} & set(req.columns))
    rows = iter_rows(session, selection.person_ids, selection.organisation_ids, detail=detail)
    kept = _filtered(rows, gate or Gate(req, tally, progress))
    if not req.merge_same_address:
        for row in kept:
            tally.exported += 1
            yield row
        return
    groups: dict[tuple[str, ...], ExportRow] = {}
    loose: list[ExportRow] = []
    order: list[ExportRow] = []
    for row in kept:
        if row.postal is None:
            loose.append(row)
            order.append(row)
            continue
        key = row.postal.key()
        first = groups.get(key)
        if first is None:
            groups[key] = row
            order.append(row)
        else:
            first.merge(row)
            tally.merged += 1
    for row in order:
        tally.exported += 1
        yield row


def _filtered(rows: Iterable[ExportRow], gate: Gate) -> Iterator[ExportRow]:
    for row in rows:
        reason = gate.reason(
            no_post=row.no_post,
            no_email=row.no_email,
            has_postal=row.postal is not None,
            person_id=row.person_id,
            organisation_id=row.organisation_id,
        )
        if reason is None:
            yield row
        else:
            gate.tally.exclude(row, reason)


def text_rows(
    session: Session,
    req: ExportRequest,
    selection: Selection,
    tally: Tally,
    progress: Callable[[int], None] | None = None,
    *,
    header: bool = True,
) -> Iterator[bytes]:
    """A CSV or vCard export in chunks: organisations the general way, then people through the
    fast lane (``flat``) when it serves every column asked for."""
    columns = req.columns if req.format == "csv" else []
    if not flat.handles(columns, merge_same_address=req.merge_same_address):
        rows = export_rows(session, req, selection, tally, progress)
        yield from _text_chunks(req, rows, header=header)
        return
    gate = Gate(req, tally, progress)
    offices = Selection(selection.label, [], selection.organisation_ids)
    yield from _text_chunks(
        req, export_rows(session, req, offices, tally, gate=gate), header=header
    )
    if req.format == "csv":
        yield from flat.csv_chunks(
            session, selection.person_ids, columns, delimiter=req.delimiter, gate=gate
        )
    else:
        yield from flat.vcard_chunks(session, selection.person_ids, gate=gate)


def _text_chunks(req: ExportRequest, rows: Iterable[ExportRow], *, header: bool) -> Iterator[bytes]:
    if req.format == "csv":
        chunks = formats.csv_chunks(
            rows, req.columns, excel=req.excel, delimiter=req.delimiter, header=header
        )
    else:
        chunks = formats.vcard_chunks(rows)
    return (c for c in chunks if c)


def should_run_in_background(req: ExportRequest, candidates: int) -> bool:
    if req.background is not None:
        return req.background
    limit = BACKGROUND_OVER[req.format]
    return limit is not None and candidates > limit


def preview(session: Session, *, req: ExportRequest) -> ExportPreview:
    """Counts before the download: how many go out, who is left out and why."""
    selection = select_contacts(session, req)
    tally = Tally()
    for _ in export_rows(session, req, selection, tally):
        pass
    return ExportPreview(
        source=selection.label,
        format=req.format,
        candidates=selection.total,
        exported=tally.exported,
        merged=tally.merged,
        excluded=tally.excluded,
        excluded_sample=tally.sample,
        background=should_run_in_background(req, selection.total),
    )


# --- producing the file ------------------------------------------------------------------------


def filename_for(label: str, fmt: str, today: date | None = None) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:50] or "contacts"
    stamp = (today or date.today()).strftime("%Y%m%d")
    return f"demarche-{slug}-{stamp}.{formats.EXTENSIONS[fmt]}"


def _return_address(session: Session) -> list[str]:
    profile = profile_service.get_profile(session)
    lines = [profile.name, *profile.address.splitlines()]
    return [line.strip() for line in lines if line.strip()]


def write_file(
    session: Session,
    req: ExportRequest,
    selection: Selection,
    tally: Tally,
    target: IO[bytes],
    progress: Callable[[int], None] | None = None,
) -> None:
    """The whole export into ``target`` (a file opened for binary writing)."""
    if req.format in ("csv", "vcard"):
        for chunk in text_rows(session, req, selection, tally, progress):
            target.write(chunk)
        return
    rows = export_rows(session, req, selection, tally, progress)
    if req.format == "xlsx":
        formats.write_xlsx(rows, req.columns, target)
    else:
        _write_print_pdf(session, req, rows, target)


def _write_print_pdf(
    session: Session, req: ExportRequest, rows: Iterable[Any], target: IO[bytes]
) -> None:
    """Labels or envelopes, typeset a few pages at a time and joined on disk: memory holds one
    chunk of pages, whatever the list's length, and the page cap bounds the time."""
    per_page = req.label_grid.per_page if req.format == "labels" else 1
    limit = MAX_PDF_PAGES * per_page
    return_lines = _return_address(session) if req.format == "envelopes" else []

    def render(chunk: list[list[str]]) -> bytes:
        if req.format == "labels":
            return formats.render_pdf(formats.labels_html(chunk, req.label_grid))
        return formats.render_pdf(formats.envelopes_html(chunk, req.envelope, return_lines))

    scratch = get_settings().files_dir / "exports"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".print-", dir=scratch) as tmp:
        parts: list[Path] = []
        chunk: list[list[str]] = []

        def flush() -> None:
            path = Path(tmp) / f"{len(parts):05d}.pdf"
            path.write_bytes(render(chunk))
            parts.append(path)
            chunk.clear()

        for count, row in enumerate(rows, start=1):
            if count > limit:
                raise InvalidInput(
                    f"More than {MAX_PDF_PAGES:,} pages ({limit:,} addresses): split the list "
                    "(by region or country) for printing."
                )
            chunk.append(row.address_lines())
            if len(chunk) >= PAGES_PER_CHUNK * per_page:
                flush()
        if chunk or not parts:
            flush()
        joined = Path(tmp) / "all.pdf"
        combine_pdfs(parts, joined)
        with joined.open("rb") as fh:
            shutil.copyfileobj(fh, target)


def audit_export(
    session: Session, user: User, req: ExportRequest, label: str, tally: Tally, **extra: Any
) -> None:
    audit.record(
        session,
        user=user,
        action="export",
        entity_type="export",
        entity_id=extra.pop("job_id", None),
        summary=f"Exported {tally.exported:,} contacts as {req.format.upper()} from {label}",
        details={
            "format": req.format,
            "source": label,
            "columns": req.columns if req.format in ("csv", "xlsx") else [],
            "exported": tally.exported,
            "excluded": tally.excluded,
            "merged": tally.merged,
            "include_do_not_contact": req.include_do_not_contact,
            **extra,
        },
    )


@contextmanager
def reading_session() -> Iterator[Session]:
    """A session that only reads, outside any transaction: a long export must not hold
    SQLite's write lock (BEGIN IMMEDIATE) or a PostgreSQL transaction open while it streams.
    Inside the tests' shared connection it joins that connection like every other session."""
    maker = db.session_factory()  # looked up when called (the tests replace it)
    bind = maker.kw.get("bind")
    if isinstance(bind, Engine):
        session = Session(bind=bind.execution_options(isolation_level="AUTOCOMMIT"))
    else:
        session = maker()
    try:
        yield session
    finally:
        session.close()


@dataclass
class Download:
    filename: str
    content_type: str
    body: Iterator[bytes]


def stream(session: Session, *, req: ExportRequest, user: User) -> Download:
    """A CSV or vCard export that streams: rows are read in batches by their own session after
    the request's transaction ends; the audit entry is written when the stream ends (with what
    was actually sent, and whether it completed)."""
    if req.format not in ("csv", "vcard"):
        raise InvalidInput("Only CSV and vCard exports stream; the others are files.")
    label = describe_source(session, req)
    user_id = user.id

    def body() -> Iterator[bytes]:
        tally = Tally()
        complete = False
        try:
            if req.format == "csv":
                # the download starts before the contacts are selected
                yield formats.csv_header(req.columns, excel=req.excel, delimiter=req.delimiter)
            with reading_session() as reader:
                selection = select_contacts(reader, req)
                yield from text_rows(reader, req, selection, tally, header=False)
            complete = True
        finally:
            with transaction() as writer:
                who = writer.get(User, user_id)
                audit_export(writer, who, req, label, tally, complete=complete)  # type: ignore[arg-type]

    return Download(
        filename=filename_for(label, req.format),
        content_type=formats.CONTENT_TYPES[req.format],
        body=body(),
    )


def build(
    session: Session, *, req: ExportRequest, user: User, selection: Selection | None = None
) -> Download:
    """A file export made now (small XLSX, labels, envelopes), audited."""
    selection = selection or select_contacts(session, req)
    tally = Tally()
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as out:
        write_file(session, req, selection, tally, out)
        out.seek(0)
        data = out.read()
    audit_export(session, user, req, selection.label, tally, complete=True)
    return Download(
        filename=filename_for(selection.label, req.format),
        content_type=formats.CONTENT_TYPES[req.format],
        body=iter([data]),
    )


def start(session: Session, *, req: ExportRequest, user: User) -> Download | ExportJob:
    """An export as the user asked for it: a stream (CSV, vCard), a file made now, or a
    queued job when it is large (or asked to run in the background)."""
    if req.format in ("csv", "vcard") and not req.background:
        return stream(session, req=req, user=user)
    selection = select_contacts(session, req)
    if should_run_in_background(req, selection.total):
        return create_job(session, req=req, user=user, selection=selection)
    return build(session, req=req, user=user, selection=selection)


def create_job(
    session: Session, *, req: ExportRequest, user: User, selection: Selection | None = None
) -> ExportJob:
    """A queued export (the caller enqueues ``tasks.run_export`` once this is committed)."""
    selection = selection or select_contacts(session, req)
    job = ExportJob(
        owner_id=user.id,
        format=req.format,
        request=req.model_dump(mode="json"),
        source_label=selection.label[:200],
        total=selection.total,
        filename=filename_for(selection.label, req.format),
        content_type=formats.CONTENT_TYPES[req.format],
    )
    session.add(job)
    session.flush()
    audit.record(
        session,
        user=user,
        action="export.queued",
        entity_type="export",
        entity_id=job.id,
        summary=f"Queued a {req.format.upper()} export of {selection.total:,} contacts from "
        f"{selection.label}",
    )
    return job


def column_choices() -> list[tuple[str, str]]:
    return list(COLUMNS.items())
