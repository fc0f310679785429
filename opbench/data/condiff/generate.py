"""opbench's ConDiff generator: same distribution as the published data, new draws.

Per sample: φ from :class:`~opbench.data.condiff.grf.CirculantSampler`, kept only if
contrast = exp(max φ − min φ) lies in the config's window (rejection sampling; Poisson has
no k), k = exp(φ); rhs ~ N(0, 1) white noise at the g² interior vertices (not scaled by
h²); x = A(k)⁻¹ rhs by sparse direct solve (:mod:`~opbench.data.condiff.fv`). Written in
the published format (:mod:`~opbench.data.condiff.files`) plus the sidecar ``opbench.json``.

Determinism: sample ``index`` of split ``split_id`` (0 train, 1 test) draws everything from
its own stream ``np.random.default_rng([seed, split_id, index])``, so the data does not
depend on the number of workers, and the test set does not change with ``n_train``.
Within a sample, proposals are drawn one complex FFT (two fields) at a time, and only while
every field before was rejected (:func:`~opbench.data.condiff.grf.first_accepted`); the
first accepted field in draw order is kept, and ``proposals`` counts the fields examined up
to and including it (so accepted / proposals estimates the acceptance probability). Version
1 drew the noise of 4, 8, 16, then 32 FFTs at once, which cost more normals than the usual
one-proposal sample needs.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from opbench.config import Count, Seed, Size, StrictModel, validated
from opbench.data.cache import SIDECAR
from opbench.data.condiff import fv, paired
from opbench.data.condiff.configs import ConDiffConfig, parse_config
from opbench.data.condiff.files import split_path, split_writer
from opbench.data.condiff.grf import CirculantSampler, first_accepted
from opbench.errors import DataError
from opbench.io import write_json_atomic
from opbench.workers import process_pool

GENERATOR_VERSION = "2"
"""Bump whenever generated data for a given (config, sizes, seed) would change."""

GENERATOR = "opbench.condiff"
MAX_PROPOSALS = 10**6
"""Proposals per sample after which generation gives up (pathological contrast window)."""

SPLIT_IDS = {"train": 0, "test": 1}


@dataclass(frozen=True)
class GenerationReport:
    """What one generation did; ``acceptance_rate`` is ``None`` for Poisson (no k)."""

    n_train: int
    n_test: int
    proposals: int
    accepted: int
    acceptance_rate: float | None
    seconds: float
    samples_per_second: float
    path: Path

    def lines(self) -> list[str]:
        lines = [
            f"{self.n_train} train + {self.n_test} test samples in {self.seconds:.1f} s "
            f"({self.samples_per_second:.1f} samples/s)"
        ]
        if self.acceptance_rate is not None:
            lines.append(
                f"acceptance rate {self.acceptance_rate:.3g} "
                f"({self.accepted} of {self.proposals} proposals)"
            )
        return lines


@dataclass(frozen=True)
class _Chunk:
    k: np.ndarray | None
    rhs: np.ndarray
    x: np.ndarray
    proposals: int


@functools.lru_cache(maxsize=8)
def sampler_for(config: ConDiffConfig) -> CirculantSampler:
    """The GRF sampler of a diffusion config on its (g+1)×(g+1) cell centres."""
    n = config.grid + 1
    return CirculantSampler(
        config.covariance, config.variance, n, 1.0 / n, config.correlation_length
    )


def draw_coefficient(
    config: ConDiffConfig, rng: np.random.Generator, max_proposals: int = MAX_PROPOSALS
) -> tuple[np.ndarray, int]:
    """k = exp(φ) with contrast in the config's window, and the number of proposals used."""
    low, high = config.contrast_window
    phi, proposals = first_accepted(
        sampler_for(config), rng, lambda phi: low <= np.exp(np.ptp(phi)) <= high, max_proposals
    )
    if phi is None:
        raise _unreachable(config, proposals)
    return np.exp(phi), proposals


def _unreachable(config: ConDiffConfig, proposals: int) -> DataError:
    low, high = config.contrast_window
    return DataError(
        f"ConDiff config {config.name}: no field with contrast in [{low:g}, {high:g}] after "
        f"{proposals} proposals; the window is unreachable (or extremely unlikely) for this "
        "covariance and variance."
    )


