"""What every dataset family provides, and the in-memory splits the trainer iterates.

A :class:`DatasetFamily` (``condiff``, ``cfdbench``, ``airfrans``) reads its real on-disk
format, generates data in that same format, validates files, and resolves a named config
and task into a :class:`Benchmark`: a TaskSpec plus train / val / test splits and the
facts a run record needs about where the data came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import torch
from torch import Tensor

from opbench.config import DataOptions
from opbench.data.metadata import DatasetInfo
from opbench.errors import DataError
from opbench.ops.resample import Layout
from opbench.tasks import Layout as TaskLayout
from opbench.tasks import TaskSpec

Batch = dict[str, Tensor]
UNIT_KEY = "case"
"""The batch key that names the independent unit of a sample where samples of one unit are
not independent (CFDBench: the test case of each frame pair); scores are bootstrapped
over units."""
MetricFn = Callable[[Tensor, Batch], Tensor]
"""The one signature of a per-sample metric: ``fn(prediction, batch) -> (B,)``, with the
prediction in physical units and the batch holding the target ``y`` (and, as a task needs,
``mask`` and the raw data a physics metric reads)."""
SetMetric = Callable[[dict[str, Tensor]], float | None]
MetricSense = Literal["lower", "higher", "value"]
"""How a metric reads: an error (``lower`` is better), a score (``higher`` is better) or a
predicted quantity (``value``)."""
"""A split-level metric, computed from the per-sample values of the whole split:
``fn(per_sample) -> value`` (``None`` where it is undefined)."""


class SampleSet(torch.utils.data.Dataset):
    """A split held in memory: tensors that share their leading (sample) dimension.

    ``x`` and ``y`` are the model input and target; other keys (raw float64 arrays for a
    physics metric, case parameters) travel alongside. A ``mask`` (N, 1, ...) of ones on
    the cells that count (fluid cells) restricts every metric to those cells.
    """

    def __init__(self, tensors: dict[str, Tensor]) -> None:
        sizes = {name: t.shape[0] for name, t in tensors.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"tensors disagree on the number of samples: {sizes}")
        self.tensors = tensors

    def __len__(self) -> int:
        return next(iter(self.tensors.values())).shape[0] if self.tensors else 0

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.tensors)

    def __getitem__(self, index: int) -> Batch:
        return {name: t[index] for name, t in self.tensors.items()}

    def select(self, indices: Tensor | list[int]) -> SampleSet:
        """The samples at ``indices``, in that order."""
        index = torch.as_tensor(indices, dtype=torch.long)
        return SampleSet({name: t[index] for name, t in self.tensors.items()})

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        keys: tuple[str, ...] | None = None,
    ) -> Iterator[Batch]:
        """Yield batches (dicts of stacked tensors); the last one may be smaller."""
        names = keys if keys is not None else tuple(self.tensors)
        for index in batch_positions(len(self), batch_size, shuffle, generator):
            yield {name: self.tensors[name][index] for name in names}

    def chunks(self, size: int, keys: tuple[str, ...] | None = None) -> Iterator[Batch]:
        """Every sample, whole, in consecutive chunks of ``size`` (what statistics over
        the split read; a subclass's :meth:`batches` may sample within samples)."""
        yield from SampleSet.batches(self, size, keys=keys)


def held_whole(split: Split) -> SampleSet | None:
    """Every sample of ``split``, whole, when it is held in memory; ``None`` when it streams
    from disk. A split that draws part of each sample per batch (AirfRANS's node sampling)
    names the split it draws from as its ``whole``."""
    whole = getattr(split, "whole", split)
    return whole if isinstance(whole, SampleSet) else None


def batch_positions(
    n: int, batch_size: int, shuffle: bool, generator: torch.Generator | None
) -> Iterator[Tensor]:
    """The sample positions of each batch of a split of ``n``: consecutive runs of
    ``batch_size`` of ``torch.randperm(n, generator=generator)`` (shuffled) or of 0 … n−1.
    In-memory and streamed splits share it, so one seed gives both the same batches."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    yield from order.split(batch_size)


class Split(Protocol):
    """What training reads of a split: its size, its keys and its batches (a
    :class:`SampleSet` in memory, or a :class:`~opbench.data.streaming.StreamedSampleSet`
    on disk)."""

    @property
    def keys(self) -> tuple[str, ...]: ...

    def __len__(self) -> int: ...

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        keys: tuple[str, ...] | None = None,
    ) -> Iterator[Batch]: ...

    def chunks(self, size: int, keys: tuple[str, ...] | None = None) -> Iterator[Batch]: ...


@dataclass(frozen=True)
class Rollout:
    """A multi-step test: start inputs and the true frames that follow them.

    Attributes:
        start: the inputs at step 0 (``x`` (N, C_in, ...), ``mask`` and any other batch
            keys the model reads, e.g. ``t``).
        targets: the true states after each step, (N, S, C_out, ...).
        valid: (N, S) boolean; False where a case has no frame for that step.
        state_channels: the input channels the model's outputs replace at each step (output
            channel c goes to input channel ``state_channels[c]``).
        delta_t: physical time per step; k: frames per step in the files.
    """

    start: SampleSet
    targets: Tensor
    valid: Tensor
    state_channels: tuple[int, ...]
    delta_t: float
    k: int


SolveFn = Callable[[Any], Any]
"""One setting of a numerical solver: ``fn(problem) -> solution``; a module-level function
or a :func:`functools.partial` of one, so that spawned worker processes can run it."""


@dataclass(frozen=True)
class SolverLadder:
    """A family's own numerical solver at several settings, for its cost–accuracy curve.

    Attributes:
        options: name → solver setting (e.g. ``direct``, ``amg-cg 1e-04``); each is run on
            every problem and scored against the test split's targets.
        problems: the solver's inputs, one per independent unit of the test split, in order
            (picklable: they travel to worker processes).
        to_prediction: the solutions of all problems, in order → a tensor shaped like the
            test split's ``y``, in physical units (what the metrics score).
        not_applicable: solver settings that do not apply to this data, and why (shown on
            the board beside the curve, never silently dropped).
        version: bump when a setting or its implementation changes (it keys the cache).
    """

    options: dict[str, SolveFn]
    problems: list[Any]
    to_prediction: Callable[[list[Any]], Tensor]
    not_applicable: dict[str, str] = field(default_factory=dict)
    version: str = "1"


@dataclass
class Benchmark:
    """A dataset config and task resolved into data a run can use.

    Attributes:
        family, config: names, e.g. ``condiff`` and ``cubic0.1_grid64``.
        task: the TaskSpec models are built from.
        splits: ``train``, ``val`` and ``test`` SampleSets (``train`` a
            :class:`~opbench.data.streaming.StreamedSampleSet` where the family streams
            data larger than the memory budget).
        info: the typed metadata of the run record's ``dataset`` section (source, generator
            version, file checksums, split sizes and how they were made, task options).
        metrics: the family's own per-sample metrics that ``task.metrics`` names (ConDiff:
            the relative finite-volume residual; AirfRANS: standardised field MSEs and
            force coefficients); the other names are registered metrics.
        solve_one: solves one test sample from scratch with opbench's numerical solver
            (used for ``solver_ms_per_sample``); ``None`` when no solver exists.
        solver_ladder: the numerical solver at several cost–accuracy settings on the test
            split (the solver at equal accuracy, :mod:`opbench.eval.solver_curve`);
            ``None`` when the family has none.
        physics_loss: a differentiable PDE-residual loss ``fn(prediction, batch) -> scalar``
            on the physical prediction (``train.physics_weight``); ``None`` if the family
            has none.
        rollout: the multi-step test of a time-stepping task; ``None`` otherwise.
        set_metrics: split-level metrics, computed from the per-sample values of the whole
            split (AirfRANS: Spearman correlations of predicted and true force coefficients
            across the test set).
        scoring_keys: batch keys that only the metrics and the physics loss read (ConDiff's
            float64 ``k_cells`` and ``f64``); training batches leave them out unless the
            physics loss is on.
        grid_points: where a grid task's fields live, for resampling between resolutions
            (:mod:`opbench.ops.resample`): ``vertex`` (interior vertices, ConDiff) or
            ``cell`` (cell centres); ``None`` where the data are not on a grid.
        paired_samples: names the physical test samples where another config holds the
            same ones at another resolution (ConDiff's paired variant); ``None`` otherwise.
    """

    family: str
    config: str
    task: TaskSpec
    splits: dict[str, SampleSet]
    info: DatasetInfo
    metrics: dict[str, MetricFn] = field(default_factory=dict)
    solve_one: Callable[[int], None] | None = None
    solver_ladder: SolverLadder | None = None
    physics_loss: Callable[[Tensor, Batch], Tensor] | None = None
    rollout: Rollout | None = None
    set_metrics: dict[str, SetMetric] = field(default_factory=dict)
    scoring_keys: tuple[str, ...] = ()
    grid_points: Layout | None = None
    paired_samples: str | None = None

    def __post_init__(self) -> None:
        unknown = set(self.metrics) - set(self.task.metrics)
        if unknown:
            raise ValueError(f"family metrics {sorted(unknown)} are not in the task's metrics")
        if self.task.primary_metric in self.set_metrics:
            raise ValueError("the primary metric must be a per-sample metric")
        sizes = {name: len(self.splits[name]) for name in ("train", "val", "test")}
        where = f"{self.family} {self.config}"
        if sizes["test"] == 0:
            raise DataError(f"{where}: the test split has no samples")
        if (sizes["train"] == 0) != (sizes["val"] == 0):  # both empty: a test-only load
            raise DataError(
                f"{where}: {sizes['train']} training and {sizes['val']} validation samples; "
                "a run needs both (use more training samples)"
            )


class GenerationReport(Protocol):
    """What a generator reports: where it wrote, how long it took, and a summary."""

    path: Path
    seconds: float

    def lines(self) -> list[str]:
        """Human-readable summary lines (sizes, rates, rejection statistics)."""


@dataclass(frozen=True)
class ValidationReport:
    """Outcome of ``opbench data validate``: human-readable lines and a pass/fail verdict."""

    ok: bool
    lines: list[str]
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GeneratedBy:
    """What made a generated dataset, read from the generator's sidecar(s) in its record.

    Attributes:
        label: the generator's own name for what it writes, e.g. "airfrans-style: potential
            flow with boundary-layer correction" (``None`` where it gives none).
        options: the ``opbench data generate`` options it ran with (``n_train``, ``seed``),
            in the order of the family's ``generate_options``.
        version: the generator's version (``generator_version`` in its sidecar).
    """

    label: str | None
    options: dict[str, Any]
    version: str | None

    def identity(self, config: str) -> dict[str, Any]:
        """The recipe as the identity of generated data
        (:func:`opbench.data.metadata.content_identity`): the ``config`` generated, the
        generator version, the label and the options; no timings, dates or paths."""
        return {
            "config": config,
            "generator_version": self.version,
            "label": self.label,
            "options": self.options,
        }


class DatasetFamily(Protocol):
    """The interface a dataset family registers in :data:`opbench.data.DATASETS`."""

    name: str
    title: str
    citation: str
    default_config: str
    default_task: str
    options_type: type[DataOptions]
    """The family's data options (``--set data.<name>=value``)."""
    info_type: type[DatasetInfo]
    """The family's dataset metadata (the record's ``dataset`` section)."""
    generate_options: tuple[str, ...]
    """Keyword options :meth:`generate` accepts (``opbench data generate --<option>``)."""
    numerical_solver: str | None
    """What its benchmarks' :class:`SolverLadder` runs (the numerical solver at equal
    accuracy), or ``None`` when it has none."""
    metric_senses: Mapping[str, MetricSense]
    """How to read the family's metrics that are not errors: ``higher`` (higher is better,
    e.g. a rank correlation) or ``value`` (a predicted quantity such as a lift coefficient,
    neither better nor worse); every other metric is an error, lower is better."""

    def configs(self) -> list[str]:
        """The published config names."""

    def tasks(self) -> Mapping[str, TaskLayout]:
        """The tasks this family offers, each with the layout of its samples (declared here
        so that a model is checked against it before any data are loaded)."""

    def table_note(self, config: str, generated: bool) -> str | None:
        """What a reader of a leaderboard table on ``config`` must know about its data
        beyond the config name (a grid too coarse for the published problem, generated
        data of other physics than the published files), or ``None``; ``generated``: some
        of the table's rows ran on opbench-generated data."""

    def generated_by(self, generator: Mapping[str, Any]) -> GeneratedBy:
        """What made a generated dataset, from the generator sidecar(s) that its record
        holds (``dataset.generator``; each family writes its own layout)."""

    def check_config(self, config: str) -> bool:
        """Raise a ConfigError (suggesting close names) if ``config`` is not valid; return
        whether it is one of the published configs."""

    def load_benchmark(
        self,
        config: str,
        task: str,
        options: DataOptions,
        data_dir: Path | None,
        test_only: bool = False,
        scaled_as: DatasetInfo | None = None,
    ) -> Benchmark:
        """Resolve ``config``/``task`` into a Benchmark, reading ``data_dir/<config>/`` when
        given, otherwise generating the data once into the cache. ``test_only`` loads (or
        generates) just the test split, for scoring a model on another config;
        ``scaled_as``, the trained config's metadata, whose training statistics then scale
        this data and its metrics (the shifted test sees what the model was trained with,
        not statistics of the shifted data)."""

    def generate(self, config: str, root: Path, **options: Any) -> GenerationReport:
        """Write a generated dataset in the real format under ``root/<config>/``."""

    def validate(self, config: str, data_dir: Path) -> ValidationReport:
        """Check files (keys, shapes, dtypes, finiteness) and physics."""
