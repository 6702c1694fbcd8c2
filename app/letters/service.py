"""Letter templates: stored with version history per language variant, checked before saving,
previewed in the sandboxed renderer. The built-in library is loaded from ``letter_templates/``.

What the template editor shows besides (field examples, version history and diffs, restoring a
version, translations left behind) is in ``editor``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.config import get_settings
from app.db import fold
from app.errors import Conflict, InvalidInput, NotFound
from app.letters import render
from app.letters.context import LANGUAGES, language_or_default, sample_context
from app.letters.limits import TemplateProblem
from app.letters.render import LetterJob, RenderError
from app.letters.sandbox import check_source
from app.letters.schemas import TemplateCreate, TemplateUpdate, VariantSave
from app.models import LetterTemplate, TemplateVersion, User

BUILTIN_NOTE = "Built-in library"
# A previewed letter is user-written HTML: shown in a sandbox with no scripts, forms or fetches.
PREVIEW_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; "
    "img-src data:; frame-ancestors 'none'"
}


def _problem(field: str, exc: TemplateProblem) -> InvalidInput:
    where = f" on line {exc.line}" if exc.line else ""
    message = f"{exc.message}{where}"
    return InvalidInput(
        f"{field}: {message}",
        errors=[{"field": field, "message": message, "line": exc.line, "name": exc.field}],
    )


def check_variant(*, subject: str, body: str, language: str | None = None) -> None:
    """Refuse unknown merge fields and syntax errors, naming the field and the line (422).

    With a ``language``, the text is also filled in for the preview's sample letter in that
    language, in the renderer under its limits: a text that runs into one (a loop that never
    ends, a value too large) is refused now rather than in every letter merged from it."""
    for field, source in (("subject", subject), ("body", body)):
        try:
            check_source(source)
        except TemplateProblem as exc:
            raise _problem(field, exc) from exc
    if language is None:
        return
    job = render.TextJob(
        subject=subject,
        body=body,
        context=sample_context(language_or_default(language)),
        limits=render.default_limits(),
    )
    try:
        render.fill_isolated(job)
    except render.RenderLimit as exc:
        raise InvalidInput(
            f"body: {exc}",
            errors=[{"field": "body", "message": str(exc), "line": None, "name": None}],
        ) from exc
    except RenderError:
        pass  # other problems show in the preview, with the sample's values


# ----------------------------------------------------------------------------- queries


def list_templates(
    session: Session, *, q: str = "", limit: int = 50, offset: int = 0
) -> tuple[Sequence[LetterTemplate], int]:
    stmt = select(LetterTemplate)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                fold(LetterTemplate.name).like(like),
                fold(LetterTemplate.description).like(like),
                fold(LetterTemplate.slug).like(like),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.options(selectinload(LetterTemplate.versions))
        .order_by(LetterTemplate.is_builtin.desc(), LetterTemplate.name)
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def get(session: Session, template_id: int) -> LetterTemplate:
    template = session.scalar(
        select(LetterTemplate)
        .where(LetterTemplate.id == template_id)
        .options(selectinload(LetterTemplate.versions))
    )
    if template is None:
        raise NotFound(f"No letter template with id {template_id}.")
    return template


def get_by_slug(session: Session, slug: str) -> LetterTemplate | None:
    return session.scalar(
        select(LetterTemplate)
        .where(LetterTemplate.slug == slug)
        .options(selectinload(LetterTemplate.versions))
    )


def get_version(session: Session, version_id: int) -> TemplateVersion:
    version = session.get(TemplateVersion, version_id)
    if version is None:
        raise NotFound(f"No template version with id {version_id}.")
    return version


def current_versions(template: LetterTemplate) -> dict[str, TemplateVersion]:
    """The newest version of each language variant (versions must be loaded)."""
    current: dict[str, TemplateVersion] = {}
    for version in template.versions:
        best = current.get(version.language)
        if best is None or version.number > best.number:
            current[version.language] = version
    return dict(sorted(current.items(), key=lambda kv: list(LANGUAGES).index(kv[0])))


def history(template: LetterTemplate, language: str) -> list[TemplateVersion]:
    return sorted(
        (v for v in template.versions if v.language == language),
        key=lambda v: v.number,
        reverse=True,
    )


def pick_version(template: LetterTemplate, language: str | None) -> TemplateVersion:
    """The variant for a recipient's language, else the template's default language."""
    current = current_versions(template)
    lang = language_or_default(language)
    version = current.get(lang) or current.get(template.default_language)
    if version is None:
        version = next(iter(current.values()), None)
    if version is None:
        raise NotFound(f"Template '{template.name}' has no text yet.")
    return version


# ----------------------------------------------------------------------------- changes


def create(session: Session, *, data: TemplateCreate, actor: User | None) -> LetterTemplate:
    check_variant(subject=data.subject, body=data.body, language=data.language)
    if get_by_slug(session, data.slug) is not None:
        raise Conflict(
            f"A template with the slug '{data.slug}' already exists.",
            errors=[{"field": "slug", "message": "Already used by another template"}],
        )
    template = LetterTemplate(
        slug=data.slug,
        name=data.name,
        description=data.description,
        layout=data.layout,
        style=data.style,
        default_language=data.language,
    )
    session.add(template)
    session.flush()
    add_version(session, template, data.language, data, actor, number=1)
    audit.record(
        session,
        user=actor,
        action="template.create",
        entity_type="letter_template",
        entity_id=template.id,
        summary=f"Created letter template '{template.name}'",
    )
    return get(session, template.id)


def add_version(
    session: Session,
    template: LetterTemplate,
    language: str,
    data: VariantSave,
    actor: User | None,
    *,
    number: int,
) -> TemplateVersion:
    version = TemplateVersion(
        template_id=template.id,
        language=language,
        number=number,
        subject=data.subject,
        body=data.body,
        note=data.note,
        created_by_id=actor.id if actor else None,
    )
    session.add(version)
    session.flush()
    return version


def save_variant(
    session: Session,
    *,
    template_id: int,
    language: str,
    data: VariantSave,
    actor: User | None,
) -> TemplateVersion:
    """Save the text of a language variant as a new version (unchanged text: no new version)."""
    if language not in LANGUAGES:
        raise InvalidInput(f"Unsupported language '{language}'; use one of {', '.join(LANGUAGES)}.")
    check_variant(subject=data.subject, body=data.body, language=language)
    template = get(session, template_id)
    previous = current_versions(template).get(language)
    if previous and previous.subject == data.subject and previous.body == data.body:
        return previous
    version = add_version(
        session, template, language, data, actor, number=(previous.number + 1 if previous else 1)
    )
    audit.record(
        session,
        user=actor,
        action="template.version",
        entity_type="letter_template",
        entity_id=template.id,
        summary=f"Saved version {version.number} of '{template.name}' ({language})",
        details={"version_id": version.id, "language": language},
    )
    return version


def update(
    session: Session, *, template_id: int, data: TemplateUpdate, actor: User | None
) -> LetterTemplate:
    template = get(session, template_id)
    if template.version != data.version:
        raise Conflict(
            "Someone else changed this template since you opened it; reload and try again."
        )
    template.name = data.name
    template.description = data.description
    template.layout = data.layout
    template.style = data.style
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict("This template was changed at the same time; reload and retry.") from exc
    audit.record(
        session,
        user=actor,
        action="template.update",
        entity_type="letter_template",
        entity_id=template.id,
        summary=f"Updated letter template '{template.name}'",
    )
    return template


# ----------------------------------------------------------------------------- rendering


def job_for(
    template: LetterTemplate,
    version: TemplateVersion,
    context: dict[str, Any],
    *,
    pdf_variant: str | None = None,
) -> LetterJob:
    return LetterJob(
        body=version.body,
        subject=version.subject,
        context=context,
        language=version.language,
        layout=template.layout,
        pdf_variant=pdf_variant,
        limits=render.default_limits(),
    )


def _directory_recipient(
    session: Session, person_id: int | None, organisation_id: int | None, lang: str, style: str
) -> dict[str, Any]:
    """The recipient and country groups for a contact from the directory, as a merge makes
    them (its holder today for an office)."""
    from app.contacts import recipients as contacts_recipients
    from app.letters import localise
    from app.letters.addressee import recipient_group

    if person_id is not None and organisation_id is not None:
        raise InvalidInput("Give a person or an organisation to preview for, not both.")
    try:
        rec = contacts_recipients.recipient(
            session, person_id=person_id, organisation_id=organisation_id, language=lang
        )
    except NotFound as exc:
        raise InvalidInput(f"No such contact to preview for: {exc}") from exc
    group = recipient_group(rec, language=lang, style=style)
    group.pop("missing", None)
    return {"recipient": group, "country": localise.country(rec.country_iso3, lang)}


@dataclass(frozen=True)
class Preview:
    content: bytes
    media_type: str
    version: TemplateVersion


def preview(
    session: Session,
    *,
    template_id: int,
    language: str,
    version_id: int | None = None,
    fmt: str = "pdf",
    context: dict[str, Any] | None = None,
    pdf_variant: str | None = None,
    person_id: int | None = None,
    organisation_id: int | None = None,
) -> Preview:
    """Render a template with the sample context as HTML or PDF: addressed to a real person or
    office from the directory when one is given, with parts of a plain-data context over it."""
    template = get(session, template_id)
    if version_id is not None:
        version = get_version(session, version_id)
        if version.template_id != template.id:
            raise NotFound(f"Version {version_id} does not belong to this template.")
    else:
        version = pick_version(template, language)
    overrides = dict(context or {})
    if person_id is not None or organisation_id is not None:
        overrides = {
            **_directory_recipient(
                session, person_id, organisation_id, version.language, template.style
            ),
            **overrides,
        }
    try:
        sample = sample_context(version.language, overrides, style=template.style)
        job = job_for(template, version, sample, pdf_variant=pdf_variant)
        if fmt == "html":
            html = render.render_html_isolated(job)
            return Preview(html.encode(), "text/html; charset=utf-8", version)
        return Preview(render.render_isolated(job).pdf, "application/pdf", version)
    except (RenderError, ValueError) as exc:
        raise InvalidInput(f"The letter could not be rendered: {exc}") from exc


# ----------------------------------------------------------------------------- built-in library


def _library_dir() -> Path:
    return get_settings().letter_templates_dir


def read_library() -> list[dict[str, Any]]:
    """The manifest's templates, each with a ``variants`` dict {language: (subject, body)}."""
    root = _library_dir()
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    out = []
    for entry in manifest["templates"]:
        variants = {}
        for lang, subject in entry["subject"].items():
            body = (root / entry["slug"] / f"{lang}.html").read_text(encoding="utf-8")
            variants[lang] = (subject, body)
        out.append({**entry, "variants": variants})
    return out


