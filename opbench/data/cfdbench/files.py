"""The published CFDBench layout: ``<root>/<problem>/<subset>/caseNNNN/{u.npy, v.npy,
case.json}``.

``u.npy`` and ``v.npy`` are (T, H, W) float32 or float64 arrays (axis 1 = y, row 0 at
y_min; axis 2 = x), T varies per case; ``case.json`` holds the case parameters in physical
units. Cases are ordered by the integer after ``case`` (not by the string).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from opbench.errors import DataError
from opbench.io import atomic_path, write_json_atomic

CASE_PATTERN = re.compile(r"^case(\d+)$")
FIELDS = ("u", "v")


@dataclass(frozen=True)
class CaseFiles:
    """One case as read from disk: frames u, v (T, H, W) float64 and its case.json."""

    subset: str
    number: int
    path: Path
    u: np.ndarray
    v: np.ndarray
    case: dict[str, Any]

    @property
    def key(self) -> str:
        """``subset/caseNNNN``, unique within a config."""
        return f"{self.subset}/{self.path.name}"


def case_dirs(problem_dir: Path, subset: str) -> list[Path]:
    """The case folders of one subset, sorted by the integer after ``case``."""
    subset_dir = problem_dir / subset
    if not subset_dir.is_dir():
        raise DataError(
            f"{subset_dir} does not exist: a CFDBench problem folder holds the subsets "
            f"bc/, prop/ and geo/ with caseNNNN/ folders inside"
        )
    found = [(CASE_PATTERN.match(p.name), p) for p in subset_dir.iterdir() if p.is_dir()]
    cases = sorted((int(m.group(1)), p) for m, p in found if m)
    if not cases:
        raise DataError(f"{subset_dir} holds no caseNNNN/ folders")
    return [path for _, path in cases]


def open_field(path: Path, mmap: bool = False) -> np.ndarray:
    """The checked (T, H, W) array of ``path``, as stored; memory-mapped with ``mmap`` (only
    the header is read until frames are indexed)."""
    if not path.is_file():
        raise DataError(f"{path} is missing (each case folder needs u.npy, v.npy, case.json)")
    try:
        array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataError(f"{path} is not a readable .npy array: {error}") from None
    if array.dtype not in (np.float32, np.float64):
        raise DataError(f"{path} has dtype {array.dtype}; expected float32 or float64")
    if array.ndim != 3 or array.shape[0] < 2 or min(array.shape[1:]) < 2:
        raise DataError(f"{path} has shape {array.shape}; expected (T ≥ 2, H, W) frames")
    return array


def _read_field(path: Path) -> np.ndarray:
    return open_field(path).astype(np.float64)


def read_frames(path: Path, frame: int) -> np.ndarray:
    """Frame ``frame`` of ``path`` as a (1, H, W) float64 array, read alone."""
    return open_field(path, mmap=True)[frame : frame + 1].astype(np.float64)


def read_case(path: Path, subset: str) -> CaseFiles:
    """Read one case folder; clear errors for missing or corrupt files and shape mismatch."""
    match = CASE_PATTERN.match(path.name)
    if match is None:
        raise DataError(f"{path} is not a caseNNNN folder")
    case_path = path / "case.json"
    if not case_path.is_file():
        raise DataError(f"{case_path} is missing")
    try:
        case = json.loads(case_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{case_path} is not valid JSON: {error}") from None
    if not isinstance(case, dict):
        raise DataError(f"{case_path} must hold a JSON object of case parameters")
    u, v = (_read_field(path / f"{name}.npy") for name in FIELDS)
    if u.shape != v.shape:
        raise DataError(f"{path}: u.npy {u.shape} and v.npy {v.shape} differ in shape")
    return CaseFiles(subset, int(match.group(1)), path, u, v, case)


def case_name(number: int) -> str:
    return f"case{number:04d}"


def write_case(path: Path, u: np.ndarray, v: np.ndarray, case: dict[str, Any]) -> None:
    """Write one case folder (each file atomically): u.npy, v.npy (float32), case.json."""
    for name, array in zip(FIELDS, (u, v), strict=True):
        with atomic_path(path / f"{name}.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, np.asarray(array, dtype=np.float32))
    write_json_atomic(path / "case.json", case)
