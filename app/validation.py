"""Types shared by every domain's input schemas.

Dates arrive from JSON, forms and query strings. Only the ISO form is a date here: pydantic
would otherwise read the number 0 as 1970-01-01 and "1/5/2010" not at all, and a year like
9999 overflows the arithmetic that follows (deadlines, entry into force).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_only(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO.fullmatch(value.strip()):
        return value.strip()
    raise ValueError("Write the date as YYYY-MM-DD, for example 2010-08-01.")


def _in_range(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"Give a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}.")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_only), AfterValidator(_in_range)]
