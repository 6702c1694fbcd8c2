"""Error pages for the web UI (a full page, or a toast for htmx)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from app.web.session import SESSION_USER_KEY
from app.web.templating import is_htmx, render, toast_header


def render_error_page(request: Request, status: int, title: str, detail: str) -> Response:
    if status == 401 and request.session.get(SESSION_USER_KEY) is None:
        target = "/login"
        if request.method == "GET" and request.url.path not in {"/", "/login"}:
            from urllib.parse import quote

            target += "?next=" + quote(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
        if request.headers.get("HX-Request") == "true":
            return HTMLResponse("", status_code=401, headers={"HX-Redirect": target})
        return HTMLResponse("", status_code=303, headers={"Location": target})
    if is_htmx(request):
        return HTMLResponse(
            "", status_code=status, headers=toast_header(f"{title}: {detail}", "error")
        )
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "detail": detail},
        status_code=status,
    )