def draw_sample(
    config: ConDiffConfig, rng: np.random.Generator, max_proposals: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """One sample's cell coefficients k (g+1, g+1) (ones for Poisson), right-hand side
    (g²,) in Fortran order, and the proposals its coefficient took: the published
    distribution (white-noise f), or the paired variant's (:mod:`.paired`)."""
    g = config.grid
    if config.paired:
        phi, proposals = paired.draw_log_coefficient(config, rng, max_proposals)
        if phi is None and not config.is_poisson:
            raise _unreachable(config, proposals)
        k, f = paired.on_grid(phi, paired.draw_rhs(rng), g)
        return k, fv.grid_to_vector(f), proposals
    k, proposals = (
        (np.ones((g + 1, g + 1)), 0)
        if config.is_poisson
        else draw_coefficient(config, rng, max_proposals)
    )
    return k, rng.standard_normal(g * g), proposals


def _generate_chunk(
    config: ConDiffConfig, seed: int, split_id: int, indices: range, max_proposals: int
) -> _Chunk:
    g = config.grid
    ks, rhss, xs, proposals = [], [], [], 0
    for index in indices:
        k, rhs, used = draw_sample(
            config, np.random.default_rng([seed, split_id, index]), max_proposals
        )
        ks.append(k)
        rhss.append(rhs)
        xs.append(fv.solve(k, rhs))
        proposals += used
    n = len(indices)
    return _Chunk(
        k=None if config.is_poisson else np.array(ks).reshape(n, g + 1, g + 1),
        rhs=np.array(rhss).reshape(n, g * g),
        x=np.array(xs).reshape(n, g * g),
        proposals=proposals,
    )


def _solved(arguments: list[tuple], workers: int) -> Iterator[_Chunk]:
    """The chunks of ``arguments``, in order, as each is solved: in this process, or in a
    pool of ``workers`` whose results the caller writes while the pool solves on."""
    if workers == 1 or len(arguments) <= 1:
        yield from (_generate_chunk(*args) for args in arguments)
        return
    with process_pool(workers) as pool:
        yield from pool.map(_generate_chunk, *zip(*arguments, strict=True))


def _chunks(n: int, size: int) -> list[range]:
    """Consecutive index ranges covering 0..n-1 (one empty range when n = 0)."""
    return [range(start, min(start + size, n)) for start in range(0, n, size)] or [range(0)]


class GenerationSizes(StrictModel):
    """What to generate: samples per file, the seed, and the worker processes."""

    n_train: Count
    n_test: Count
    seed: Seed = 0
    workers: Size


CHUNKS_PER_WORKER = 16
"""Chunks per worker: small enough that the last chunk leaves a core idle for little of the
run (solve times vary with k), large enough that passing chunks between processes stays
negligible."""

POOL_MIN_POINTS = 2_000_000
"""Below this many grid points in all (samples × g²) the default is one process: a pool of
spawned workers costs about 1–2 s to start (each imports torch), which the default 320
samples at g = 64 (1.3 M points, about 3 s in one process) do not win back."""


def default_workers(n_samples: int, grid: int) -> int:
    """Two processes (on two cores or more) for jobs worth a pool, else one."""
    return min(2, os.cpu_count() or 1) if n_samples * grid**2 >= POOL_MIN_POINTS else 1


def generate(
    config: ConDiffConfig | str,
    root: Path,
    n_train: int,
    n_test: int,
    seed: int = 0,
    workers: int | None = None,
    max_proposals: int = MAX_PROPOSALS,
) -> GenerationReport:
    """Generate ``root/<name>/<name>_{train,test}.h5`` and the sidecar ``opbench.json``.

    ``workers`` processes (default :func:`default_workers`) share the samples in
    :data:`CHUNKS_PER_WORKER` chunks each; the result is the same for any number of workers.
    Each chunk is written into the files as soon as it and the chunks before it are solved,
    while the workers solve on (no copy of the whole split is held or concatenated).
    """
    config = parse_config(config) if isinstance(config, str) else config
    if workers is None:
        workers = default_workers(n_train + n_test, config.grid)
    sizes = {"n_train": n_train, "n_test": n_test, "seed": seed, "workers": workers}
    validated(GenerationSizes, sizes, "ConDiff generation")
    start = time.perf_counter()
    sizes = {"train": n_train, "test": n_test}
    chunk_size = max(1, math.ceil((n_train + n_test) / (CHUNKS_PER_WORKER * workers)))
    tasks = [(split, indices) for split, n in sizes.items() for indices in _chunks(n, chunk_size)]
    arguments = [
        (config, seed, SPLIT_IDS[split], indices, max_proposals) for split, indices in tasks
    ]
    dataset_dir = Path(root) / config.name
    proposals = 0
    with contextlib.ExitStack() as stack:
        writers = {
            split: stack.enter_context(
                split_writer(
                    split_path(dataset_dir, config.name, split),
                    n,
                    config.grid,
                    with_k=not config.is_poisson,
                )
            )
            for split, n in sizes.items()
        }
        for (split, indices), chunk in zip(tasks, _solved(arguments, workers), strict=True):
            writers[split](indices.start, chunk.k, chunk.rhs, chunk.x)
            proposals += chunk.proposals

    seconds = time.perf_counter() - start
    accepted = 0 if config.is_poisson else n_train + n_test
    report = GenerationReport(
        n_train=n_train,
        n_test=n_test,
        proposals=proposals,
        accepted=accepted,
        acceptance_rate=accepted / proposals if proposals else None,
        seconds=seconds,
        samples_per_second=(n_train + n_test) / seconds,
        path=dataset_dir,
    )
    write_json_atomic(
        dataset_dir / SIDECAR,
        {
            "generator": GENERATOR,
            "generator_version": GENERATOR_VERSION,
            "config": config.name,
            "seed": seed,
            "n_train": n_train,
            "n_test": n_test,
            "acceptance_rate": report.acceptance_rate,
            "proposals": proposals,
            "seconds": round(seconds, 3),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    return report
