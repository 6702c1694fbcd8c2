"""A person's or an organisation's name in other languages' scripts (``name_forms``).

Only the standard library is imported here: the vCard helper process of exports
(``app.exports.batches``) renders these forms too."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# --- names in other scripts --------------------------------------------------------------------

NAME_FORM_LANGUAGES = ("en", "fr", "es", "ru", "ar", "zh")
NAME_PARTS = ("given", "patronymic", "family")
NAME_PART_MAX = 120
ORGANISATION_FORM_MAX = 200


@dataclass(frozen=True, slots=True)
class NameForm:
    """A person's name in one language's script."""

    given: str = ""
    patronymic: str = ""
    family: str = ""
    language: str = ""

    def full(self) -> str:
        """The name as written in running text: Chinese writes a foreign name given·family;
        the others given, patronymic, family with spaces."""
        if self.language == "zh":
            return "·".join(p for p in (self.given, self.family) if p)
        return " ".join(p for p in (self.given, self.patronymic, self.family) if p)


def name_forms_of(raw: Mapping[str, Any] | None) -> dict[str, NameForm]:
    """A person's stored forms, per language (the Latin name is not among them)."""
    out: dict[str, NameForm] = {}
    for lang, parts in (raw or {}).items():
        if lang in NAME_FORM_LANGUAGES and isinstance(parts, Mapping):
            given, patronymic, family = (str(parts.get(p) or "").strip() for p in NAME_PARTS)
            form = NameForm(given, patronymic, family, lang)
            if form.full():
                out[lang] = form
    return out


def person_forms_dict(raw: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """A person's stored forms as plain data: per language, the parts given."""
    return {
        lang: {part: getattr(form, part) for part in NAME_PARTS if getattr(form, part)}
        for lang, form in name_forms_of(raw).items()
    }


def organisation_forms_of(raw: Mapping[str, Any] | None) -> dict[str, str]:
    """An organisation's stored names, per language."""
    return {
        lang: str(name).strip()
        for lang, name in (raw or {}).items()
        if lang in NAME_FORM_LANGUAGES and isinstance(name, str) and name.strip()
    }


def name_in(forms: Mapping[str, Any] | None, language: str, *, given: str, family: str) -> NameForm:
    """The person's name for a letter in ``language``: its stored form, else the Latin one."""
    lang = language.split("-")[0].lower()
    form = name_forms_of(forms).get(lang)
    return form or NameForm(given=given, family=family, language=lang)


def name_form_texts(
    person_forms: Mapping[str, Any] | None, organisation_forms: Mapping[str, Any] | None
) -> list[str]:
    """Every stored name form as text (for search)."""
    texts = [f.full() for f in name_forms_of(person_forms).values()]
    return texts + list(organisation_forms_of(organisation_forms).values())