def load_builtin(session: Session) -> int:
    """Reference loader: insert the built-in templates, refresh text users have not edited.

    Idempotent: unchanged files add nothing; a changed file adds a version only while the
    variant's newest version still comes from the library.
    """
    added = 0
    for entry in read_library():
        template = get_by_slug(session, entry["slug"])
        if template is None:
            template = LetterTemplate(
                slug=entry["slug"],
                name=entry["name"],
                description=entry["description"],
                layout=entry["layout"],
                style=entry.get("style", "formal"),
                default_language="en",
                is_builtin=True,
            )
            session.add(template)
            session.flush()
            template = get(session, template.id)
            added += 1
        current = current_versions(template)
        untouched = all(v.note == BUILTIN_NOTE for v in current.values())
        if template.is_builtin and untouched:
            template.style = entry.get("style", "formal")
        for lang, (subject, body) in entry["variants"].items():
            check_source(subject)
            check_source(body)
            previous = current.get(lang)
            if previous and (previous.note != BUILTIN_NOTE or previous.body == body):
                continue
            add_version(
                session,
                template,
                lang,
                VariantSave(subject=subject, body=body, note=BUILTIN_NOTE),
                None,
                number=previous.number + 1 if previous else 1,
            )
    return added


# ----------------------------------------------------------------------------- letters


