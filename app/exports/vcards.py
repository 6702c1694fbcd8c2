"""vCard 4.0 (RFC 6350) of a person or an organisation, written with vobject.

vobject gives each card its form: a property's name and parameters are a vobject ``ContentLine``
serialised by vobject, the address is vobject's ``Address``, the parts of N and ADR come in
vobject's orders and every value is escaped by vobject's ``backslashEscape``. vobject's own
serialiser builds, re-validates and re-decodes a whole component for every card, far more than
an export of 100,000 cards can spend on each, so a property's head is serialised once and kept
(``_head``) and each card only encodes its values.

Lines are folded here, by octets: vobject folds a line shorter than 75 characters never, and a
name of 40 Cyrillic characters is already longer than the 75 octets RFC 6350 3.2 allows.

Imported by the export helper process too (``batches``), which starts without ``site``: only the
standard library, vobject and ``app.contacts.names``."""

from __future__ import annotations

from datetime import datetime
from functools import cache, lru_cache
from typing import Any, TypeVar

from vobject.base import ContentLine, backslashEscape, defaultSerialize
from vobject.vcard import ADDRESS_ORDER, Address

from app.contacts.names import NAME_FORM_LANGUAGES, name_forms_of, organisation_forms_of

__all__ = ["Address", "address_of", "vcard_of"]

T = TypeVar("T")


@cache
def _head(name: str, *params: tuple[str, str]) -> str:
    """``NAME;PARAM=value…:`` as vobject writes it (parameters sorted and quoted its way)."""
    # typeshed's stub says a dict; ContentLine reads its params as [name, value...] lists
    line = ContentLine(name, [list(p) for p in params], "", encoded=True)  # type: ignore[arg-type]
    written: str = defaultSerialize(line, None, 1_000)
    return written.removesuffix("\r\n")


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continuation lines start with a space (RFC 6350 3.2)."""
    if len(line) <= 75 and (line.isascii() or len(line.encode()) <= 75):
        return line + "\r\n"
    parts: list[str] = []
    current = ""
    size = 0
    limit = 75
    for ch in line:
        n = len(ch.encode())
        if size + n > limit:
            parts.append(current)
            current, size, limit = "", 0, 74
        current += ch
        size += n
    parts.append(current)
    return "\r\n ".join(parts) + "\r\n"


# vobject's text escaping, remembered: most parts of a card (empty ones, countries, cities,
# organisations, titles) recur from card to card.
_text = lru_cache(maxsize=1 << 14)(backslashEscape)


def _fields(*parts: str) -> str:
    """A structured value (N, ADR, ORG) as vobject's ``serializeFields`` writes a list."""
    return ";".join([_text(p) for p in parts])


def _name(*, family: str, given: str, additional: str = "", prefix: str = "") -> str:
    """N, its parts in vobject's ``NAME_ORDER`` (family, given, additional, prefix, suffix)."""
    return _fields(family, given, additional, prefix, "")


def address_of(
    street: str | None, city: str | None, region: str | None, code: str | None, country: str | None
) -> Address:
    """A postal address as vobject holds it; a missing part is empty."""
    return Address(
        street=street or "",
        city=city or "",
        region=region or "",
        code=code or "",
        country=country or "",
    )


def _in_order(forms: dict[str, T]) -> dict[str, T]:
    """Name forms in the order of ``NAME_FORM_LANGUAGES``."""
    return {lang: forms[lang] for lang in NAME_FORM_LANGUAGES if lang in forms}


_ALT = ("ALTID", "1")
_WORK = ("TYPE", "work")
# The heads every card may use, written once; alternatives in other languages are written as
# they come (``_head`` keeps them).
_VERSION = _head("VERSION") + "4.0"
_KIND = {True: _head("KIND") + "individual", False: _head("KIND") + "org"}
_FN, _FN_ALT = _head("FN"), _head("FN", _ALT)
_N, _N_ALT = _head("N"), _head("N", _ALT)
_ORG, _ORG_ALT = _head("ORG"), _head("ORG", _ALT)
_NATIVE, _NICKNAME = _head("X-NATIVE-NAME"), _head("NICKNAME")
_TITLE, _EMAIL = _head("TITLE"), _head("EMAIL", _WORK)
_TEL = _head("TEL", ("VALUE", "uri"), _WORK) + "tel:"
_ADR, _LANG, _UID, _REV = _head("ADR", _WORK), _head("LANG"), _head("UID"), _head("REV")


def vcard_of(
    *,
    kind: str,
    id: int | str,
    person: bool,
    honorific: str,
    given_name: str,
    family_name: str,
    display_name: str,
    native_name: str,
    organisation: str,
    title: str,
    email: str,
    phone: str,
    address: Address | None,
    language: str,
    updated_at: datetime | None = None,
    name_forms: Any = None,
    organisation_forms: Any = None,
) -> str:
    """A vCard 4.0. Names in other scripts (``name_forms``, ``organisation_forms``) are
    alternatives of FN, N and ORG (RFC 6350 5.4: the same ALTID, each with its LANGUAGE)."""
    forms = _in_order(name_forms_of(name_forms)) if person and name_forms else {}
    org_forms = _in_order(organisation_forms_of(organisation_forms)) if organisation_forms else {}
    lines = ["BEGIN:VCARD", _VERSION, _KIND[person]]
    fn = display_name or organisation or native_name or "—"
    lines.append((_FN_ALT if forms else _FN) + _text(fn))
    for lang, form in forms.items():
        lines.append(_head("FN", _ALT, ("LANGUAGE", lang)) + _text(form.full()))
    if native_name and native_name != fn:
        native = _text(native_name)
        lines.append(_NATIVE + native)
        lines.append(_NICKNAME + native)
    if person:
        n = _name(family=family_name, given=given_name, prefix=honorific)
        lines.append((_N_ALT if forms else _N) + n)
        for lang, f in forms.items():
            n = _name(family=f.family, given=f.given, additional=f.patronymic)
            lines.append(_head("N", _ALT, ("LANGUAGE", lang)) + n)
    if organisation:
        lines.append((_ORG_ALT if org_forms else _ORG) + _fields(organisation))
        for lang, name in org_forms.items():
            lines.append(_head("ORG", _ALT, ("LANGUAGE", lang)) + _fields(name))
    if title:
        lines.append(_TITLE + _text(title))
    if email:
        lines.append(_EMAIL + _text(email))
    if phone:
        lines.append(_TEL + phone)
    if address is not None:
        # structured only: phones and mail clients lay it out themselves (a formatted LABEL
        # would cost the country-rule formatting on every card)
        lines.append(_ADR + _fields(*[getattr(address, f) for f in ADDRESS_ORDER]))
    if language:
        lines.append(_LANG + _text(language))
    lines.append(f"{_UID}urn:demarche:{kind}:{id}")
    if updated_at is not None:
        lines.append(_REV + updated_at.strftime("%Y%m%dT%H%M%SZ"))
    lines.append("END:VCARD")
    return "".join([_fold(line) for line in lines])
