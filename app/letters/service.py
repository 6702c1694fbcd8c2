"""Letter templates: stored with version history per language variant, checked before saving,
previewed in the sandboxed renderer. The built-in library is loaded from ``letter_templates/``."""

from __future__ import annotations

import copy
import difflib
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from babel.core import Locale
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.config import get_settings
from app.db import fold
from app.errors import Conflict, InvalidInput, NotFound
from app.letters import render
from app.letters.context import LANGUAGES, language_or_default, sample_context
from app.letters.fields import FIELDS, FILTERS
from app.letters.render import LetterJob, RenderError
from app.letters.sandbox import TemplateProblem, check_source
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
    _add_version(session, template, data.language, data, actor, number=1)
    audit.record(
        session,
        user=actor,
        action="template.create",
        entity_type="letter_template",
        entity_id=template.id,
        summary=f"Created letter template '{template.name}'",
    )
    return get(session, template.id)


def _add_version(
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
    version = _add_version(
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
            _add_version(
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


# ----------------------------------------------------------------------------- editor aids


def english_language_name(code: str) -> str:
    """ "French" for "fr": how the notes of an English-language UI name a variant."""
    return str(Locale("en").languages.get(code, code))


def _example_of(context: dict[str, Any], name: str, fallback: Any) -> Any:
    value: Any = context
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return fallback
        value = value[part]
    return value


@lru_cache(maxsize=len(LANGUAGES))
def _sample(language: str) -> dict[str, Any]:
    return sample_context(language)


def field_examples(language: str) -> dict[str, Any]:
    """Each merge field's value in the preview's sample (President Rahmon, the CCM, 1MSP) in
    ``language``: what the field prints in a letter of that language."""
    sample = _sample(language_or_default(language))
    return {
        name: copy.deepcopy(_example_of(sample, name, field.example))
        for name, field in FIELDS.items()
    }


@lru_cache(maxsize=len(LANGUAGES))
def filter_examples(language: str) -> tuple[tuple[str, str, str], ...]:
    """The filters as (usage, description, example) with the example worked out in the sample
    letter of ``language``: the registry's expression for that language, else its first one."""
    from app.letters.sandbox import render_capped

    lang = language_or_default(language)
    out = []
    for usage, description, by_language in FILTERS:
        given = by_language.get(lang) or next(iter(by_language.values()), "")
        expression = given.split(" → ")[0].strip()
        try:
            result = html.unescape(str(render_capped(expression, _sample(lang), max_chars=2000)))
        except TemplateProblem:
            out.append((usage, description, given))
            continue
        out.append((usage, description, f"{expression} → {result}"))
    return tuple(out)


def field_catalogue() -> list[dict[str, Any]]:
    """Fields then filters, each with its English registry example and its example in every
    language (the API's field list)."""
    by_language = {lang: field_examples(lang) for lang in LANGUAGES}
    filters = {lang: filter_examples(lang) for lang in LANGUAGES}
    items: list[dict[str, Any]] = [
        {
            "name": name,
            "description": field.description,
            "example": field.example,
            "kind": "field",
            "examples": {lang: by_language[lang][name] for lang in LANGUAGES},
        }
        for name, field in FIELDS.items()
    ]
    for index, (usage, description, given) in enumerate(FILTERS):
        items.append(
            {
                "name": usage,
                "description": description,
                "example": given.get("en") or next(iter(given.values()), ""),
                "kind": "filter",
                "examples": {lang: filters[lang][index][2] for lang in LANGUAGES},
            }
        )
    return items


# ----------------------------------------------------------------------------- history

LIBRARY_AUTHOR = "Demarche library"
UNKNOWN_AUTHOR = "Unknown (account removed)"


def authors(session: Session, versions: Sequence[TemplateVersion]) -> dict[int, str]:
    """Who saved each version, by version id: the user's full name or email; the built-in
    library for versions it loaded."""
    ids = {v.created_by_id for v in versions if v.created_by_id is not None}
    names: dict[int, str] = {}
    if ids:
        rows = session.execute(select(User.id, User.full_name, User.email).where(User.id.in_(ids)))
        names = {row.id: row.full_name or row.email for row in rows}
    out = {}
    for v in versions:
        if v.created_by_id is not None and v.created_by_id in names:
            out[v.id] = names[v.created_by_id]
        elif v.created_by_id is None and v.note == BUILTIN_NOTE:
            out[v.id] = LIBRARY_AUTHOR
        else:
            out[v.id] = UNKNOWN_AUTHOR
    return out


def _template_version(session: Session, template_id: int, version_id: int) -> TemplateVersion:
    if not 1 <= version_id <= 2**31 - 1:
        raise NotFound(f"No template version with id {version_id}.")
    version = get_version(session, version_id)
    if version.template_id != template_id:
        raise NotFound(f"Version {version_id} does not belong to template {template_id}.")
    return version


def previous_version(template: LetterTemplate, version: TemplateVersion) -> TemplateVersion | None:
    earlier = [
        v for v in template.versions if v.language == version.language and v.number < version.number
    ]
    return max(earlier, key=lambda v: v.number) if earlier else None


DiffKind = Literal["same", "add", "del", "gap"]  # "gap": unchanged lines left out


@dataclass(frozen=True)
class DiffLine:
    kind: DiffKind
    old: int | None
    new: int | None
    text: str


@dataclass(frozen=True)
class VersionDiff:
    template: LetterTemplate
    version: TemplateVersion
    previous: TemplateVersion | None
    subject_changed: bool
    lines: list[DiffLine]
    added: int
    removed: int


def diff_lines(old: str, new: str, *, context: int = 3) -> list[DiffLine]:
    """A line diff of two texts: changed lines with ``context`` unchanged lines around them,
    and a "gap" where unchanged lines are left out."""
    a, b = old.splitlines(), new.splitlines()
    out: list[DiffLine] = []
    end = 0
    for group in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_grouped_opcodes(context):
        if group[0][1] > end or (not out and group[0][1] > 0):
            out.append(DiffLine("gap", None, None, ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                pairs = zip(range(i1, i2), range(j1, j2), strict=True)
                out += [DiffLine("same", i + 1, j + 1, a[i]) for i, j in pairs]
                continue
            out += [DiffLine("del", i + 1, None, a[i]) for i in range(i1, i2)]
            out += [DiffLine("add", None, j + 1, b[j]) for j in range(j1, j2)]
        end = group[-1][2]
    if out and end < len(a):
        out.append(DiffLine("gap", None, None, ""))
    return out


def version_diff(session: Session, *, template_id: int, version_id: int) -> VersionDiff:
    """A version compared with the one before it in its language (the first: with nothing)."""
    template = get(session, template_id)
    version = _template_version(session, template.id, version_id)
    previous = previous_version(template, version)
    lines = diff_lines(previous.body if previous else "", version.body)
    return VersionDiff(
        template=template,
        version=version,
        previous=previous,
        subject_changed=previous is None or previous.subject != version.subject,
        lines=lines,
        added=sum(1 for line in lines if line.kind == "add"),
        removed=sum(1 for line in lines if line.kind == "del"),
    )


def restore(
    session: Session, *, template_id: int, version_id: int, actor: User | None
) -> TemplateVersion:
    """Make an old version's text current again as a NEW version; history is never rewritten."""
    template = get(session, template_id)
    old = _template_version(session, template.id, version_id)
    current = current_versions(template)[old.language]
    if current.subject == old.subject and current.body == old.body:
        raise Conflict(
            f"Version {old.number} has the same text as the current {old.language} version "
            f"({current.number}); there is nothing to restore."
        )
    check_variant(subject=old.subject, body=old.body, language=old.language)
    data = VariantSave(subject=old.subject, body=old.body, note=f"Restored version {old.number}")
    try:
        version = _add_version(
            session, template, old.language, data, actor, number=current.number + 1
        )
    except IntegrityError as exc:
        raise Conflict(
            "Someone saved this language variant at the same time; reload and try again."
        ) from exc
    audit.record(
        session,
        user=actor,
        action="template.restore",
        entity_type="letter_template",
        entity_id=template.id,
        summary=f"Restored version {old.number} of '{template.name}' ({old.language}) "
        f"as version {version.number}",
        details={"version_id": version.id, "restored_id": old.id, "language": old.language},
    )
    return version


@dataclass(frozen=True)
class StaleNote:
    language: str
    newer_language: str
    since_number: int

    @property
    def short(self) -> str:
        return f"{self.language}: older than {self.newer_language} since v{self.since_number}"

    @property
    def text(self) -> str:
        return (
            f"{english_language_name(self.language)} was last changed before the "
            f"{english_language_name(self.newer_language)} text's version {self.since_number}."
        )


def stale_languages(template: LetterTemplate) -> dict[str, list[StaleNote]]:
    """Per language, the other languages changed since it was last saved: a variant is stale
    when another variant has a later version (an edit, not its first text) made after the
    variant's current version. Versions the library loaded together are not compared."""
    current = current_versions(template)
    out: dict[str, list[StaleNote]] = {}
    for lang, mine in current.items():
        notes = []
        for other in current:
            if other == lang:
                continue
            later = [
                v
                for v in template.versions
                if v.language == other
                and v.number > 1
                and v.created_at > mine.created_at
                and not (v.note == BUILTIN_NOTE and mine.note == BUILTIN_NOTE)
            ]
            if later:
                first = min(later, key=lambda v: v.number)
                notes.append(StaleNote(lang, other, first.number))
        if notes:
            out[lang] = notes
    return out
