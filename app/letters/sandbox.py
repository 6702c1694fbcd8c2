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

A template that meets a bound raises ``LimitExceeded`` (a ``TemplateProblem``). The bounds, the
per-render budget and the guarded methods and filters are in ``limits``; which fields a template
reads is worked out in ``field_use``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.runtime import Context, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from app.letters.field_use import check_fields, walk_required
from app.letters.fields import ROOTS
from app.letters.language.filters import FILTERS as LANGUAGE_FILTERS
from app.letters.limits import (
    ALLOWED_GLOBALS,
    BUDGET,
    MAX_DEPTH,
    MAX_INT_BITS,
    MAX_LOOP_TURNS,
    MAX_NODES,
    MAX_SEQUENCE,
    MAX_SOURCE_CHARS,
    MAX_VALUE,
    LimitExceeded,
    OutputTooLarge,
    TemplateProblem,
    check_method,
    check_percent,
    guarded_filter,
    render_budget,
    size_of,
    sized_value,
    spend_call,
    too_long,
)

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
            if size_of(left) + size_of(right) > MAX_VALUE:
                raise too_long("The result of +")
            return sized_value(left + right)
        if operator == "%":
            if isinstance(left, str):
                check_percent(left)
            return sized_value(left % right, "The result of %")
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
        spend_call()
        check_method(__obj, args, kwargs)
        return sized_value(super().call(__context, __obj, *args, **kwargs))

    def sized(self, value: Any) -> Any:
        """Called by the compiled template on the result of ``~``."""
        return sized_value(value, "The result of ~")

    def loop_turns(self, iterable: Any) -> Iterator[Any]:
        """Called by the compiled template on what a ``for`` loops over: counts the turns."""
        budget = BUDGET.get()
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
        env.filters[name] = guarded_filter(name, func)
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
        with render_budget():
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


@lru_cache(maxsize=256)
def required_fields(source: str) -> tuple[str, ...]:
    """Merge fields the template prints unconditionally and without ``| default(...)``: when one
    is empty for a recipient, the letter has a gap."""
    try:
        tree = parse(source)
    except TemplateProblem:
        return ()
    out: dict[str, None] = {}
    walk_required(tree, frozenset(), out)
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
