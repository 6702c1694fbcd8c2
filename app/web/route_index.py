"""Every route of the app, through included routers: for `Allow` headers and route audits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from starlette.routing import compile_path


def iter_routes(app: Any) -> Iterator[tuple[str, str, bool]]:
    """(method, path, include_in_schema) for every route."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str, bool]]:
        for route in routes:
            original = getattr(route, "original_router", None)
            if original is not None:
                yield from walk(original.routes, prefix + route.include_context.prefix)
            elif getattr(route, "methods", None):
                for method in sorted(route.methods - {"HEAD"}):
                    yield method, prefix + route.path, getattr(route, "include_in_schema", True)

    yield from walk(app.routes, "")


def allowed_methods(app: Any, path: str) -> list[str]:
    """The methods some route accepts at ``path`` (for a 405's ``Allow`` header)."""
    index = getattr(app.state, "route_regexes", None)
    if index is None:
        index = [(compile_path(p)[0], m) for m, p, _ in iter_routes(app)]
        app.state.route_regexes = index
    methods = {method for regex, method in index if regex.match(path)}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)
