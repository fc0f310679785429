"""Where generated data lives.

Generated datasets are cached under ``$OPBENCH_HOME/data/<family>/<config>-<key>/``
(default: the user cache directory, ``~/.cache/opbench`` on Linux), where ``key`` hashes
everything that determines the files (generator version, config, sizes, seed). A dataset
is built in a temporary directory and renamed into place when complete, under a file lock,
so concurrent runs generate it once. A run that waits for another's lock says so (logger
``opbench.data.cache``, level INFO); a killed run's temporary directory is removed by the
next run that builds the dataset. The generators' worker processes die with the run
(:mod:`opbench.workers`), so a killed run leaves no process behind that holds the lock.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs
from filelock import FileLock, Timeout

from opbench.io import stable_hash
from opbench.workers import starting_worker

log = logging.getLogger(__name__)

SIDECAR = "opbench.json"
"""Name of the sidecar file that marks a dataset directory as opbench-generated."""


def opbench_home() -> Path:
    """``$OPBENCH_HOME``, default the platform's user cache directory for opbench
    (``platformdirs.user_cache_dir``: ``~/.cache/opbench`` on Linux)."""
    home = os.environ.get("OPBENCH_HOME") or platformdirs.user_cache_dir("opbench")
    return Path(home).expanduser()


def generated_root(family: str, config: str, key: dict[str, Any]) -> Path:
    """The cache root (the directory that holds ``<config>/``) for one generated dataset."""
    return opbench_home() / "data" / family / f"{config}-{stable_hash(key)}"


def ensure_generated(root: Path, build: Callable[[Path], None]) -> Path:
    """Return ``root``, building it first with ``build(tmp_root)`` if it does not exist yet.

    Under the lock ``root.parent/.<root.name>.lock``: ``build`` writes into a new temporary
    directory ``root.parent/.<root.name>.XXXXXXXX``, which is renamed to ``root`` when it
    returns (and removed if it raises). Temporary directories of killed builds are removed
    first: holding the lock, no live process is writing them.
    """
    if root.is_dir():
        return root
    if starting_worker():  # it would wait for the lock its parent holds, forever
        raise RuntimeError(
            f"asked to generate {root} while this worker process imports the main script: "
            'guard the script\'s entry point with `if __name__ == "__main__":` (opbench '
            "generates data in spawned worker processes, which import the main script)"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    lock_path = root.parent / f".{root.name}.lock"
    lock = FileLock(lock_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info(
            "waiting for another process to finish generating %s (it holds the lock %s)",
            root,
            lock_path,
        )
        lock.acquire()
    try:
        if root.is_dir():  # another process built it while we waited
            return root
        _remove_stale_builds(root)
        tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
        log.info("generating data into %s (once; later runs read it from there)", root)
        start = time.perf_counter()
        try:
            build(tmp)
            os.replace(tmp, root)
            log.info("generated in %.1f s", time.perf_counter() - start)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        lock.release()
    return root


def _remove_stale_builds(root: Path) -> None:
    """Remove the temporary directories ``.<root.name>.XXXXXXXX`` of interrupted builds."""
    prefix = f".{root.name}."
    # mkdtemp's suffix has no dot, which leaves alone the builds of a root named
    # "<root.name>.x" (.<root.name>.x.XXXXXXXX); the lock file is not a directory.
    stale = [
        path
        for path in root.parent.iterdir()
        if path.name.startswith(prefix)
        and re.fullmatch(r"[A-Za-z0-9_]+", path.name[len(prefix) :])
        and path.is_dir()
        and not path.is_symlink()
    ]
    for path in sorted(stale):
        shutil.rmtree(path, ignore_errors=True)
        log.info("removed %s, left by an interrupted generation of %s", path.name, root)


def read_sidecar(dataset_dir: Path) -> dict[str, Any] | None:
    """The generator's sidecar of ``dataset_dir`` (``None`` for real, published files)."""
    path = dataset_dir / SIDECAR
    if not path.is_file():
        return None
    return json.loads(path.read_text())