def meeting_facts(meeting: Any, treaty: str) -> dict[str, Any]:
    """A meeting record as the language-neutral facts a letter's ``milestone`` is written
    from: kind and number read from its name ("1MSP (First Meeting of States Parties)"), host
    city and state, dates. A meeting the names data does not cover keeps its record's name."""
    from app.letters.language import parse_meeting

    ref = parse_meeting(meeting.name)
    facts: dict[str, Any] = {
        "city": meeting.city,
        "country_iso3": meeting.country_iso3,
        "date": meeting.start_date,
        "end_date": meeting.end_date,
    }
    if ref is not None:
        facts.update(treaty=treaty, kind=ref.kind, number=ref.number)
    else:
        facts["name"] = meeting.name
    return facts


def next_meeting_facts(session: Session, treaty: str, since: date) -> dict[str, Any]:
    """The facts of the treaty's next meeting from ``since``; {} without one."""
    from app.treaties import service as treaties_service

    try:
        found = treaties_service.get_by_short_name(session, treaty)
    except NotFound:
        return {}
    meetings = treaties_service.list_meetings(session, treaty_id=found.id, since=since)
    return meeting_facts(meetings[0], found.short_name) if meetings else {}


def fill(subject: str, body: str, context: dict[str, Any]) -> tuple[str, str]:
    """A template's subject and text filled in from a context, as a letter keeps them: an empty
    required field prints as its «mark», and the result renders to itself again."""
    from app.letters.fields import with_placeholders
    from app.letters.sandbox import own_text, required_fields

    marked = with_placeholders(context, required_fields(subject) + required_fields(body))
    job = render.TextJob(subject=subject, body=body, context=marked, limits=render.default_limits())
    try:
        filled_subject, filled_body = render.fill_isolated(job)  # in the renderer, bounded
    except RenderError as exc:
        raise InvalidInput(f"The template could not be filled in: {exc}") from exc
    return own_text(filled_subject, filled_body)
