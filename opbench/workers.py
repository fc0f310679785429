"""Process pools for CPU-bound work (the data generators) that a killed run cannot orphan.

:func:`process_pool` is a :class:`~concurrent.futures.ProcessPoolExecutor` with two
differences from the default on Linux:

* **Spawned, not forked, workers.** A forked worker inherits every open descriptor of its
  parent, among them the cache lock that :func:`opbench.data.cache.ensure_generated` holds
  while it builds a dataset; a worker that outlives its parent keeps that lock, and the next
  run waits on it forever. A spawned worker is a fresh interpreter that inherits only the
  descriptors multiprocessing hands it on purpose. The costs: each worker starts an
  interpreter and imports what its tasks need (a second or two when torch is on the import
  path), once per pool; tasks and their arguments are pickled, so submit module-level
  functions (or :func:`functools.partial` of them); and each worker imports the main script
  as ``__mp_main__``, so a script that generates data must guard its entry point with
  ``if __name__ == "__main__":`` (:func:`starting_worker` lets code that would otherwise
  wait for its own parent refuse to run in that import).
* **Workers die with their parent.** A parent that is killed (SIGKILL, the OOM killer)
  cannot shut its pool down, and its idle workers would wait for tasks forever. On Linux each
  worker, before it takes a task, asks the kernel to SIGKILL it when its parent dies
  (``prctl(PR_SET_PDEATHSIG)``), and exits at once if the parent is already gone by then
  (it died while the worker started). Elsewhere only the second check is made.

  Caveat: the kernel sends that signal when the *thread* that started the worker exits, not
  the process, and ProcessPoolExecutor starts spawned workers from the thread that submits
  work. Create and use a pool from one thread that outlives it (the main thread, or within
  one function call as the generators do), never from a short-lived thread: its workers
  would be killed when it ends.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_PR_SET_PDEATHSIG = 1
"""From ``<linux/prctl.h>``."""


def _die_with_parent(
    parent: int, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]
) -> None:
    """Worker initializer: be killed with ``parent``, exit if it is gone, then ``initializer``."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), 0, 0, 0) != 0:
            error = ctypes.get_errno()
            warnings.warn(
                f"prctl(PR_SET_PDEATHSIG) failed ({os.strerror(error)}): this pool worker "
                "will outlive its parent if the parent is killed",
                RuntimeWarning,
                stacklevel=1,
            )
    # After the prctl: a parent that dies from here on kills us; one that died before is
    # noticed here (we were reparented).
    if os.getppid() != parent:
        os._exit(1)
    if initializer is not None:
        initializer(*initargs)


def process_pool(
    workers: int,
    *,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
    **kwargs: Any,
) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes that die with this process (module docstring).

    ``initializer(*initargs)`` runs in each worker after the parent checks; other keyword
    arguments go to :class:`~concurrent.futures.ProcessPoolExecutor` (not ``mp_context``).
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_die_with_parent,
        initargs=(os.getpid(), initializer, initargs),
        **kwargs,
    )


def starting_worker() -> bool:
    """Whether this process is a spawned worker still importing its parent's main script."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))
