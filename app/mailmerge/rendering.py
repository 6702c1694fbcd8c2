"""Rendering a merge's letters: each letter's render job from its own text (or its template
version's before the first render) and frozen context, previews, PDFs on disk, re-merging a
draft from its template, and the batch's downloads."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.config import get_settings
from app.errors import Conflict, InvalidInput, NotFound
from app.letters import batch as letters_batch
from app.letters import render
from app.letters.fields import with_placeholders
from app.letters.render import RenderedLetter, RenderError
from app.letters.sandbox import own_text
from app.letters.stored import letter_job, required_in
from app.mailmerge.recipients import source_error
from app.models import Letter, LetterStatus, MergeBatch, TemplateVersion, User


def files_root() -> Path:
    return get_settings().files_dir


def batch_dir(batch_id: int) -> Path:
    return files_root() / "merges" / str(batch_id)


def template_version(session: Session, letter: Letter) -> TemplateVersion | None:
    if letter.template_version_id is None:
        return None
    return session.get(TemplateVersion, letter.template_version_id)


def trial_fill(version: TemplateVersion, context: dict[str, Any]) -> None:
    """Fill a template version in once, for one recipient, in the renderer under its limits: a
    text that meets a limit (a loop that never ends, a value too large) is refused before any
    letter is made from it. Other problems show on the letters, as before."""
    job = render.TextJob(
        subject=version.subject,
        body=version.body,
        context=with_placeholders(context, required_in(version)),
        limits=render.default_limits(),
    )
    try:
        render.fill_isolated(job)
    except render.RenderLimit as exc:
        raise source_error(
            "template_id", f"The template cannot be filled in ({version.language}): {exc}"
        ) from exc
    except RenderError:
        pass


def keep_text(letter: Letter, subject: str, body: str) -> None:
    """A letter's first render becomes its own text; later renders never write over it (a hand
    edit stays the letter). The filled-in text is stored so that rendering it again prints it
    as it is: a brace that came from the directory ("{{ 7*7 }}" in a name) is not a field."""
    if letter.body_html.strip():
        return
    letter.subject, letter.body_html = own_text(subject, body)


def remerge_preview(session: Session, letter: Letter) -> tuple[str, str]:
    """The subject and text a re-merge would give this letter (from its template version and
    frozen context), to show beside its own text before anyone confirms."""
    version = template_version(session, letter)
    if version is None:
        raise Conflict("This letter has no template version to merge again from.")
    job = letter_job(session, letter)
    fresh = dataclasses.replace(
        job,
        body=version.body,
        subject=version.subject,
        # as at the first render: an empty field shows as a mark to fill in
        context=with_placeholders(letter.context, required_in(version)),
    )
    try:
        rendered = render.render_isolated(fresh)  # bounded in time, like every web render
    except RenderError as exc:
        raise InvalidInput(f"The template could not be filled in: {exc}") from exc
    return rendered.subject, rendered.body


def remerge(session: Session, *, letter: Letter, actor: User | None) -> Letter:
    """Replace a draft letter's own text with its template filled in again: the one path that
    reads the template after the first render, asked for by a person and audit-logged with the
    text it replaced."""
    if letter.status != LetterStatus.draft:
        raise Conflict(
            f"Letter {letter.reference} is {letter.status.value}; only a draft can be merged "
            "again from its template."
        )
    subject, body = remerge_preview(session, letter)
    before = {"subject": letter.subject, "body_html": letter.body_html}
    letter.subject, letter.body_html = own_text(subject, body)
    letter.pdf_path, letter.pages, letter.render_error = "", 0, ""
    session.flush()
    audit.record(
        session,
        user=actor,
        action="letter.remerge",
        entity_type="letter",
        entity_id=letter.id,
        summary=f"{letter.reference}: text merged again from the template",
        details={"replaced": before},
    )
    return letter


def rerender(session: Session, letter: Letter) -> RenderedLetter:
    """Render a letter again from its stored template version and frozen context."""
    try:
        return render.render_isolated(letter_job(session, letter))
    except RenderError as exc:
        raise InvalidInput(f"The letter could not be rendered: {exc}") from exc


def letter_html(session: Session, letter: Letter) -> str:
    try:
        return render.render_html_isolated(letter_job(session, letter))
    except RenderError as exc:
        raise InvalidInput(f"The letter could not be rendered: {exc}") from exc


def letter_pdf(session: Session, letter: Letter) -> Path:
    """The letter's PDF on disk; rendered now (and kept) if the merge has not made it yet."""
    if letter.pdf_path:
        path = files_root() / letter.pdf_path
        if path.is_file():
            return path
    rendered = rerender(session, letter)
    folder = batch_dir(letter.batch_id or 0)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / letters_batch.letter_filename(letter.reference, letter.recipient_name)
    path.write_bytes(rendered.pdf)
    letter.pdf_path = str(path.relative_to(files_root()))
    letter.pages = rendered.pages
    keep_text(letter, rendered.subject, rendered.body)
    letter.render_error = ""
    session.flush()
    return path


def pdf_filename(letter: Letter) -> str:
    return letters_batch.letter_filename(letter.reference, letter.recipient_name)


def download_path(batch: MergeBatch, kind: str) -> Path:
    rel = batch.combined_pdf_path if kind == "pdf" else batch.zip_path
    path = files_root() / rel if rel else None
    if path is None or not path.is_file():
        raise NotFound("This merge has no such download yet.")
    return path
