"""Page/limit parsing shared by list views and list endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query

from app.config import get_settings


@dataclass(frozen=True)
class PageParams:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1")] = 1,
    per_page: Annotated[int, Query(ge=1, le=200, description="Items per page (at most 200)")] = 50,
) -> PageParams:
    return PageParams(page=page, per_page=min(per_page, get_settings().page_size_max))


Paging = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True)
class Page:
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_query(values: dict[str, Any]) -> str:
    """The filters a list's page links carry, URL-encoded, blank ones left out."""
    return urlencode({k: v for k, v in values.items() if v not in ("", None)})
