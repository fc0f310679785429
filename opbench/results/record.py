"""Run records: the versioned JSON file every run writes, one typed model validated on write
and on read.

A run writes ``runs/<run-id>/record.json``: a :class:`Record`. Its JSON Schema,
``record.schema.json`` beside this module, is generated from the model
(``opbench schema > opbench/results/record.schema.json``; a test keeps it in sync).
Besides the schema, a record must name a primary metric that it reports under
``metrics.test``, and may hold no non-finite number (a missing value is ``null``).

Version 2 (written now) adds to version 1 the full resolved run spec (enough to re-run
from the record alone), the canonical ``run_hash`` (:func:`opbench.config.run_hash`), a
``role`` (``board``, ``pilot``, ``check``), the per-sample test errors of the primary
metric, and a ``convergence`` section. Version-1 records still load: the fields they lack
take their version-1 meaning (role ``board``; no spec, hash, per-sample errors or
convergence evidence). Every failure is a :class:`~opbench.errors.DataError` that names
the file and the path inside it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    model_validator,
)

from opbench.config import Role, TrainConfig
from opbench.data.metadata import DatasetInfo
from opbench.errors import DataError
from opbench.eval.convergence import Convergence
from opbench.eval.equal_accuracy import EqualAccuracy
from opbench.eval.transfer import TransferScore
from opbench.io import write_json_atomic

SCHEMA_VERSION = 2
"""The record schema version this opbench writes (it reads 1 and 2)."""

RECORD_NAME = "record.json"
"""File name of the record inside a run directory."""

Number = float | None
Count = Annotated[int, Field(ge=0)]
Seconds = Annotated[float, Field(ge=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MetricSummary(_Section):
    """A metric over the samples of one test split (a split-level metric has only
    ``mean`` and ``n``)."""

    mean: Number
    std: Number
    median: Number
    min: Number
    max: Number
    n: Count


class ModelSection(_Section):
    """The model: registry name, preset, resolved constructor arguments, size, citation."""

    name: str = Field(min_length=1)
    preset: str = Field(min_length=1)
    hyperparameters: dict[str, Any] = Field(
        description="The resolved constructor arguments (preset plus overrides)."
    )
    params: Count
    citation: str | None


class HistoryEntry(_Section):
    """One epoch: ``epoch`` counts the epochs completed (1 … E, as the CLI and the loss
    curve number them; 0 is a fitted baseline's fit), ``lr`` the rate of its last step."""

    epoch: Count
    train_loss: Number
    val: Number
    lr: Number
    seconds: Seconds


class Budget(_Section):
    epochs: Count
    max_minutes: Annotated[float, Field(gt=0)] | None


class TrainSection(_Section):
    """How training went: the resolved trainer settings, seed, epochs, the best epoch on
    validation and the per-epoch history."""

    config: TrainConfig
    seed: int
    epochs_run: Count
    best_epoch: Count | None = Field(
        description="the epoch (1 … epochs_run; 0 for a fitted baseline) whose weights were "
        "kept: the lowest validation value"
    )
    best_val: Number
    wall_seconds: Seconds
    status: Literal["ok", "diverged", "budget"] = Field(
        description="ok: trained to the end or stopped early; diverged: a non-finite loss "
        "stopped training (metrics are null); budget: the time budget ran out."
    )
    stopped_early: bool = Field(
        description="training ended before the epoch budget because validation stopped "
        "improving (early stopping)"
    )
    budget: Budget
    history: list[HistoryEntry]


class Cost(_Section):
    """Parameters, training time and throughput, inference and solver time per sample, the
    speedup, peak memory, and where it was measured (device, threads)."""

    params: Count
    train_seconds: Seconds
    epochs: Count
    samples_per_second: Number
    infer_ms_per_sample: Number
    solver_ms_per_sample: Number
    speedup: Number
    peak_memory_mb: Number
    threads: int = Field(ge=1)
    device: str = Field(min_length=1)


class Environment(_Section):
    python: str
    torch: str
    neuraloperator: str | None
    numpy: str
    platform: str
    device: str = Field(min_length=1)
    device_name: str
    threads: int = Field(ge=1)


class RolloutSection(_Section):
    """Multi-step test of a time-stepping task: from the first frame of each test case the
    model's predictions are fed back for ``steps`` steps of ``delta_t`` seconds (k frames);
    ``curves[metric][s]`` is the mean over the cases that have step s+1."""

    steps: int = Field(ge=1)
    delta_t: float = Field(gt=0)
    k: int = Field(ge=1)
    n_cases: Count
    n_per_step: list[Count]
    curves: dict[str, list[Number]]


class PerSample(_Section):
    """The test values of ``metric`` per independent unit, in test-split order, for each
    scored split (``test``, ``test@<config>``); ``null`` where a value is not finite.

    ``unit``: ``sample`` (a ConDiff sample, an AirfRANS simulation), or ``case`` (CFDBench:
    the mean over a test case's frame pairs; the pairs of one case are not independent).
    ``intervals``: per split, the 95 % bootstrap interval of the mean of the values (BCa,
    seeded: :func:`opbench.eval.statistics.run_interval`); ``null`` where a value is not
    finite."""

    metric: str
    unit: Literal["sample", "case"] = "sample"
    values: dict[str, list[Number]]
    intervals: dict[str, tuple[float, float] | None] = Field(default_factory=dict)


class ShiftedTest(_Section):
    """A test on another config (``test@<config>``): its data fingerprint, its test
    samples, and the inputs in which it extrapolates the training data (constant there)."""

    config: str
    fingerprint: str
    n: Count
    extrapolated: list[str] = Field(default_factory=list)


MetricTable = dict[str, MetricSummary]
"""Metric name → summary over the samples of one test split."""


class Record(_Section):
    """One run of one model on one benchmark: enough to trace a leaderboard row and, from
    version 2, to re-run it. Written to ``runs/<run-id>/record.json``."""

    model_config = ConfigDict(
        json_schema_extra={
            "$id": "https://opbench.dev/schemas/record/2.json",
            "$schema": "https://json-schema.org/draft/2020-12/schema",
        },
        title="opbench run record",
    )

    schema_version: Literal[1, 2]
    run_id: str = Field(pattern=r"^[^/\\]+$")
    opbench_version: str = Field(min_length=1)
    git_revision: str | None
    created: str = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$",
        description="ISO 8601 time in UTC, e.g. 2025-01-31T12:00:00+00:00.",
    )
    command: str | None
    role: Role = Role.board
    run_hash: str | None = Field(
        default=None, description="opbench.config.run_hash of the run (null in version 1)."
    )
    spec: dict[str, Any] | None = Field(
        default=None,
        description="The resolved run spec (config.json): enough to re-run (null in version 1).",
    )
    dataset: SerializeAsAny[DatasetInfo]
    model: ModelSection
    train: TrainSection
    metrics: dict[Annotated[str, Field(pattern=r"^test(@.+)?$")], MetricTable] = Field(
        description="Metric summaries over test samples: 'test' for the test split of the "
        "trained config, 'test@<config>' for zero-shot tests on other configs."
    )
    per_sample: PerSample | None = None
    rollout: RolloutSection | None = None
    test_sets: dict[str, ShiftedTest] = Field(
        default_factory=dict,
        description="The data of each 'test@<config>' table: fingerprint, samples, "
        "extrapolated inputs.",
    )
    convergence: Convergence | None = None
    equal_accuracy: EqualAccuracy | None = Field(
        default=None,
        description="The model against its family's numerical solver at equal accuracy "
        "(opbench run --equal-accuracy).",
    )
    transfer: dict[str, TransferScore] = Field(
        default_factory=dict,
        description="Resolution transfer: the model on other grids of the same test samples, "
        "direct and through the interpolation yardstick (opbench run --transfer-config).",
    )
    cost: Cost
    environment: Environment
    primary_metric: str
    files: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Record:
        if "test" not in self.metrics:
            raise ValueError("metrics: no 'test' table")
        if self.primary_metric not in self.metrics["test"]:
            raise ValueError(
                f"primary_metric: {self.primary_metric!r} is not reported in metrics.test "
                f"(has {sorted(self.metrics['test'])})"
            )
        if self.schema_version >= 2 and (self.spec is None or self.run_hash is None):
            raise ValueError("a version-2 record carries its spec and run_hash")
        if self.per_sample is not None and self.per_sample.unit == "sample":
            for split, values in self.per_sample.values.items():
                summary = self.metrics.get(split, {}).get(self.per_sample.metric)
                if summary is None or summary.n != len(values):
                    raise ValueError(
                        f"per_sample.values.{split}: {len(values)} values, but "
                        f"metrics.{split}.{self.per_sample.metric} counts "
                        f"{None if summary is None else summary.n}"
                    )
        return self

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Record` (what ``record.schema.json`` holds)."""
    return Record.model_json_schema()


def _path(parts: tuple[Any, ...]) -> str:
    """``metrics.test.rel_l2.mean`` / ``train.history[3].val`` from a location."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _non_finite(value: Any, parts: tuple[Any, ...] = ()) -> Iterator[str]:
    """Messages for every NaN or infinity in ``value`` (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield f"{_path(parts)}: {value} is not a finite number (write null for a missing value)"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, (*parts, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, (*parts, index))


def validate_record(data: Any, source: str = RECORD_NAME) -> Record:
    """The :class:`Record` of ``data``; DataError with one line per problem,
    ``<source>: <path>: <what is wrong>``. A record from a newer schema version is refused
    with a message that says so."""
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise DataError(
            f"{source}: schema_version: record has schema version {version}, newer than the "
            f"version {SCHEMA_VERSION} this opbench reads; upgrade opbench to read it"
        )
    problems = list(_non_finite(data))
    if not problems:
        try:
            return Record.model_validate(data)
        except ValidationError as error:
            problems = [
                f"{_path(tuple(e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                for e in error.errors(include_url=False)
            ]
    raise DataError("\n".join(f"{source}: {problem}" for problem in problems))


def write_record(run_dir: Path, record: Record) -> Path:
    """Write ``record`` atomically to ``run_dir/record.json``; return the path."""
    path = Path(run_dir) / RECORD_NAME
    write_json_atomic(path, record.to_json())
    return path


def read_record(path: Path) -> Record:
    """Read and validate one record file; a missing, unreadable or invalid file raises."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: run record not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read run record: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise DataError(f"{path}: not a run record (nested too deeply)") from None
    return validate_record(data, source=str(path))


def read_records(runs_dir: Path) -> list[Record]:
    """Read every ``runs_dir/*/record.json``, in sorted order of run directory.

    Run directories without a record (interrupted runs) are skipped; a corrupt or invalid
    record raises, naming its file. Two records with the same ``run_id`` raise too, since
    one run counted twice would pass for two seeds.
    """
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise DataError(f"{runs_dir}: runs directory not found")
    records: list[Record] = []
    seen: dict[str, Path] = {}
    for path in sorted(runs_dir.glob(f"*/{RECORD_NAME}")):
        record = read_record(path)
        first = seen.setdefault(record.run_id, path)
        if first != path:
            raise DataError(f"{path}: run_id {record.run_id!r} is also the run_id of {first}")
        records.append(record)
    return records
