"""The Jinja sandbox user-editable letter templates run in, and the checks made before saving.

Templates run in ``ImmutableSandboxedEnvironment`` with autoescaping, no loader (no include,
import or extends of other files) and a plain-data context. Output is produced as a stream and
cut off at a size limit, so a runaway loop fails instead of filling memory.

Every bound a template meets, besides the renderer's time and memory limits:

* before compiling: ``MAX_SOURCE_CHARS`` of source, ``MAX_NODES`` syntax-tree nodes nested at most
  ``MAX_DEPTH`` deep; nothing is evaluated at compile time (no constant folding: filters and the
  intercepted operators always run in the renderer, never in the process that saves);
* while running: no string or list a template makes (by ``*``, ``+``, ``%``, ``~``, a filter or a
  string method) longer than ``MAX_VALUE``, checked *before* the allocation where the size can be
  worked out from the arguments (``center``, ``replace``, ``join``, ``indent``, ``wordwrap``,
  ``ljust``/``rjust``…); at most ``MAX_LOOP_TURNS`` loop turns and ``MAX_CALLS`` calls (macros,
  methods) in one render; numbers of at most ``MAX_INT_BITS`` bits.

A template that meets a bound raises ``LimitExceeded`` (a ``TemplateProblem``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.runtime import Context, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg
from markupsafe import Markup

from app.letters.fields import FIELDS, LIST_ITEMS, ROOTS
from app.letters.language.filters import FILTERS as LANGUAGE_FILTERS

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


_BUDGET: ContextVar[_Budget | None] = ContextVar("letter_render_budget", default=None)


@contextmanager
def _budget() -> Iterator[_Budget]:
    budget = _Budget()
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def _spend_call() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.calls -= 1
        if budget.calls < 0:
            raise LimitExceeded(
                f"The template makes more than {MAX_CALLS:,} calls (a macro calling itself?)"
            )


def _too_long(what: str) -> LimitExceeded:
    return LimitExceeded(f"{what} would be longer than the {MAX_VALUE:,}-character limit")


def _size(value: Any) -> int:
    if isinstance(value, (str, bytes, bytearray, list, tuple, dict, set, frozenset)):
        return len(value)
    return 0


def _sized(value: Any, what: str = "A value in the template") -> Any:
    """``value`` unless it is a string or collection past ``MAX_VALUE``."""
    if _size(value) > MAX_VALUE:
        raise _too_long(what)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise LimitExceeded("A number in the template is too large")
    return value


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _check_width(width: Any, what: str) -> None:
    if isinstance(width, int) and width > MAX_VALUE:
        raise _too_long(what)


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


def _check_percent(fmt: str) -> None:
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


def _check_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
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
            raise _too_long(what)
    elif name == "replace" and isinstance(owner, str):
        if _replaced_size(owner, arg(0, "old", ""), arg(1, "new", ""), arg(2, "count")) > MAX_VALUE:
            raise _too_long(what)
    elif name == "join" and args:
        items = args[0]
        if _size(items) > MAX_VALUE or (
            isinstance(items, (list, tuple)) and _joined_size(owner, list(items)) > MAX_VALUE
        ):
            raise _too_long(what)
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
            raise _too_long(what)
    elif name == "wordwrap":
        text = str(value)
        width = max(1, _int(arg(0, "width", 79), 79))
        wrap = arg(2, "wrapstring") or "\n"
        if len(text) + (len(text) // width + text.count("\n") + 1) * len(str(wrap)) > MAX_VALUE:
            raise _too_long(what)
    elif name == "replace":
        if _replaced_size(str(value), arg(0, "old", ""), arg(1, "new", ""), arg(2, "count")) > (
            MAX_VALUE
        ):
            raise _too_long(what)
    elif name == "join":
        if not isinstance(value, (str, list, tuple)) and isinstance(value, Iterable):
            value = list(value)
        if _size(value) > MAX_VALUE:
            raise _too_long(what)
        plain = isinstance(value, (list, tuple)) and arg(1, "attribute") is None
        if plain and _joined_size(arg(0, "d", ""), list(value)) > MAX_VALUE:
            raise _too_long(what)
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


def _guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
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
        return _sized(result, f"The result of the '{name}' filter")

    guarded.__name__ = getattr(func, "__name__", name)
    guarded.__doc__ = func.__doc__
    return guarded


# ----------------------------------------------------------------------------- the environment


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with the result of ``~`` measured like other operators."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.sized(")
        super().visit_Concat(node, frame)
        self.write(")")


class LetterSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with every operator that can make a large value bounded, loops
    counted, and nothing evaluated while compiling."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset(["*", "**", "+", "%", "//"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > 64:
                raise LimitExceeded("An exponent in the template is too large")
            ints = isinstance(left, int) and isinstance(right, int)
            if ints and left.bit_length() * abs(right) > MAX_INT_BITS:
                raise LimitExceeded("A number in the template is too large")
            return left**right
        if operator == "+":
            if _size(left) + _size(right) > MAX_VALUE:
                raise _too_long("The result of +")
            return _sized(left + right)
        if operator == "%":
            if isinstance(left, str):
                _check_percent(left)
            return _sized(left % right, "The result of %")
        if operator == "//":
            return left // right
        for seq, count in ((left, right), (right, left)):
            sized = isinstance(seq, (str, list, tuple)) and isinstance(count, int)
            if sized and len(seq) * count > MAX_SEQUENCE:
                raise LimitExceeded(
                    f"Not allowed in a letter template: repeated sequence too long (more than "
                    f"{MAX_SEQUENCE:,} characters or items)"
                )
        if isinstance(left, int) and isinstance(right, int) and max(abs(left), abs(right)) > 2**64:
            raise LimitExceeded("A number in the template is too large")
        return left * right

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _spend_call()
        _check_method(__obj, args, kwargs)
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def sized(self, value: Any) -> Any:
        """Called by the compiled template on the result of ``~``."""
        return _sized(value, "The result of ~")

    def loop_turns(self, iterable: Any) -> Iterator[Any]:
        """Called by the compiled template on what a ``for`` loops over: counts the turns."""
        budget = _BUDGET.get()
        for item in iterable:
            if budget is not None:
                budget.turns -= 1
                if budget.turns < 0:
                    raise LimitExceeded(
                        f"The template's loops run more than {MAX_LOOP_TURNS:,} times"
                    )
            yield item

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        for loop in source.find_all(nodes.For):
            loop.iter = nodes.Call(
                nodes.EnvironmentAttribute("loop_turns", lineno=loop.lineno),
                [loop.iter],
                [],
                None,
                None,
                lineno=loop.lineno,
            )
        return super()._generate(source, name, filename, defer_init)


def make_environment(**options: Any) -> LetterSandbox:
    env = LetterSandbox(
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[],
        optimized=False,  # no constant folding: nothing runs while a template is saved
        **options,
    )
    env.globals.clear()
    env.globals.update(ALLOWED_GLOBALS)
    # str.format and friends are refused by the sandbox; drop filters that reach objects.
    for name in ("attr", "map", "selectattr", "rejectattr", "groupby", "format", "xmlattr"):
        env.filters.pop(name, None)
    # The grammar of the letter's language: cases, articles, counts, dates (bounded, cached).
    env.filters.update(LANGUAGE_FILTERS)
    for name, func in list(env.filters.items()):
        env.filters[name] = _guarded_filter(name, func)
    return env


ENV = make_environment()


# ----------------------------------------------------------------------------- compile-time bounds


def _shape(tree: nodes.Node) -> tuple[int, int]:
    """Node count and depth of a syntax tree, walked without recursion (a deep tree would
    overflow the stack of a recursive walk, and of the compiler)."""
    count, deepest = 0, 0
    stack: list[tuple[nodes.Node, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        if count > MAX_NODES or deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return count, deepest


def parse(source: str) -> nodes.Template:
    """The template's syntax tree, once its source, size and nesting are within bounds."""
    if len(source) > MAX_SOURCE_CHARS:
        raise LimitExceeded(f"The template is longer than {MAX_SOURCE_CHARS:,} characters")
    try:
        tree = ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"Syntax error: {exc.message}", line=exc.lineno) from exc
    except RecursionError:
        raise LimitExceeded(
            f"The template is nested too deeply (more than {MAX_DEPTH} levels)"
        ) from None
    count, depth = _shape(tree)
    if count > MAX_NODES:
        raise LimitExceeded(f"The template has more than {MAX_NODES:,} parts; split it up")
    if depth > MAX_DEPTH:
        raise LimitExceeded(f"The template is nested too deeply (more than {MAX_DEPTH} levels)")
    return tree


