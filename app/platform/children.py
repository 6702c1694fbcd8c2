"""Child processes (the renderer pools) that never outlive the process that started them.

They are forked from a fork server (multiprocessing's "forkserver"), one per process, started
the first time a child is needed. The fork server imports the modules ``context()`` names
before it forks anything, so a child starts with their work done (the renderers': WeasyPrint
loaded and warmed) instead of paying for it on every start: a renderer replaced after a
runaway letter, or a merge's pool, is ready at once.

Three guards, because a parent can end in three ways:

* killed outright (SIGKILL, out of memory): each child asks the kernel for SIGKILL when its
  parent goes (``prctl(PR_SET_PDEATHSIG)``), and exits at once if the parent is already gone by
  the time it asks. A child's parent is the fork server, and the fork server asks the same of
  this process (``fork_server_started``), so the kernel takes down the whole chain;
* stopped (SIGTERM, SIGINT, the end of ``serve`` or ``worker``): ``stop_all`` kills every child's
  process group, so whatever a child started goes with it;
* mid-spawn: once stopping, no new child starts.

The kernel sends the parent-death signal when the *thread* that started the child ends, not
the process: web requests run on pooled threads that come and go, so every child is started
from one long-lived thread of its own (``_Starter``).

Use ``context()`` as the ``mp_context`` of a ProcessPoolExecutor.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import contextlib
import ctypes
import logging
import os
import queue
import resource
import signal
import sys
import threading
import weakref
from collections.abc import Callable
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext, ForkServerProcess
from typing import Any, TypeVar

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1
T = TypeVar("T")


class Stopping(RuntimeError):
    """No child starts while the process is stopping."""


# Loaded once at import: a child calls it between fork and exec, where nothing may lock.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def die_with_parent(parent_pid: int, *, own_group: bool = True) -> None:
    """In a child: be killed when the parent dies, and (unless the caller already started a
    new session) lead a process group of one's own. System calls only, so it is safe as a
    ``preexec_fn`` between fork and exec as well as at the start of a child's main."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)
    if own_group:
        with contextlib.suppress(OSError):  # already a session or group leader
            os.setpgid(0, 0)


def limit_resources(*, memory_bytes: int, cpu_seconds: int, file_bytes: int | None = None) -> None:
    """In a child: caps on address space, CPU time (SIGXCPU, then SIGKILL a second later),
    written file size, and no core dump. System calls only, like ``die_with_parent``."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    if file_bytes is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class _Starter:
    """One long-lived daemon thread that starts every child (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue[tuple[Callable[[], Any], cf.Future[Any]]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None

    def call(self, fn: Callable[[], T]) -> T:
        if threading.current_thread() is self._thread:
            return fn()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._serve, name="child-starter", daemon=True
                )
                self._thread.start()
        future: cf.Future[T] = cf.Future()
        self._requests.put((fn, future))
        return future.result()

    def _serve(self) -> None:
        while True:
            fn, future = self._requests.get()
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                future.set_exception(exc)

    def reset(self) -> None:
        """After fork: the thread did not come along."""
        self._lock = threading.Lock()
        self._requests = queue.SimpleQueue()
        self._thread = None


_starter = _Starter()
_children: weakref.WeakValueDictionary[int, ChildProcess] = weakref.WeakValueDictionary()
_stopping = threading.Event()


class ChildProcess(ForkServerProcess):
    """A process forked by this process's fork server that dies with it and is known to
    ``stop_all``."""

    def start(self) -> None:
        if _stopping.is_set():
            raise Stopping("the process is stopping; no new child process is started")
        _starter.call(self._start)
        if self.pid is not None:
            _children[self.pid] = self

    def _start(self) -> None:
        # The child's parent is the fork server: the pid it checks once it has asked to die
        # with its parent (multiprocessing keeps the server's pid in a private attribute).
        forkserver.ensure_running()
        self._demarche_parent = forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
        super().start()

    def run(self) -> None:
        die_with_parent(self._demarche_parent)
        super().run()


class _Context(ForkServerContext):
    Process = ChildProcess


_CONTEXT = _Context()
_SERVER_COMMAND = "from multiprocessing.forkserver import main"


def context(*preload: str) -> ForkServerContext:
    """The multiprocessing context for pools whose processes must die with this one.

    ``preload``: modules the fork server imports before it forks a child (one fork server per
    process, so every caller must name the same modules). Such a module calls
    ``fork_server_started()`` first, then does the work every child would otherwise repeat.
    """
    _CONTEXT.set_forkserver_preload(list(preload))
    return _CONTEXT


def in_fork_server() -> bool:
    """Whether this process is a fork server (its preloaded modules act only there)."""
    return _SERVER_COMMAND in " ".join(sys.orig_argv)


def fork_server_started() -> None:
    """In the fork server, before anything else: die with the process that started it, as its
    children die with it. It was started from that process's starter thread, which lives as
    long as the process (see the module docstring)."""
    die_with_parent(os.getppid(), own_group=False)


def stopping() -> bool:
    return _stopping.is_set()


def live_children() -> list[int]:
    return [pid for pid, child in list(_children.items()) if child.is_alive()]


def stop_all(timeout: float = 5.0) -> int:
    """Kill every child (and its process group) and wait for them; returns how many there were.
    From now on no child starts."""
    _stopping.set()
    children = [c for c in list(_children.values()) if c.is_alive()]
    for child in children:
        assert child.pid is not None
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:  # not yet its own group leader
            try:
                os.kill(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        except PermissionError:
            continue
    for child in children:
        child.join(timeout)
    if children:
        log.info("stopped %d child process(es)", len(children))
    return len(children)


def _after_fork_in_child() -> None:
    _starter.reset()
    _children.clear()
    _stopping.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(stop_all)
