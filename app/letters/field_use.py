"""Which fields a letter template reads, found on its syntax tree: unknown fields are refused before
saving, and the fields a template needs (not guarded by a test or ``default``) are listed for
the merge to check.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import nodes

from app.letters.fields import FIELDS, LIST_ITEMS, ROOTS
from app.letters.limits import TemplateProblem


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


def walk_required(node: nodes.Node, guarded: frozenset[str], out: dict[str, None]) -> None:
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
                walk_required(part, names, out)
        return
    if isinstance(node, nodes.For):
        # A loop over an empty list prints nothing; its items are not fields of their own.
        return
    for child in node.iter_child_nodes():
        walk_required(child, guarded, out)
