"""The Jinja sandbox user-editable letter templates run in, and the checks made before saving.

Templates run in ``ImmutableSandboxedEnvironment`` with autoescaping, no loader (no include,
import or extends of other files) and a plain-data context. Output is produced as a stream and
cut off at a size limit, so a runaway loop fails instead of filling memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.runtime import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from app.letters.fields import FIELDS, LIST_ITEMS, ROOTS
from app.letters.language.filters import FILTERS as LANGUAGE_FILTERS

MAX_SOURCE_CHARS = 200_000
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


class OutputTooLarge(TemplateProblem):
    pass


MAX_SEQUENCE = 100_000


class LetterSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus a bound on ``*`` and ``**`` (``'x' * 10**9`` allocates)."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > 64:
                raise SecurityError("exponent too large")
            return left**right
        for seq, count in ((left, right), (right, left)):
            sized = isinstance(seq, (str, list, tuple)) and isinstance(count, int)
            if sized and len(seq) * count > MAX_SEQUENCE:
                raise SecurityError("repeated sequence too long")
        if isinstance(left, int) and isinstance(right, int) and max(abs(left), abs(right)) > 2**64:
            raise SecurityError("number too large")
        return left * right


def make_environment(**options: Any) -> LetterSandbox:
    env = LetterSandbox(
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[],
        **options,
    )
    env.globals.clear()
    env.globals.update(ALLOWED_GLOBALS)
    # str.format and friends are refused by the sandbox; drop filters that reach objects.
    for name in ("attr", "map", "selectattr", "rejectattr", "groupby", "format", "xmlattr"):
        env.filters.pop(name, None)
    # The grammar of the letter's language: cases, articles, counts, dates (bounded, cached).
    env.filters.update(LANGUAGE_FILTERS)
    return env


ENV = make_environment()


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
    """Parse, compile and check the fields of a template source; raise TemplateProblem."""
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateProblem(f"The template is longer than {MAX_SOURCE_CHARS:,} characters")
    try:
        tree = ENV.parse(source)
        check_fields(tree)
        ENV.compile(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"Syntax error: {exc.message}", line=exc.lineno) from exc


@lru_cache(maxsize=64)
def _compiled(source: str) -> Template:
    """Compiled once per worker: a merge renders the same few sources hundreds of times."""
    return ENV.from_string(source)


_DELIMITER = re.compile(r"\{(?=[{%#])")


def literal_text(rendered: str) -> str:
    """Filled-in HTML made safe to store as a template: rendering it again gives the same
    text, because a "{" that opens a Jinja delimiter becomes the character reference "&#123;"."""
    return _DELIMITER.sub("&#123;", rendered)


def literal_plain(text: str) -> str:
    """The same for plain text (a subject): such a "{" becomes an expression printing "{"."""
    return _DELIMITER.sub("{{ '{' }}", text)


SUBJECT_CHARS = 500  # the letter's subject column


def own_text(subject: str, body: str) -> tuple[str, str]:
    """A filled-in subject (plain text) and text (HTML) as a letter keeps them: each renders to
    itself again, and the subject fits its column without cutting an escape in two."""
    kept = subject[:SUBJECT_CHARS]
    while len(literal_plain(kept)) > SUBJECT_CHARS:
        kept = kept[:-1]
    return literal_plain(kept), literal_text(body)


def render_capped(source: str, context: dict[str, Any], *, max_chars: int) -> Markup:
    """Render a user template in the sandbox; stop once the output passes ``max_chars``."""
    try:
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
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"Syntax error: {exc.message}", line=exc.lineno) from exc
    except SecurityError as exc:
        raise TemplateProblem(f"Not allowed in a letter template: {exc}") from exc
    except UndefinedError as exc:
        raise TemplateProblem(f"Missing value: {exc.message}") from exc
    except TemplateError as exc:
        raise TemplateProblem(f"Template error: {exc}") from exc
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
        tree = ENV.parse(source)
    except TemplateSyntaxError:
        return ()
    out: dict[str, None] = {}
    _walk_required(tree, frozenset(), out)
    return tuple(out)


@lru_cache(maxsize=256)
def used_roots(source: str) -> frozenset[str]:
    """The context groups a template reads (``organisations``, ``recipient``…)."""
    try:
        tree = ENV.parse(source)
    except TemplateSyntaxError:
        return frozenset()
    return frozenset(
        node.name for node in tree.find_all(nodes.Name) if node.ctx == "load" and node.name in ROOTS
    )