@dataclass(frozen=True)
class _Scope:
    names: frozenset[str]
    items: dict[str, tuple[str, ...] | None]


def _dotted(node: nodes.Node) -> list[str] | None:
    """["recipient", "name"] for ``recipient.name`` or ``recipient['name']``; None otherwise."""
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if not isinstance(node.arg.value, str):
                return None
            parts.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            parts.append(node.name)
            return list(reversed(parts))
        else:
            return None


def _assigned_names(tree: nodes.Template) -> set[str]:
    names: set[str] = {"loop"}
    for node in tree.find_all((nodes.Name,)):
        if node.ctx in ("store", "param"):
            names.add(node.name)
    return names


def _loop_items(tree: nodes.Template) -> dict[str, tuple[str, ...] | None]:
    """Loop variables bound to a registered list field (``for line in recipient.address_block``)."""
    items: dict[str, tuple[str, ...] | None] = {}
    for loop in tree.find_all(nodes.For):
        path = _dotted(loop.iter)
        if path and ".".join(path) in LIST_ITEMS and isinstance(loop.target, nodes.Name):
            items[loop.target.name] = LIST_ITEMS[".".join(path)]
    return items


def check_fields(tree: nodes.Template) -> None:
    """Refuse merge fields that are not in the registry, naming the field and its line."""
    local = _assigned_names(tree)
    items = _loop_items(tree)
    seen: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        if id(node) in seen:
            continue
        path = _dotted(node)
        if path is None:
            continue
        # Mark the inner nodes of this chain as handled (find_all visits outermost first).
        inner: nodes.Node = node
        while isinstance(inner, (nodes.Getattr, nodes.Getitem)):
            inner = inner.node
            seen.add(id(inner))
        root = path[0]
        if isinstance(node, nodes.Name) and node.ctx != "load":
            continue
        if root in items:
            allowed = items[root]
            if len(path) > 1 and (allowed is None or path[1] not in allowed):
                raise TemplateProblem(
                    f"Unknown merge field '{'.'.join(path)}'",
                    line=node.lineno,
                    field=".".join(path),
                )
            continue
        if root in local:
            continue
        if root not in ROOTS:
            raise TemplateProblem(
                f"Unknown merge field '{'.'.join(path)}'", line=node.lineno, field=".".join(path)
            )
        name = ".".join(path[:2])
        if name not in FIELDS or (len(path) > 2 and name not in LIST_ITEMS):
            raise TemplateProblem(
                f"Unknown merge field '{'.'.join(path)}'", line=node.lineno, field=".".join(path)
            )


