"""The render job of a stored letter, for every path that prints one (a merge, a preview, the
letter's PDF, the email that carries it): its own subject and text, or its template version's
before the first render, its frozen context, its template's layout and its merge's print
options. A letter written without a template (the demo's sent letters) prints its own text on
the default letterhead."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.letters import render
from app.letters.fields import with_placeholders
from app.letters.render import LetterJob
from app.letters.sandbox import required_fields
from app.models import Letter, LetterTemplate, MergeBatch, TemplateVersion

DEFAULT_LAYOUT = "a4"


def required_in(version: TemplateVersion) -> tuple[str, ...]:
    return required_fields(version.subject) + required_fields(version.body)


def _job(
    letter: Letter,
    version: TemplateVersion | None,
    layout: str,
    variant: str,
    options: tuple[str, ...] = (),
) -> LetterJob:
    """What a letter prints: its own subject and text once it has them (the merge's output or a
    hand edit), its template version's only before its first render, with an empty field shown
    as a mark to fill in. Re-merging from the template is a separate, explicit act
    (``mailmerge.rendering.remerge``)."""
    subject, body, context = letter.subject, letter.body_html, letter.context or {}
    if version is not None and not body.strip():
        subject, body = version.subject, version.body
        context = with_placeholders(context, required_in(version))
    return LetterJob(
        body=body,
        subject=subject,
        context=context,
        language=letter.language,
        layout=layout,
        pdf_variant=variant or None,
        options=options,
        limits=render.default_limits(),
    )


def letter_job(session: Session, letter: Letter) -> LetterJob:
    """The letter's render job (see the module's text)."""
    jobs = jobs_for(session, [letter])
    if letter.id not in jobs:
        raise Conflict("This letter has no template version to render from.")
    return jobs[letter.id]


def jobs_for(session: Session, letters: Sequence[Letter]) -> dict[int, LetterJob]:
    """Render jobs by letter id; a letter whose template version is gone, or that has neither a
    template version nor a text of its own, gets none."""
    version_ids = {x.template_version_id for x in letters if x.template_version_id}
    versions = {
        v.id: v
        for v in session.scalars(select(TemplateVersion).where(TemplateVersion.id.in_(version_ids)))
    }
    templates = {
        t.id: t
        for t in session.scalars(
            select(LetterTemplate).where(
                LetterTemplate.id.in_({v.template_id for v in versions.values()})
            )
        )
    }
    jobs = {}
    for letter in letters:
        batch = session.get(MergeBatch, letter.batch_id) if letter.batch_id else None
        batch_source = batch.source if batch is not None else {}
        variant = str(batch_source.get("pdf_variant", ""))
        options = ("fold_marks",) if batch_source.get("fold_marks") else ()
        if letter.template_version_id is None:
            if letter.body_html.strip():
                jobs[letter.id] = _job(letter, None, DEFAULT_LAYOUT, variant, options)
            continue
        version = versions.get(letter.template_version_id)
        if version is None:
            continue
        layout = templates[version.template_id].layout
        jobs[letter.id] = _job(letter, version, layout, variant, options)
    return jobs
