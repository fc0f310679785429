"""The ConDiff dataset family: configs, the ``steady`` task, and data → Benchmark.

Task ``steady``: from k (mapped to the g×g interior vertices, see :data:`K_TO_VERTEX`) and
f = rhs, predict u = x, all on the g×g grid of interior vertices, zero Dirichlet boundary.
Vectors in the files are in Fortran order and are reshaped so that [i, j] lines up with
k[i, j] (:func:`~opbench.data.condiff.fv.vector_to_grid`).

Validation split: a fixed share of the training file, chosen by the *data seed* only:
``n_val = round(val_fraction · N)`` (at least 1 and at most N − 1 when N ≥ 2 and
``val_fraction > 0``), val = ``sorted(np.random.default_rng(seed).permutation(N)[:n_val])``,
train = the rest, where N is the number of training samples used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from opbench.config import Count, DataOptions, OpenFraction, Seed, Size
from opbench.data import DATASETS
from opbench.data.base import (
    Batch,
    Benchmark,
    GeneratedBy,
    MetricSense,
    SampleSet,
    ValidationReport,
)
from opbench.data.cache import ensure_generated, generated_root, read_sidecar
from opbench.data.condiff import fv, solvers
from opbench.data.condiff.configs import (
    PUBLISHED_CONFIGS,
    PUBLISHED_GRIDS,
    ConDiffConfig,
    parse_config,
)
from opbench.data.condiff.files import RawSplit, read_split, scan_split, split_path
from opbench.data.condiff.generate import GENERATOR_VERSION, GenerationReport, generate
from opbench.data.condiff.metadata import ConDiffInfo
from opbench.data.condiff.validate import cell_coefficients, validate
from opbench.data.metadata import DatasetInfo, FileInfo, content_identity
from opbench.data.streaming import StreamedSampleSet, budget_bytes
from opbench.errors import ConfigError, DataError, unknown_name
from opbench.io import sha256_file, stable_hash
from opbench.ops.dst import dst2
from opbench.tasks import Layout, TaskSpec

DEFAULT_N_TRAIN = 256
DEFAULT_N_TEST = 64
"""Sizes generated when the options leave ``n_train`` / ``n_test`` unset."""
TASKS: dict[str, Layout] = {"steady": "grid"}
"""The task, with its layout: the coefficient and source fields → the solution field."""


def _average(k: np.ndarray) -> np.ndarray:
    """k_v[i, j] = mean(k[i:i+2, j:j+2]): the mean of the 2×2 cells around vertex (i, j)."""
    return 0.25 * (k[..., :-1, :-1] + k[..., 1:, :-1] + k[..., :-1, 1:] + k[..., 1:, 1:])


def _crop(k: np.ndarray) -> np.ndarray:
    """k_v[i, j] = k[i, j]: the cell below-left of vertex (i, j) (the reference notebooks)."""
    return k[..., :-1, :-1]


K_TO_VERTEX: dict[str, Callable[[np.ndarray], np.ndarray]] = {"average": _average, "crop": _crop}
"""Maps cell coefficients (..., g+1, g+1) to the g×g interior vertices."""


class ConDiffOptions(DataOptions):
    """ConDiff data options (``--set data.<name>=value``).

    Attributes:
        n_train: training-file samples used (the first n); ``None`` = all in the files, or
            256 when generating.
        n_test: test-file samples used (the first n); ``None`` = all, or 64 when generating.
        seed: the data seed: seeds the generator and the validation split; independent of
            the run seed.
        val_fraction: share of the training samples held out for validation, in (0, 1).
        k_to_vertex: ``average`` (mean of the 2×2 cells around each vertex) or ``crop``
            (``k[:g, :g]``, the reference notebooks' choice).
        max_memory_gb: see :class:`~opbench.config.DataOptions` (ConDiff streams from the
            HDF5 file's rows).
    """

    n_train: Count | None = None
    n_test: Size | None = None
    seed: Seed = 0
    val_fraction: OpenFraction = 0.1
    k_to_vertex: Literal["average", "crop"] = "average"


def validation_indices(n: int, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of the validation samples among ``n`` training samples."""
    n_val = min(round(fraction * n), max(n - 1, 0))
    if n >= 2:
        n_val = max(n_val, 1)
    return np.sort(np.random.default_rng(seed).permutation(n)[:n_val])


def residual_metric(prediction: Tensor, batch: Batch) -> Tensor:
    """Relative finite-volume residual ‖A(k)P − f‖₂/‖f‖₂ per sample, float64, shape (B,).

    ``prediction`` (B, 1, g, g) in physical units; uses the raw ``k_cells`` and ``f64``.
    """
    return fv.residual_torch(batch["k_cells"], prediction[:, 0], batch["f64"])


def spectral_residual_loss(prediction: Tensor, batch: Batch) -> Tensor:
    """Mean over the batch of Σ_kl r̂_kl² / Σ f², r̂ = DST-I(A(k)u − f), float64.

    The residual of ConDiff's own finite-volume discretisation, measured in the orthonormal
    sine basis; by Parseval Σ r̂² = ‖A(k)u − f‖², so it is zero (to round-off) exactly for
    the discrete solution (Du et al. 2024's spectral loss on the dataset's discretisation).
    Needs no labels: ``train.data_weight=0`` with ``train.physics_weight>0`` trains on it
    alone. Differentiable in ``prediction`` (B, 1, g, g), physical units.
    """
    u = prediction[:, 0].to(torch.float64)
    f = batch["f64"]
    coefficients = dst2(fv.apply_torch(batch["k_cells"], u) - f)
    return (coefficients.square().sum(dim=(1, 2)) / f.square().sum(dim=(1, 2))).mean()


def _sample_set(raw: RawSplit, config: ConDiffConfig, options: ConDiffOptions) -> SampleSet:
    """``x`` (N, C_in, g, g) = ([k on vertices,] f), ``y`` (N, 1, g, g) = u, float32; with
    the float64 ``k_cells`` (N, g+1, g+1) and ``f64`` (N, g, g) of the physics metric and
    loss."""
    g = config.grid
    f = fv.vector_to_grid(raw.rhs, g)
    channels = [] if config.is_poisson else [K_TO_VERTEX[options.k_to_vertex](raw.k)]
    tensors = {
        "x": torch.from_numpy(np.stack([*channels, f], axis=1)).float(),
        "y": torch.from_numpy(fv.vector_to_grid(raw.x, g)[:, None]).float(),
    }
    tensors["k_cells"] = torch.from_numpy(cell_coefficients(raw, g))
    tensors["f64"] = torch.from_numpy(f)
    return SampleSet(tensors)


def _count(available: int, requested: int | None, path: Path, option: str = "n_train") -> int:
    """The samples used of a file of ``available``: ``requested``, or all when ``None``."""
    if requested is None:
        return available
    if requested > available:
        raise ConfigError(
            f"data.{option}={requested} but {path} holds only {available} samples; "
            f"lower data.{option} or leave it unset to use all."
        )
    return requested


def _take(raw: RawSplit, requested: int | None, path: Path, option: str) -> RawSplit:
    return raw.head(_count(len(raw), requested, path, option))


def _train_and_val(
    path: Path,
    config: ConDiffConfig,
    options: ConDiffOptions,
    train_index: np.ndarray,
    val_index: np.ndarray,
) -> dict[str, SampleSet | StreamedSampleSet]:
    """The train and validation splits of the training file's first samples, in memory,
    or (when they would take more than ``data.max_memory_gb``) the training split streamed
    from the file batch by batch, with the validation samples in memory."""

    def read(rows: slice | np.ndarray) -> dict[str, Tensor]:
        return _sample_set(read_split(path, config, rows=rows), config, options).tensors

    n = len(train_index) + len(val_index)
    one = read(slice(0, 1))
    if n * sum(t.nbytes for t in one.values()) <= budget_bytes(options.max_memory_gb):
        whole = SampleSet(read(slice(0, n)))
        return {
            "train": whole.select(train_index.tolist()),
            "val": whole.select(val_index.tolist()),
        }
    return {
        "train": StreamedSampleSet(read, train_index, tuple(one)),
        "val": SampleSet(read(val_index)),
    }


def _file_info(path: Path, n_samples: int) -> FileInfo:
    return FileInfo(path=str(path), sha256=sha256_file(path), n_samples=n_samples)


SPLIT_METHOD = (
    "first n_train / n_test samples of the train / test files; val = "
    "sorted(np.random.default_rng(seed).permutation(N)[:n_val]) with "
    "n_val = round(val_fraction·N) clamped to [1, N−1] (N ≥ 2), train = the rest"
)


class ConDiffFamily:
    """ConDiff (Trifonov et al. 2024): steady diffusion with log-normal coefficients."""

    name = "condiff"
    title = "ConDiff: diffusion −∇·(k∇u) = f with GRF log-coefficients, and Poisson"
    citation = (
        "@article{trifonov2024condiff,\n"
        "  title   = {ConDiff: A Challenging Dataset for Neural Solvers of Partial "
        "Differential Equations},\n"
        "  author  = {Trifonov, Vladislav and Rudikov, Alexander and Iliev, Oleg and "
        "Laevsky, Yuri M. and Oseledets, Ivan and Muravleva, Ekaterina},\n"
        "  journal = {arXiv preprint arXiv:2406.04709},\n"
        "  year    = {2024}\n"
        "}"
    )
    default_config = "cubic0.1_grid64"
    default_task = "steady"
    options_type = ConDiffOptions
    info_type = ConDiffInfo
    generate_options = ("n_train", "n_test", "seed", "workers")
    numerical_solver = (
        "sparse LU; AMG- and Jacobi-preconditioned CG at six tolerances; DST for k ≡ 1"
    )
    metric_senses: Mapping[str, MetricSense] = {}

    def table_note(self, config: str, generated: bool) -> str | None:
        """On a grid coarser than the published 64², the coefficient's correlation length
        spans fewer cells: l·(g+1) cells of width h = 1/(g+1)."""
        cfg = parse_config(config)
        if cfg.covariance is None or cfg.grid >= min(PUBLISHED_GRIDS):
            return None
        cells = cfg.correlation_length * (cfg.grid + 1)
        published = cfg.correlation_length * (min(PUBLISHED_GRIDS) + 1)
        return (
            f"At {cfg.grid}² the coefficient's correlation length ({cfg.correlation_length:g}) "
            f"spans {cells:.2f} cells, against {published:.2f} at the published 64²: a rougher, "
            "different problem from the published configs; its numbers do not compare with "
            "published ones."
        )

    def generated_by(self, generator: Mapping[str, Any]) -> GeneratedBy:
        """The generator's sidecar holds its options at the top level; it reproduces the
        published data's method, so it needs no label of its own."""
        options = {k: generator[k] for k in self.generate_options if k in generator}
        return GeneratedBy(None, options, generator.get("generator_version"))

    def configs(self) -> list[str]:
        return list(PUBLISHED_CONFIGS)

    def tasks(self) -> dict[str, Layout]:
        return dict(TASKS)

    def check_config(self, config: str) -> bool:
        return parse_config(config).published

    def task_spec(self, config: ConDiffConfig) -> TaskSpec:
        """The ``steady`` TaskSpec of ``config``."""
        h = 1 / (config.grid + 1)
        return TaskSpec(
            name="steady",
            layout=TASKS["steady"],
            input_fields=("f",) if config.is_poisson else ("k", "f"),
            output_fields=("u",),
            spatial_shape=(config.grid, config.grid),
            periodic=False,
            boundary="zero-dirichlet",
            metrics=("rel_l2", "mse", "max_err", "residual"),
            primary_metric="rel_l2",
            field_units={"k": "1", "f": "1", "u": "1"},  # the problem is dimensionless
            grid_extent=(h, 1 - h, h, 1 - h),  # interior vertices of the unit square
            coordinate_units="1",
        )

    def generate(self, config: str, root: Path, **options: Any) -> GenerationReport:
        """Generate ``root/<config>/`` (options: n_train, n_test, seed, workers).

        Returns the :class:`GenerationReport` (its ``path`` is the dataset directory).
        """
        sizes = {"n_train": DEFAULT_N_TRAIN, "n_test": DEFAULT_N_TEST, **options}
        return generate(parse_config(config), Path(root), **sizes)

    def validate(self, config: str, data_dir: Path) -> ValidationReport:
        return validate(parse_config(config), Path(data_dir))

    def _generated_dir(
        self, config: ConDiffConfig, options: ConDiffOptions, test_only: bool
    ) -> Path:
        n_train = 0 if test_only else options.n_train
        n_train = DEFAULT_N_TRAIN if n_train is None else n_train
        n_test = DEFAULT_N_TEST if options.n_test is None else options.n_test
        key = {
            "generator_version": GENERATOR_VERSION,
            "config": config.name,
            "n_train": n_train,
            "n_test": n_test,
            "seed": options.seed,
        }
        root = generated_root(self.name, config.name, key)

        def build(tmp: Path) -> None:
            generate(config, tmp, n_train, n_test, seed=options.seed)

        return ensure_generated(root, build) / config.name

    def load_benchmark(
        self,
        config: str,
        task: str,
        options: ConDiffOptions | None = None,
        data_dir: Path | None = None,
        test_only: bool = False,
        scaled_as: DatasetInfo | None = None,
    ) -> Benchmark:
        """Resolve ``config``/``task`` into a Benchmark (see the module docstring).

        ``data_dir`` given: read ``data_dir/<config>/``; otherwise generate once into the
        cache. ``test_only`` leaves train and val empty (and generates no training data).
        ``scaled_as`` changes nothing here: ConDiff scales no data with split statistics
        (the model's normalisers, fitted on the trained config, travel with the model).
        """
        cfg = parse_config(config)
        if task not in TASKS:
            raise unknown_name("ConDiff task", task, TASKS)
        options = ConDiffOptions() if options is None else options
        if data_dir is None:
            dataset_dir = self._generated_dir(cfg, options, test_only)
        else:
            dataset_dir = Path(data_dir) / cfg.name
        paths = {split: split_path(dataset_dir, cfg.name, split) for split in ("train", "test")}

        test_file = read_split(paths["test"], cfg)
        test = _take(test_file, options.n_test, paths["test"], "n_test")
        n_file = None if test_only else scan_split(paths["train"], cfg)
        if n_file is not None and options.n_train == 0:
            raise DataError(
                "data.n_train=0 leaves no training samples (a run needs at least 2: one to "
                "train on, one to validate)"
            )
        n_train = 0 if n_file is None else _count(n_file, options.n_train, paths["train"])
        val_index = validation_indices(n_train, options.val_fraction, options.seed)
        train_index = np.setdiff1d(np.arange(n_train), val_index)
        if n_file is None:
            empty = _sample_set(test.head(0), cfg, options)
            fitting = {"train": empty, "val": empty}
        else:
            fitting = _train_and_val(paths["train"], cfg, options, train_index, val_index)
        test_k = cell_coefficients(test, cfg.grid)

        def solve_one(index: int) -> None:
            fv.solve(test_k[index], test.rhs[index])

        sidecar = read_sidecar(dataset_dir)
        files = {"test": _file_info(paths["test"], len(test_file))}
        if n_file is not None:
            files["train"] = _file_info(paths["train"], n_file)
        val_hash = stable_hash(val_index.tolist())
        made = None if sidecar is None else self.generated_by(sidecar)
        recipe = None if made is None else made.identity(cfg.name)
        fingerprint = stable_hash(
            [
                content_identity(files["train"], recipe) if n_file is not None else None,
                content_identity(files["test"], recipe),
                n_train,
                len(test),
                val_hash,
            ]
        )
        info = ConDiffInfo(
            family=self.name,
            config=cfg.name,
            task=task,
            source="real" if sidecar is None else "generated",
            published=cfg.published,
            generator_version=None if made is None else made.version,
            generator=sidecar,
            files=files,
            fingerprint=fingerprint,
            split={
                "train": int(train_index.size),
                "val": int(val_index.size),
                "test": len(test),
                "method": SPLIT_METHOD,
                "seed": options.seed,
                "val_fraction": options.val_fraction,
                "val_indices_hash": val_hash,
            },
            input_mapping={"k_to_vertex": options.k_to_vertex},
            grid=cfg.grid,
        )
        return Benchmark(
            family=self.name,
            config=cfg.name,
            task=self.task_spec(cfg),
            splits={**fitting, "test": _sample_set(test, cfg, options)},
            info=info,
            metrics={"residual": residual_metric},
            physics_loss=spectral_residual_loss,
            solve_one=solve_one,
            solver_ladder=solvers.ladder(test_k, test.rhs, cfg.is_poisson, nested=cfg.paired),
            scoring_keys=("k_cells", "f64"),
            grid_points="vertex",
            paired_samples=_paired_samples(cfg, options, sidecar, len(test)),
        )


def _paired_samples(
    config: ConDiffConfig, options: ConDiffOptions, sidecar: dict | None, n_test: int
) -> str | None:
    """The paired variant's test samples, the same at every grid: the fields (covariance and
    variance, or Poisson), the data seed and their number; ``None`` for other configs."""
    if not config.paired:
        return None
    fields = "poisson" if config.is_poisson else f"{config.covariance}{config.variance}"
    seed = options.seed if sidecar is None else sidecar.get("seed")
    return f"condiff paired {fields}, seed {seed}, first {n_test} test samples"


DATASETS.add("condiff", ConDiffFamily())
