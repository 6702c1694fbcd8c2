"""Right-to-left lines laid out once, not twice.

WeasyPrint lays out each line in a loop (``layout.inline.get_next_linebox``) and stops when the
line's place, worked out again once its height is known, is where it started. A left-to-right
line compares its start edge and stops after one pass. A right-to-left line compares its start
edge plus its width with the starting edge plus the width the line had before the pass, and
that width is 0 on the first pass, so every right-to-left line is laid out a second time with
the same place and width, to the same result. That second pass is most of what an Arabic letter
costs over a Latin one.

``apply()`` rewrites that one comparison so a right-to-left line stops when its start edge, its
top and its available width are unchanged, the left-to-right rule mirrored (and stricter: a float
that narrows the line still brings another pass). The rewrite is made on WeasyPrint's own source
of the function, so nothing else about it changes; when the comparison is not found (another
WeasyPrint), nothing is patched and letters render as before, only slower. Tests render every
library letter both ways and require byte-identical PDFs, and require the rewrite to apply to
the installed WeasyPrint."""

from __future__ import annotations

import inspect
import logging
import textwrap
from collections.abc import Callable
from typing import Any

from weasyprint.layout import inline

log = logging.getLogger(__name__)

_RTL_CONDITION = """            condition = (position_x + line.width, position_y) == (
                original_position_x + original_width, original_position_y)"""
_MIRRORED = """            condition = (position_x, position_y, available_width) == (
                original_position_x, original_position_y, original_available_width)"""
# where the loop notes the line's place before a pass, it now notes its available width too
_NOTED = """        original_width = linebox.width\n"""
_NOTED_TOO = _NOTED + """        original_available_width = available_width\n"""

ORIGINAL: Callable[..., Any] = inline.get_next_linebox


def patched() -> Callable[..., Any] | None:
    """WeasyPrint's ``get_next_linebox`` with the right-to-left comparison mirrored, or None
    when its source does not hold that comparison."""
    try:
        source = textwrap.dedent(inspect.getsource(ORIGINAL))
    except (OSError, TypeError):
        return None
    if source.count(_RTL_CONDITION) != 1 or source.count(_NOTED) != 1:
        return None
    source = source.replace(_RTL_CONDITION, _MIRRORED).replace(_NOTED, _NOTED_TOO)
    namespace: dict[str, Any] = {}
    code = compile(source, inspect.getfile(ORIGINAL), "exec")
    exec(code, inline.__dict__, namespace)  # noqa: S102 - WeasyPrint's own source, one line changed
    function: Callable[..., Any] = namespace["get_next_linebox"]
    return function


def apply() -> bool:
    """Lay right-to-left lines out once from now on; False when this WeasyPrint cannot be."""
    if inline.get_next_linebox is not ORIGINAL:
        return True
    function = patched()
    if function is None:
        log.info(
            "WeasyPrint's line layout differs from the one known; right-to-left lines "
            "are laid out as WeasyPrint does it"
        )
        return False
    inline.get_next_linebox = function
    return True
