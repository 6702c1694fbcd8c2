"""The bounds a letter template meets while it runs (a budget of loop turns and calls per render,
sizes estimated before a string or list is made, guarded methods and filters), and the errors
a template fails with. See ``sandbox`` for the whole list of bounds.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from jinja2.utils import _PassArg

MAX_SOURCE_CHARS = 200_000
MAX_NODES = 20_000  # syntax-tree nodes in one template (the library's largest has about 1,000)
MAX_DEPTH = 60  # nesting of blocks and expressions
MAX_VALUE = 500_000  # characters of a string, items of a list, that a template makes
MAX_SEQUENCE = 100_000  # characters or items repeated by ``*``
MAX_LOOP_TURNS = 1_000_000  # per render, all loops together
MAX_CALLS = 200_000  # per render: macro and method calls
MAX_INT_BITS = 4_096
# Globals a letter may use; Jinja's cycler/joiner/namespace/range/dict/lipsum are removed.
ALLOWED_GLOBALS: dict[str, Any] = {}


class TemplateProblem(Exception):
    """A template that cannot be saved or rendered; ``line`` is 1-based when known."""

    def __init__(self, message: str, *, line: int | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.field = field

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"{self.message}{where}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Crosses from the renderer process with its keyword arguments.
        return (_rebuild, (type(self), self.message, self.line, self.field))


def _rebuild(
    cls: type[TemplateProblem], message: str, line: int | None, field: str | None
) -> TemplateProblem:
    return cls(message, line=line, field=field)


class LimitExceeded(TemplateProblem):
    """A template stopped by one of the sandbox's bounds (size, loops, calls, nesting)."""


class OutputTooLarge(LimitExceeded):
    pass


# ----------------------------------------------------------------------------- the budget


@dataclass
class _Budget:
    """What one render may still spend; set by ``render_capped`` for the render's duration."""

    turns: int = MAX_LOOP_TURNS
    calls: int = MAX_CALLS


BUDGET: ContextVar[_Budget | None] = ContextVar("letter_render_budget", default=None)


@contextmanager
def render_budget() -> Iterator[_Budget]:
    budget = _Budget()
    token = BUDGET.set(budget)
    try:
        yield budget
    finally:
        BUDGET.reset(token)


def spend_call() -> None:
    budget = BUDGET.get()
    if budget is not None:
        budget.calls -= 1
        if budget.calls < 0:
            raise LimitExceeded(
                f"The template makes more than {MAX_CALLS:,} calls (a macro calling itself?)"
            )


def too_long(what: str) -> LimitExceeded:
    return LimitExceeded(f"{what} would be longer than the {MAX_VALUE:,}-character limit")


def size_of(value: Any) -> int:
    if isinstance(value, (str, bytes, bytearray, list, tuple, dict, set, frozenset)):
        return len(value)
    return 0


def sized_value(value: Any, what: str = "A value in the template") -> Any:
    """``value`` unless it is a string or collection past ``MAX_VALUE``."""
    if size_of(value) > MAX_VALUE:
        raise too_long(what)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise LimitExceeded("A number in the template is too large")
    return value


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _check_width(width: Any, what: str) -> None:
    if isinstance(width, int) and width > MAX_VALUE:
        raise too_long(what)


# ----------------------------------------------------------------------------- size estimates


def _replaced_size(text: str, old: Any, new: Any, count: Any) -> int:
    """The length ``text.replace(old, new, count)`` will have, without making it."""
    old, new = str(old), str(new)
    found = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _joined_size(separator: Any, items: list[Any]) -> int:
    parts = sum(len(x) if isinstance(x, str) else len(str(x)) for x in items)
    return parts + len(str(separator)) * max(0, len(items) - 1)


_FORMAT_SPEC = re.compile(
    r"%(?:\([^)]*\))?[#0\- +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?[hlL]?[a-zA-Z%]"
)


def check_percent(fmt: str) -> None:
    """``'%0999999999d' % 1`` allocates the width it asks for: widths and precisions stay small."""
    for match in _FORMAT_SPEC.finditer(fmt):
        for part in (match["width"], match["precision"]):
            if part == "*" or (part and int(part) > 1000):
                raise LimitExceeded("A %-format width in the template is too large")


def _check_format_string(fmt: str) -> None:
    """``'{:>999999999}'.format(x)`` likewise; a width taken from an argument is refused."""
    try:
        parts = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format raises its own error
    for _, _, spec, _ in parts:
        if not spec:
            continue
        if "{" in spec or any(int(n) > 1000 for n in re.findall(r"\d+", spec)):
            raise LimitExceeded("A format width in the template is too large")


