"""Jinja2 for the web UI: one environment, full pages or htmx fragments, flash messages."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.datastructures import URL

from app.config import PROJECT_ROOT
from app.web import formatting
from app.web.session import csrf_token

templates = Jinja2Templates(directory=str(PROJECT_ROOT / "app" / "templates"))
templates.env.filters.update(formatting.FILTERS)
templates.env.globals["nav_sections"] = []  # filled by app.main with (label, route name, min role)

FLASH_KEY = "flash"


_URLS: dict[tuple[int, str, str, tuple[Any, ...]], tuple[Any, URL]] = {}
_URLS_MAX = 16_384
_BASE = "demarche.base_url"


def url_for(request: Request, name: str, /, **path_params: Any) -> URL:
    """``request.url_for``, remembered: the routes never change once the app runs, and finding
    a route by name walks them all (a table of 200 countries with links spent a fifth of its
    time there)."""
    scope = request.scope
    provider = scope.get("router") or scope.get("app")
    base = scope.get(_BASE)
    if base is None:  # request.base_url builds a new URL on every access
        base = scope[_BASE] = str(request.base_url)
    try:
        # the keywords come in the order of their call site: no need to sort them
        key = (id(provider), base, name, tuple(path_params.items()))
        hit = _URLS.get(key)
    except TypeError:  # an unhashable parameter: no memory
        return request.url_for(name, **path_params)
    if hit is not None and hit[0] is provider:
        return hit[1]
    url = request.url_for(name, **path_params)
    if len(_URLS) >= _URLS_MAX:
        _URLS.clear()
    _URLS[key] = (provider, url)
    return url


@pass_context
def _template_url_for(context: dict[str, Any], name: str, /, **path_params: Any) -> URL:
    return url_for(context["request"], name, **path_params)


templates.env.globals["url_for"] = _template_url_for


def warm_up() -> None:
    """Compile every page template now, at start, rather than in a visitor's first request
    (once per worker process: the environment's cache holds them)."""
    for name in templates.env.list_templates(extensions=["html"]):
        templates.env.get_template(name)


def flash(request: Request, message: str, category: str = "success") -> None:
    messages = list(request.session.get(FLASH_KEY, []))
    messages.append({"message": message, "category": category})
    request.session[FLASH_KEY] = messages[-5:]


def pop_flashes(request: Request) -> list[dict[str, str]]:
    return list(request.session.pop(FLASH_KEY, []))


def is_htmx(request: Request) -> bool:
    return (
        request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
    )


def _context(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    ctx = {"request": request, "user": getattr(request.state, "user", None)}
    ctx["csrf_token"] = csrf_token(request)
    ctx.update(context)
    return ctx


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    block: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A full page, or only ``block`` of it when htmx asks for a fragment."""
    ctx = _context(request, context or {})
    if block and is_htmx(request):
        template = templates.env.get_template(name)
        html = "".join(template.blocks[block](template.new_context(ctx)))
        return HTMLResponse(html, status_code=status_code, headers=headers)
    ctx["flashes"] = pop_flashes(request)
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)


def toast_header(message: str, category: str = "success") -> dict[str, str]:
    """An ``HX-Trigger`` header that shows a toast after an htmx request."""
    return {"HX-Trigger": json.dumps({"toast": {"message": message, "category": category}})}


def redirect(request: Request, url: str, *, message: str | None = None) -> HTMLResponse:
    """After a successful form: a 303 for plain forms, ``HX-Redirect`` for htmx."""
    if message:
        flash(request, message)
    if request.headers.get("HX-Request") == "true":
        return HTMLResponse("", status_code=204, headers={"HX-Redirect": url})
    return HTMLResponse("", status_code=303, headers={"Location": url})
