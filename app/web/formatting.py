"""Template filters: dates, datetimes and counts written for people."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from babel.dates import format_date, format_datetime


def fmt_date(value: date | datetime | None, fmt: str = "medium", locale: str = "en_GB") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return _format_date(value, fmt, locale)


@lru_cache(maxsize=8192)
def _format_date(value: date, fmt: str, locale: str) -> str:
    # pages list the same few hundred dates (treaty actions, deadlines) over and over, and
    # Babel looks the locale's patterns up on every call
    return format_date(value, format=fmt, locale=locale)


def fmt_datetime(value: datetime | None, fmt: str = "medium", locale: str = "en_GB") -> str:
    if value is None:
        return ""
    return format_datetime(value, format=fmt, locale=locale, tzinfo=None)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


FILTERS: dict[str, Callable[..., Any]] = {
    "date": fmt_date,
    "datetime": fmt_datetime,
    "plural": plural,
}
