"""What a run record says about the software and hardware it ran on."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

import opbench


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


SOURCE = Path(opbench.__file__).resolve().parent.parent
"""The checkout opbench runs from (in an editable install, the repository root)."""

SOURCE_PATHS = ("opbench", "pyproject.toml")
"""What decides how a run trains and is scored: the package and its pinned dependencies.
Everything else a checkout tracks (a board's ``leaderboards/`` that a sweep driver writes
into while it runs, READMEs, tests) leaves a record's ``-dirty`` flag alone."""


def _git(source: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=source, capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


def git_revision(source: Path = SOURCE) -> str | None:
    """The git commit of the opbench checkout at ``source``, with ``-dirty`` if a tracked
    file under :data:`SOURCE_PATHS` is modified; ``None`` outside a git checkout (e.g. a
    non-editable install)."""
    try:
        revision = _git(source, "rev-parse", "HEAD")
        dirty = _git(source, "status", "--porcelain", "--untracked-files=no", "--", *SOURCE_PATHS)
    except (OSError, subprocess.SubprocessError):
        return None
    return revision + ("-dirty" if dirty else "")


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def environment(device: torch.device) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "neuraloperator": package_version("neuraloperator"),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "device": device.type,
        "device_name": device_name(device),
        "threads": torch.get_num_threads(),
    }
