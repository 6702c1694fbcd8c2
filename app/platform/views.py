"""Public platform routes: health check and the API documentation page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from app.platform import health
from app.web.templating import templates

router = APIRouter()


@router.get("/healthz", tags=["platform"], summary="Database, queue and PDF engine status")
def healthz() -> JSONResponse:
    body = health.report()
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


@router.get("/docs", include_in_schema=False)
def api_docs(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "platform/docs.html", {})
