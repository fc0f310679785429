"""The published ConDiff on-disk format: read with clear errors, write atomically.

Layout (Hugging Face ``condiff/ConDiff``): ``<root>/<name>/<name>_{train,test}.h5``, each a
plain HDF5 file (no attributes, no chunking, no compression) with float64 datasets

* ``k``   (N, g+1, g+1): the coefficient exp(φ) on cells (absent in Poisson files),
* ``rhs`` (N, g²): right-hand side at the interior vertices, Fortran order,
* ``x``   (N, g²): the solution at the interior vertices, Fortran order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from opbench.data.condiff.configs import ConDiffConfig
from opbench.errors import DataError
from opbench.io import atomic_path

SPLITS = ("train", "test")
LAYOUT = "<root>/<name>/<name>_train.h5 and <root>/<name>/<name>_test.h5"


@dataclass(frozen=True)
class RawSplit:
    """One file's arrays as stored: ``k`` (N, g+1, g+1) or ``None`` (Poisson), ``rhs`` and
    ``x`` (N, g²) in Fortran order."""

    k: np.ndarray | None
    rhs: np.ndarray
    x: np.ndarray

    def __len__(self) -> int:
        return self.rhs.shape[0]

    def head(self, n: int) -> RawSplit:
        """The first ``n`` samples."""
        return RawSplit(None if self.k is None else self.k[:n], self.rhs[:n], self.x[:n])


def split_path(dataset_dir: Path, name: str, split: str) -> Path:
    """``dataset_dir/<name>_<split>.h5``."""
    return Path(dataset_dir) / f"{name}_{split}.h5"


def expected_shapes(config: ConDiffConfig) -> dict[str, tuple[int, ...]]:
    """Per-sample shape of every key a file of ``config`` must hold."""
    g = config.grid
    vectors = {"rhs": (g * g,), "x": (g * g,)}
    return vectors if config.is_poisson else {"k": (g + 1, g + 1), **vectors}


def _read_key(file: h5py.File, path: Path, key: str, shape: tuple[int, ...]) -> np.ndarray:
    dataset = file.get(key)
    if not isinstance(dataset, h5py.Dataset):
        raise DataError(f"{path}: missing dataset {key!r} (the file holds {sorted(file)}).")
    if dataset.ndim != len(shape) + 1 or dataset.shape[1:] != shape:
        raise DataError(
            f"{path}: dataset {key!r} has shape {dataset.shape}, expected (N, "
            f"{', '.join(map(str, shape))})."
        )
    if dataset.dtype != np.float64:
        raise DataError(f"{path}: dataset {key!r} has dtype {dataset.dtype}, expected float64.")
    try:
        values = dataset[()]
    except OSError as error:
        raise DataError(f"{path}: dataset {key!r} cannot be read ({error}).") from error
    finite = np.isfinite(values).all(axis=tuple(range(1, values.ndim)))
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise DataError(
            f"{path}: dataset {key!r} has non-finite values in sample {bad[0]} "
            f"({bad.size} sample(s) affected)."
        )
    return values


def read_split(path: Path, config: ConDiffConfig, allow_empty: bool = False) -> RawSplit:
    """Read and check one ConDiff file; every problem raises a DataError naming file and key.
    A file without samples is refused unless ``allow_empty``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{path}: file not found. ConDiff data must be laid out as {LAYOUT} "
            f"(here <name> = {config.name})."
        )
    shapes = expected_shapes(config)
    try:
        with h5py.File(path, "r") as file:
            arrays = {key: _read_key(file, path, key, shape) for key, shape in shapes.items()}
    except OSError as error:
        raise DataError(f"{path}: not a readable HDF5 file ({error}).") from error
    counts = {key: values.shape[0] for key, values in arrays.items()}
    if len(set(counts.values())) > 1:
        raise DataError(f"{path}: datasets disagree on the number of samples N: {counts}.")
    if not allow_empty and counts["rhs"] == 0:
        raise DataError(f"{path}: the file holds no samples (N = 0).")
    return RawSplit(arrays.get("k"), arrays["rhs"], arrays["x"])


def write_split(path: Path, k: np.ndarray | None, rhs: np.ndarray, x: np.ndarray) -> None:
    """Write one file in the published format (plain float64 datasets), atomically.

    ``k`` is ``None`` for Poisson. N = 0 is allowed.
    """
    arrays = {"k": k, "rhs": rhs, "x": x}
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as file:
        for key, values in arrays.items():
            if values is not None:
                file.create_dataset(key, data=np.ascontiguousarray(values, dtype=np.float64))
