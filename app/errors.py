"""Domain errors: what went wrong, in words for a person, with the HTTP status it answers.

Services raise them; the web layer (app.web.errors) turns them into problem+json for the API and
an error page or toast for the web UI. Nothing here knows about HTTP frameworks or HTML.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        status: int | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotAuthenticated(DomainError):
    status = 401
    title = "Not authenticated"


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload too large"