def check_source(source: str) -> None:
    """Parse, compile and check the fields of a template source; raise TemplateProblem.

    Nothing in the template runs here: sizes and nesting are checked on the syntax tree, and
    the environment folds no constants while compiling."""
    tree = parse(source)
    check_fields(tree)
    try:
        ENV.compile(tree)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"Syntax error: {exc.message}", line=exc.lineno) from exc
    except RecursionError:
        raise LimitExceeded("The template is nested too deeply") from None


@lru_cache(maxsize=64)
def _compiled(source: str) -> Template:
    """Compiled once per worker: a merge renders the same few sources hundreds of times."""
    tree = parse(source)
    try:
        return ENV.from_string(tree)
    except RecursionError:
        raise LimitExceeded("The template is nested too deeply") from None


_DELIMITER = re.compile(r"\{(?=[{%#])")


def literal_text(rendered: str) -> str:
    """Filled-in HTML made safe to store as a template: rendering it again gives the same
    text, because a "{" that opens a Jinja delimiter becomes the character reference "&#123;"."""
    return _DELIMITER.sub("&#123;", rendered)


LITERAL_BRACE = "{{ '{' }}"


def literal_plain(text: str) -> str:
    """The same for plain text (a subject): such a "{" becomes an expression printing "{"."""
    return _DELIMITER.sub(LITERAL_BRACE, text)


SUBJECT_CHARS = 500  # the letter's subject column


