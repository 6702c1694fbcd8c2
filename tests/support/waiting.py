"""Waiting for something another process or thread does: one polling loop for every test."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    check: Callable[[], T],
    timeout: float = 30,
    *,
    interval: float = 0.1,
    what: str | Callable[[], str] = "",
) -> T:
    """Calls ``check`` until it returns something true, and returns that; after ``timeout``
    seconds an AssertionError saying what was awaited (``what``: text, or a function giving it,
    e.g. the end of a server's log) and what the last call returned."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {said or check!r} (last: {result!r})"
            )
        time.sleep(interval)