def check_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before a string method runs: refuse the calls whose result would pass ``MAX_VALUE``."""
    method = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, (str, bytes, bytearray)):
        return
    name = getattr(method, "__name__", "")
    what = f"The result of .{name}()"

    def arg(i: int, key: str, default: Any = None) -> Any:
        return args[i] if len(args) > i else kwargs.get(key, default)

    if name in ("center", "ljust", "rjust", "zfill"):
        _check_width(arg(0, "width"), what)
    elif name == "expandtabs":
        tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
        size = len(owner) + tabs * _int(arg(0, "tabsize", 8), 8)
        if size > MAX_VALUE:
            raise too_long(what)
    elif name == "replace" and isinstance(owner, str):
        if _replaced_size(owner, arg(0, "old", ""), arg(1, "new", ""), arg(2, "count")) > MAX_VALUE:
            raise too_long(what)
    elif name == "join" and args:
        items = args[0]
        if size_of(items) > MAX_VALUE or (
            isinstance(items, (list, tuple)) and _joined_size(owner, list(items)) > MAX_VALUE
        ):
            raise too_long(what)
    elif name in ("format", "format_map") and isinstance(owner, str):
        _check_format_string(owner)
    elif name in ("translate", "maketrans"):
        raise LimitExceeded(f".{name}() is not available in letter templates")


# ----------------------------------------------------------------------------- filters


def _filter_precheck(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Refuse a filter call whose result would pass ``MAX_VALUE``; returns the value to filter
    (a one-pass iterable made a list, so it can be measured and still filtered)."""

    def arg(i: int, key: str, default: Any = None) -> Any:
        return args[i] if len(args) > i else kwargs.get(key, default)

    what = f"The result of the '{name}' filter"
    if name == "center":
        _check_width(arg(0, "width", 80), what)
    elif name == "indent":
        width = arg(0, "width", 4)
        text = str(value)
        per_line = len(width) if isinstance(width, str) else _int(width)
        if len(text) + (text.count("\n") + 1) * per_line > MAX_VALUE:
            raise too_long(what)
    elif name == "wordwrap":
        text = str(value)
        width = max(1, _int(arg(0, "width", 79), 79))
        wrap = arg(2, "wrapstring") or "\n"
        if len(text) + (len(text) // width + text.count("\n") + 1) * len(str(wrap)) > MAX_VALUE:
            raise too_long(what)
    elif name == "replace":
        if _replaced_size(str(value), arg(0, "old", ""), arg(1, "new", ""), arg(2, "count")) > (
            MAX_VALUE
        ):
            raise too_long(what)
    elif name == "join":
        if not isinstance(value, (str, list, tuple)) and isinstance(value, Iterable):
            value = list(value)
        if size_of(value) > MAX_VALUE:
            raise too_long(what)
        plain = isinstance(value, (list, tuple)) and arg(1, "attribute") is None
        if plain and _joined_size(arg(0, "d", ""), list(value)) > MAX_VALUE:
            raise too_long(what)
    elif name in ("slice", "batch"):
        count = arg(0, "slices" if name == "slice" else "linecount", 0)
        if isinstance(count, int) and count > MAX_SEQUENCE:
            raise LimitExceeded(f"The '{name}' filter is asked for too many parts")
    elif name == "truncate":
        _check_width(arg(0, "length", 255), what)
    elif name == "sum":
        start = arg(2, "start", 0)
        if not isinstance(start, (int, float)):
            raise LimitExceeded("The 'sum' filter adds up numbers only")
    return value


def guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """The filter with its size checks. Taking the context also means it never runs at compile
    time (Jinja folds a filter on constants while compiling, in the process that saves)."""
    pass_arg = _PassArg.from_obj(func)

    @pass_context
    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        value = _filter_precheck(name, value, args, kwargs)
        if pass_arg is _PassArg.context:
            result = func(context, value, *args, **kwargs)
        elif pass_arg is _PassArg.eval_context:
            result = func(context.eval_ctx, value, *args, **kwargs)
        elif pass_arg is _PassArg.environment:
            result = func(context.environment, value, *args, **kwargs)
        else:
            result = func(value, *args, **kwargs)
        return sized_value(result, f"The result of the '{name}' filter")

    guarded.__name__ = getattr(func, "__name__", name)
    guarded.__doc__ = func.__doc__
    return guarded
