"""How errors reach the client, in one place: ``application/problem+json`` (RFC 9457) for the
API, an error page or an htmx toast for the web UI. ``install_error_handlers`` registers them on
the app: domain errors (app.errors), request validation, HTTP errors, the database or the data
directory going away, and anything unexpected (a logged 500).
"""

from __future__ import annotations

import errno
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import DomainError
from app.web.pages import render_error_page
from app.web.route_index import allowed_methods

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/healthz"


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        out.append({"field": ".".join(loc[1:] if len(loc) > 1 else loc), "message": err["msg"]})
    return out


STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR}
CONNECTION_MARKERS = (
    "connection refused",
    "server closed the connection",
    "terminating connection",
    "connection is closed",
    "could not connect",
    "the database system is",
    "connection failed",
    "consuming input failed",
    "database is locked",
)


def _is_connection(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(marker in text for marker in CONNECTION_MARKERS)


def install_error_handlers(app: FastAPI) -> None:
    def respond(
        request: Request,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if is_api(request):
            if status == 401:
                headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
            return problem(
                status,
                detail,
                title=title,
                instance=request.url.path,
                errors=errors,
                headers=headers,
            )
        return render_error_page(request, status, title or HTTPStatus(status).phrase, detail)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return respond(request, exc.status, exc.detail, title=exc.title, errors=exc.errors)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "Invalid request"
        return respond(request, 422, detail, title="Invalid input", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"Nothing is at {request.url.path}."
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            allow = allowed_methods(request.app, request.url.path)
            detail = (
                f"{request.method} is not allowed on {request.url.path}; use {', '.join(allow)}."
            )
            headers = {**(headers or {}), "Allow": ", ".join(allow)}
        return respond(request, exc.status_code, detail, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(
            request, 500, "An unexpected error occurred; it has been logged.", title="Server error"
        )

    async def number_out_of_range(request: Request, exc: Exception) -> Response:
        # A number beyond what the database column holds (SQLite: 64 bits, PostgreSQL: the
        # column's integer type) can only come from the request: an id or a count.
        if isinstance(exc, DBAPIError) and "out of range" not in str(exc.orig):
            return await unexpected_error(request, exc)
        return respond(
            request, 422, "A number in the request is out of range.", title="Invalid input"
        )

    async def database_unavailable(request: Request, exc: Exception) -> Response:
        # The database went away (restart, network, too many connections): the transaction was
        # rolled back, so nothing is half-written; the pool reconnects on the next request.
        if isinstance(exc, DBAPIError) and not (
            exc.connection_invalidated or isinstance(exc, InterfaceError) or _is_connection(exc)
        ):
            return await unexpected_error(request, exc)
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return respond(
            request,
            503,
            "The database is unavailable right now; nothing was saved. Try again in a moment.",
            title="Database unavailable",
            headers={"Retry-After": "5"},
        )

    async def storage_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, OSError) or exc.errno not in STORAGE_ERRNOS:
            return await unexpected_error(request, exc)
        log.error("cannot write data on %s %s: %s", request.method, request.url.path, exc)
        return respond(
            request,
            507,
            f"The server cannot write its data directory ({exc.strerror}); nothing was saved. "
            "An administrator needs to free space or fix the directory's permissions.",
            title="Storage unavailable",
        )

    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(InterfaceError, database_unavailable)
    app.add_exception_handler(OSError, storage_error)
    app.add_exception_handler(OverflowError, number_out_of_range)
    app.add_exception_handler(DataError, number_out_of_range)
