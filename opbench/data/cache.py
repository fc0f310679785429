"""Where generated data lives.

Generated datasets are cached under ``$OPBENCH_HOME/data/<family>/<config>-<key>/`` (default
``~/.cache/opbench``), where ``key`` hashes everything that determines the files
(generator version, config, sizes, seed). A dataset is built in a temporary directory
and renamed into place when complete, under a file lock, so concurrent runs generate it
once and an interrupted generation leaves nothing behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opbench.io import stable_hash

SIDECAR = "opbench.json"
"""Name of the sidecar file that marks a dataset directory as opbench-generated."""


def opbench_home() -> Path:
    """``$OPBENCH_HOME``, default ``~/.cache/opbench``."""
    return Path(os.environ.get("OPBENCH_HOME", Path.home() / ".cache" / "opbench")).expanduser()


def generated_root(family: str, config: str, key: dict[str, Any]) -> Path:
    """The cache root (the directory that holds ``<config>/``) for one generated dataset."""
    return opbench_home() / "data" / family / f"{config}-{stable_hash(key)}"


def ensure_generated(root: Path, build: Callable[[Path], None]) -> Path:
    """Return ``root``, building it first with ``build(tmp_root)`` if it does not exist yet."""
    if root.is_dir():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if root.is_dir():  # another process built it while we waited
            return root
        tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
        try:
            build(tmp)
            os.replace(tmp, root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def read_sidecar(dataset_dir: Path) -> dict[str, Any] | None:
    """The generator's sidecar of ``dataset_dir`` (``None`` for real, published files)."""
    path = dataset_dir / SIDECAR
    if not path.is_file():
        return None
    return json.loads(path.read_text())