def own_text(subject: str, body: str) -> tuple[str, str]:
    """A filled-in subject (plain text) and text (HTML) as a letter keeps them: each renders to
    itself again, and the subject fits its column without cutting an escape in two."""
    kept = subject[:SUBJECT_CHARS]
    while len(literal_plain(kept)) > SUBJECT_CHARS:
        kept = kept[:-1]
    return literal_plain(kept), literal_text(body)


def render_capped(source: str, context: dict[str, Any], *, max_chars: int) -> Markup:
    """Render a user template in the sandbox; stop once the output passes ``max_chars``, or a
    loop, a call count or a value passes its bound (``LimitExceeded``)."""
    try:
        with _budget():
            template = _compiled(source)
            out: list[str] = []
            size = 0
            for chunk in template.generate(context):
                size += len(chunk)
                if size > max_chars:
                    raise OutputTooLarge(
                        f"The letter is longer than the {max_chars:,}-character limit "
                        "(a loop that never ends?)"
                    )
                out.append(chunk)
    except TemplateProblem:
        raise
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"Syntax error: {exc.message}", line=exc.lineno) from exc
    except SecurityError as exc:
        raise TemplateProblem(f"Not allowed in a letter template: {exc}") from exc
    except UndefinedError as exc:
        raise TemplateProblem(f"Missing value: {exc.message}") from exc
    except TemplateError as exc:
        raise TemplateProblem(f"Template error: {exc}") from exc
    except RecursionError:
        raise LimitExceeded(
            "The template calls itself too deeply (a macro that never stops?)"
        ) from None
    except MemoryError:
        raise LimitExceeded(
            "The template needed more memory than the memory limit allows"
        ) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, OverflowError) as exc:
        raise TemplateProblem(f"Template error: {type(exc).__name__}: {exc}") from exc
    return Markup("".join(out))  # noqa: S704 - autoescaped sandbox output


def _fields_in(node: nodes.Node, guarded: frozenset[str], out: dict[str, None]) -> None:
    if isinstance(node, nodes.Filter) and node.name == "default":
        return  # marked optional: `{{ x | default("…") }}`
    path = _dotted(node)
    if path is not None:
        name = ".".join(path[:2])
        if name in FIELDS and name not in guarded:
            out[name] = None
        return
    for child in node.iter_child_nodes():
        _fields_in(child, guarded, out)


def _tested(test: nodes.Node) -> frozenset[str]:
    names = set()
    found: list[nodes.Node] = [test, *test.find_all((nodes.Getattr, nodes.Getitem))]
    for node in found:
        path = _dotted(node)
        if path is not None:
            names.add(".".join(path[:2]))
    return frozenset(names)


def _walk_required(node: nodes.Node, guarded: frozenset[str], out: dict[str, None]) -> None:
    if isinstance(node, nodes.Output):
        for expr in node.nodes:
            if not isinstance(expr, nodes.TemplateData):
                _fields_in(expr, guarded, out)
        return
    if isinstance(node, nodes.If):
        inner = guarded | _tested(node.test)
        branches: list[tuple[list[nodes.Node], frozenset[str]]] = [
            (list(node.body), inner),
            ([*node.elif_, *node.else_], guarded),
        ]
        for body, names in branches:
            for part in body:
                _walk_required(part, names, out)
        return
    if isinstance(node, nodes.For):
        # A loop over an empty list prints nothing; its items are not fields of their own.
        return
    for child in node.iter_child_nodes():
        _walk_required(child, guarded, out)


@lru_cache(maxsize=256)
def required_fields(source: str) -> tuple[str, ...]:
    """Merge fields the template prints unconditionally and without ``| default(...)``: when one
    is empty for a recipient, the letter has a gap."""
    try:
        tree = parse(source)
    except TemplateProblem:
        return ()
    out: dict[str, None] = {}
    _walk_required(tree, frozenset(), out)
    return tuple(out)


@lru_cache(maxsize=256)
def used_roots(source: str) -> frozenset[str]:
    """The context groups a template reads (``organisations``, ``recipient``…)."""
    try:
        tree = parse(source)
    except TemplateProblem:
        return frozenset()
    return frozenset(
        node.name for node in tree.find_all(nodes.Name) if node.ctx == "load" and node.name in ROOTS
    )
