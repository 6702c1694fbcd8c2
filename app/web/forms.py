"""Form parsing: validate a submitted form with a pydantic schema, keep errors per field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from app.errors import DomainError
from app.web.session import CSRF_FIELD

SchemaT = TypeVar("SchemaT", bound=BaseModel)


async def form_data(request: Request) -> dict[str, Any]:
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form:
        if key == CSRF_FIELD:
            continue
        values = form.getlist(key)
        data[key] = values if len(values) > 1 else values[0]
    return data


FormDep = Annotated[dict[str, Any], Depends(form_data)]
"""The submitted form as a dict; lets views stay sync (run in the thread pool)."""


def validate(schema: type[SchemaT], data: dict[str, Any]) -> tuple[SchemaT | None, dict[str, str]]:
    """The parsed schema, or None and a message for each bad field."""
    try:
        return schema.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "__all__"
            message = err["msg"].removeprefix("Value error, ")
            errors.setdefault(field, message)
        return None, errors


def field_errors(exc: DomainError, rename: Mapping[str, str] | None = None) -> dict[str, str]:
    """A service's refusal for the form: each message beside the field it names (``rename``
    maps a service's field to the form's), and the whole reason above the form (``__all__``)."""
    out: dict[str, str] = {}
    for error in exc.errors:
        field = str(error.get("field") or "__all__")
        field = (rename or {}).get(field, field)
        if field != "__all__":
            out.setdefault(field, str(error.get("message") or exc.detail))
    out["__all__"] = exc.detail
    return out
