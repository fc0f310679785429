"""The published ConDiff on-disk format: read with clear errors, write atomically.

Layout (Hugging Face ``condiff/ConDiff``): ``<root>/<name>/<name>_{train,test}.h5``, each a
plain HDF5 file (no attributes, no chunking, no compression) with float64 datasets

* ``k``   (N, g+1, g+1): the coefficient exp(φ) on cells (absent in Poisson files),
* ``rhs`` (N, g²): right-hand side at the interior vertices, Fortran order,
* ``x``   (N, g²): the solution at the interior vertices, Fortran order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


Rows = slice | np.ndarray
"""Which samples to read: a slice, or increasing distinct indices (what h5py accepts)."""

SCAN_CHUNK = 64
"""Samples per read when a file is checked without holding it in memory."""


def _dataset(file: h5py.File, path: Path, key: str, shape: tuple[int, ...]) -> h5py.Dataset:
    """The dataset ``key``, checked for presence, per-sample shape and dtype."""
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
    return dataset


def _values(dataset: h5py.Dataset, path: Path, key: str, rows: Rows) -> np.ndarray:
    """The rows of ``dataset``, checked to be finite (the error names the file's sample)."""
    try:
        values = dataset[rows]
    except OSError as error:
        raise DataError(f"{path}: dataset {key!r} cannot be read ({error}).") from error
    finite = np.isfinite(values).all(axis=tuple(range(1, values.ndim)))
    if not finite.all():
        bad = np.arange(dataset.shape[0])[rows][~finite]
        raise DataError(
            f"{path}: dataset {key!r} has non-finite values in sample {bad[0]} "
            f"({bad.size} sample(s) affected)."
        )
    return values


@contextmanager
def _checked_datasets(
    path: Path, config: ConDiffConfig, allow_empty: bool
) -> Iterator[dict[str, h5py.Dataset]]:
    """The open file's datasets, checked for presence, shapes, dtypes and a common N (and
    N > 0 unless ``allow_empty``); DataError for any problem, naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{path}: file not found. ConDiff data must be laid out as {LAYOUT} "
            f"(here <name> = {config.name})."
        )
    try:
        with h5py.File(path, "r") as file:
            datasets = {
                key: _dataset(file, path, key, shape)
                for key, shape in expected_shapes(config).items()
            }
            counts = {key: dataset.shape[0] for key, dataset in datasets.items()}
            if len(set(counts.values())) > 1:
                raise DataError(f"{path}: datasets disagree on the number of samples N: {counts}.")
            if not allow_empty and counts["rhs"] == 0:
                raise DataError(f"{path}: the file holds no samples (N = 0).")
            yield datasets
    except OSError as error:
        raise DataError(f"{path}: not a readable HDF5 file ({error}).") from error


def read_split(
    path: Path, config: ConDiffConfig, allow_empty: bool = False, rows: Rows = slice(None)
) -> RawSplit:
    """Read and check the samples ``rows`` (default: all) of one ConDiff file; every
    problem raises a DataError naming file and key. A file without samples is refused
    unless ``allow_empty``."""
    with _checked_datasets(path, config, allow_empty) as datasets:
        arrays = {key: _values(d, path, key, rows) for key, d in datasets.items()}
    return RawSplit(arrays.get("k"), arrays["rhs"], arrays["x"])


def scan_split(path: Path, config: ConDiffConfig) -> int:
    """Check a whole file as :func:`read_split` does, :data:`SCAN_CHUNK` samples at a time
    (never holding more); returns its number of samples."""
    with _checked_datasets(path, config, allow_empty=False) as datasets:
        n = datasets["rhs"].shape[0]
        for start in range(0, n, SCAN_CHUNK):
            for key, dataset in datasets.items():
                _values(dataset, path, key, slice(start, start + SCAN_CHUNK))
    return n


def write_split(path: Path, k: np.ndarray | None, rhs: np.ndarray, x: np.ndarray) -> None:
    """Write one file in the published format (plain float64 datasets), atomically.

    ``k`` is ``None`` for Poisson. N = 0 is allowed.
    """
    grid = math.isqrt(rhs.shape[1])
    with split_writer(path, len(rhs), grid, with_k=k is not None) as write:
        write(0, k, rhs, x)


SplitWrite = Callable[[int, "np.ndarray | None", np.ndarray, np.ndarray], None]
"""``write(start, k, rhs, x)``: samples ``start … start + len(rhs) − 1`` of a split file."""


@contextmanager
def split_writer(path: Path, n: int, grid: int, with_k: bool) -> Iterator[SplitWrite]:
    """Open one split file of ``n`` samples on a g × g grid (``with_k`` false: Poisson, no
    ``k``) and yield a function that writes consecutive samples into it, in any order; the
    file appears at ``path`` only once the block succeeds.

    The datasets are the published plain float64 ones; writing in pieces gives the same
    bytes as writing the whole arrays at once (``tests/test_condiff_files.py``), so a
    generator can write each piece as it arrives instead of holding and concatenating
    every sample.
    """
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as file:
        shapes = {"rhs": (n, grid * grid), "x": (n, grid * grid)}
        if with_k:
            shapes = {"k": (n, grid + 1, grid + 1), **shapes}
        datasets = {
            key: file.create_dataset(key, shape, np.float64) for key, shape in shapes.items()
        }

        def write(start: int, k: np.ndarray | None, rhs: np.ndarray, x: np.ndarray) -> None:
            for key, values in {"k": k, "rhs": rhs, "x": x}.items():
                if key in datasets and len(values):
                    datasets[key][start : start + len(values)] = values

        yield write
