"""Test-only fault injection, for the tests that kill real workers at a chosen point of a job.

``DEMARCHE_TEST_CRASH_AT=<point>:<n>`` ends the process (exit status 137, as after SIGKILL) the
n-th time it reaches ``point``; ``DEMARCHE_TEST_HANG_AT=<point>:<n>`` stops the job there for
good, as a stuck worker would, for the test to kill it from outside. Both are ignored unless
DEMARCHE_ENV=test."""

from __future__ import annotations

import os
import threading

from app.config import get_settings

_lock = threading.Lock()


def _reached(variable: str, point: str) -> bool:
    spec = os.environ.get(variable, "")
    if not spec.startswith(point + ":") or get_settings().env != "test":
        return False
    with _lock:
        counter = f"_DEMARCHE_FAULT_{variable}_{point}"
        count = int(os.environ.get(counter, "0")) + 1
        os.environ[counter] = str(count)
    return count >= int(spec.split(":", 1)[1])


def fault(point: str) -> None:
    if _reached("DEMARCHE_TEST_CRASH_AT", point):
        os._exit(137)
    if _reached("DEMARCHE_TEST_HANG_AT", point):
        threading.Event().wait()
