"""Loaded by the renderers' fork server before it forks any renderer child
(``render.renderer_pool``, ``app.platform.children``): the fork server first binds its life to
the process that started it, then loads WeasyPrint and typesets a letter in each script
(``render.warm_up``). Every renderer it forks starts with that done, so its first letter's time
limit is spent on the letter.

Imported anywhere but in a fork server, it does nothing.
"""

from __future__ import annotations

import logging

from app.platform import children

log = logging.getLogger(__name__)

if children.in_fork_server():
    children.fork_server_started()
    from app.letters import render

    try:
        render.warm_up()
    except Exception:  # noqa: BLE001 - each child warms up on its own instead
        log.warning("the renderers' fork server could not warm up", exc_info=True)
