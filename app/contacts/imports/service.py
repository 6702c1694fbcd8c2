"""CSV import of people and organisations: validation, duplicates, and an all-or-nothing write.

``run()`` builds a plan first: every row is checked (names, email, phone for its country,
country, language, yes/no flags), then matched against earlier rows of the file and against the
directory (same email, or same name and organisation). The plan is the dry-run report; when it
is written, it is written in the caller's transaction with bulk inserts, so a failure anywhere
leaves nothing behind. Rows that match an existing record are merged into it (blanks filled,
missing contact points, tags and positions added) or skipped, so importing the same file twice
changes nothing the second time.

The steps have modules of their own: ``rows`` (checking a row), ``matching`` (the plan),
``apply`` (writing it, through ``sink``'s bulk inserts) and ``schemas`` (options and report)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.contacts.imports import batches, csvfile
from app.contacts.imports.apply import write
from app.contacts.imports.matching import make_plan
from app.contacts.imports.schemas import Counts, ImportOptions, ImportReport, Progress
from app.errors import InvalidInput
from app.models import User


def run(
    session: Session,
    *,
    data: bytes,
    filename: str,
    options: ImportOptions,
    dry_run: bool,
    actor: User | None,
    progress: Progress | None = None,
) -> ImportReport:
    """Check the file; unless ``dry_run``, import it whole or not at all, as a batch that can
    be undone (``app.contacts.imports.batches``). ``progress(stage, done, total)`` is told how
    far it got (for imports run as a background job). The dry run goes through the same
    writing steps without writing, so its counts are the import's.

    A file with bad rows is never imported: ``InvalidInput`` carries the report as ``errors``."""
    table = csvfile.read_table(data, encoding=options.encoding, delimiter=options.delimiter)
    source = "given"
    if options.mapping is None:
        remembered = batches.remembered_mapping(session, table.headers)
        if remembered is not None:
            options = options.model_copy(update={"mapping": remembered})
            source = "remembered"
        else:
            source = "guessed"
    plan = make_plan(session, table, options, progress)
    report = ImportReport(
        dry_run=dry_run,
        imported=False,
        filename=filename,
        encoding=table.encoding,
        encoding_label=csvfile.ENCODINGS.get(table.encoding, table.encoding),
        delimiter=table.delimiter,
        headers=table.headers,
        mapping=plan.mapping,
        mapping_source=source,
        total_rows=len(table.rows),
        bad_rows=plan.bad_rows,
        duplicates=plan.duplicates,
        created=Counts(),
        updated=Counts(),
        skipped=plan.skipped,
        warnings=plan.warnings[:1000],
    )
    if dry_run:
        # the rows that can be imported, counted by the import's own steps
        planned = write(session, plan, options, dry=True)
        report.created, report.updated = planned.created, planned.updated
        return report
    if plan.bad_rows:
        raise InvalidInput(
            f"Nothing was imported: {len(plan.bad_rows)} row(s) have problems. Correct them (or "
            "delete those rows) and upload the file again.",
            errors=[{"row": b.row, "message": "; ".join(b.reasons)} for b in plan.bad_rows[:1000]],
        )
    if not table.rows:
        raise InvalidInput("The file has a header row but no contacts.")
    if progress is not None:
        progress("writing", len(table.rows), len(table.rows))
    written = write(session, plan, options)
    created, updated = written.created, written.updated
    report.imported = True
    report.created, report.updated = created, updated
    report.created_people = written.people
    report.created_organisations = written.organisations
    report.separate = [d for d in plan.duplicates if d.action == "create" and d.existing_id]
    batch = batches.record(
        session,
        filename=filename,
        counts={
            "rows": len(table.rows),
            "created": created.model_dump(),
            "updated": updated.model_dump(),
            "skipped": plan.skipped,
        },
        changes=written.changes.as_dict(),
        actor=actor,
    )
    report.batch_id = batch.id
    batches.remember_mapping(session, table.headers, plan.mapping)
    audit.record(
        session,
        user=actor,
        action="contacts.import",
        entity_type="contact_import",
        entity_id=batch.id,
        summary=(
            f"Imported {filename}: {created.people} people and {created.organisations} "
            f"organisations created, {updated.people + updated.organisations} updated, "
            f"{plan.skipped} rows skipped"
        ),
        details={
            "filename": filename,
            "rows": len(table.rows),
            "encoding": table.encoding,
            "created": created.model_dump(),
            "updated": updated.model_dump(),
            "skipped": plan.skipped,
            "duplicates": len(plan.duplicates),
            "warnings": len(plan.warnings),
            "batch_id": batch.id,
        },
    )
    return report
