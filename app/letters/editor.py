"""What the template editor shows: each field with an example in the variant's language, the
filters, a variant's version history with who wrote each version, diffs between versions,
restoring one, and translations older than the variant they were made from.
"""

from __future__ import annotations

import copy
import difflib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from babel.core import Locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.errors import Conflict, NotFound
from app.letters.context import LANGUAGES, language_or_default, sample_context
from app.letters.fields import FIELDS, FILTERS
from app.letters.limits import TemplateProblem
from app.letters.schemas import VariantSave
from app.letters.service import (
    BUILTIN_NOTE,
    add_version,
    check_variant,
    current_versions,
    get,
    get_version,
)
from app.models import LetterTemplate, TemplateVersion, User

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
        version = add_version(
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
